// Load then save: onnxruntime-node gives identical outputs from the original and the saved model
// (inline and with external data), saving is idempotent, and ONNX's own files come back byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, saveModel, encodeModel, decodeModel, DataType } from '../../dist/onnx/index.js';
import {
  ONNX_FIXTURES, SERVING_FIXTURES, FASHION_ONNX, RESNET18_ONNX, tempDir, randomFloats, runOrt, tensor, assertSameOutputs,
} from './helpers.mjs';

const MODELS = [
  ...['scale', 'dyn', 'fixed', 'matpow', 'types'].map((n) => ({ name: n, path: join(SERVING_FIXTURES, n, '1', 'model.onnx') })),
  { name: 'fashion', path: FASHION_ONNX, identical: true },
  { name: 'storage', path: join(ONNX_FIXTURES, 'storage.onnx') },
  { name: 'control-flow', path: join(ONNX_FIXTURES, 'control-flow.onnx') },
  { name: 'function', path: join(ONNX_FIXTURES, 'function.onnx') },
  { name: 'external', path: join(ONNX_FIXTURES, 'external', 'model.onnx') },
  { name: 'resnet18', path: RESNET18_ONNX, identical: true, optional: true },
];

/** Inputs for every graph input: symbolic dims are 2, data deterministic. */
function feedsFor(model) {
  const feeds = {};
  model.graph.inputs.forEach((v, i) => {
    if (model.graph.initializers.has(v.name)) return;
    const dims = (v.shape ?? []).map((d) => (typeof d === 'number' ? d : 2));
    const n = dims.reduce((a, b) => a * b, 1);
    const floats = randomFloats(n, i + 1);
    switch (v.elemType) {
      case DataType.FLOAT: feeds[v.name] = tensor('float32', floats, dims); break;
      case DataType.FLOAT16: feeds[v.name] = tensor('float16', Uint16Array.from(floats, (f) => 0x3c00 + Math.round(f * 100)), dims); break;
      case DataType.DOUBLE: feeds[v.name] = tensor('float64', Float64Array.from(floats), dims); break;
      case DataType.INT64: feeds[v.name] = tensor('int64', BigInt64Array.from(floats, (f) => BigInt(Math.round(f * 1000))), dims); break;
      case DataType.INT32: feeds[v.name] = tensor('int32', Int32Array.from(floats, (f) => Math.round(f * 1000)), dims); break;
      case DataType.BOOL: feeds[v.name] = tensor('bool', Uint8Array.from(floats, (f) => (f > 0 ? 1 : 0)), dims); break;
      case DataType.UINT8: feeds[v.name] = tensor('uint8', Uint8Array.from(floats, (f) => Math.round((f + 1) * 100)), dims); break;
      case DataType.STRING: feeds[v.name] = tensor('string', Array.from({ length: n }, (_, k) => `s${k}`), dims); break;
      default: throw new Error(`no feed for ${v}`);
    }
  });
  return feeds;
}

for (const m of MODELS) {
  test(`round trip ${m.name}: same outputs inline and with external data; saving is idempotent`, { skip: m.optional && !existsSync(m.path) && `${m.path} is absent (make it with bench/resnet18/export.py)` }, async (t) => {
    const dir = tempDir(t);
    const model = await loadModel(m.path);
    const feeds = feedsFor(model);
    const expected = await runOrt(m.path, feeds);

    const inline = join(dir, 'inline.onnx');
    const saved = await saveModel(model, inline);
    assert.equal(saved.bytes, statSync(inline).size);
    assert.equal(saved.externalData, undefined);
    assertSameOutputs(await runOrt(inline, feeds), expected, `${m.name} saved inline`);
    if (m.identical) assert.ok(readFileSync(inline).equals(readFileSync(m.path)), `${m.name}: an ONNX-written file comes back byte for byte`);

    const external = join(dir, 'ext', 'model.onnx');
    mkdirSync(join(dir, 'ext'));
    const ext = await saveModel(model, external, { externalData: { location: 'model.onnx.data', sizeThresholdBytes: 64 } });
    assertSameOutputs(await runOrt(external, feeds), expected, `${m.name} saved with external data`);
    const weights = [...model.graph.initializers.values()].filter((w) => w.byteLength >= 64 && w.dataType !== DataType.STRING);
    assert.equal(ext.externalData?.tensors ?? 0, weights.length, 'every initializer over the threshold went to the data file');
    if (weights.length) assert.equal(statSync(join(dir, 'ext', 'model.onnx.data')).size, ext.externalData.bytes);

    // Idempotent: what loads from a saved file encodes to the same bytes as the model it was saved from.
    const once = encodeModel(model);
    assert.ok(Buffer.from(encodeModel(await loadModel(inline))).equals(Buffer.from(once)), 'inline save reloads to the same model');
    assert.ok(Buffer.from(encodeModel(await loadModel(external))).equals(Buffer.from(once)), 'external save reloads to the same model');
    assert.ok(Buffer.from(encodeModel(decodeModel(once))).equals(Buffer.from(once)), 'decode(encode(model)) encodes the same');
  });
}
