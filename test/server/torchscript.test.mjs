// The bundled Fashion model as TorchScript (examples/fashion/to_torchscript.py: the same network
// and weights as 1/model.onnx), served on the libtorch engine through every route, unchanged:
// v2 JSON and binary, /image, /predict, stats, metrics. Its config declares input and output
// (Triton's pytorch_libtorch way; the .pt records no signature). Parity: served vs torch eager.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { libtorch } from '../../dist/engines/libtorch/descriptor.js';
import { readNpz } from '../../dist/tensors/npy.js';
import { start, get, post, binaryBody, readBinaryResponse, FASHION } from '../helpers.mjs';

const PYTHON = '/usr/bin/python3';
// find_spec, not import: importing torch takes seconds, and the fixture's script pays that once anyway
const hasTorch = spawnSync(PYTHON, ['-c', 'import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in ("torch", "onnx", "numpy")) else 1)'], { stdio: 'ignore' }).status === 0;
const skip = libtorch.unavailable() ?? (!hasTorch && `${PYTHON} cannot import torch, onnx and numpy`);
const SAMPLES = join(FASHION, 'samples');
const expected = JSON.parse(readFileSync(join(SAMPLES, 'expected.json'), 'utf8'));
/** Served vs eager: the same kernels in the same library, so the differences are rounding at most. */
const TOLERANCE = 1e-5;

let dir;
let server;
let url;
let parity;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'ferry-ts-'));
  const model = join(dir, 'fashion');
  const made = spawnSync(PYTHON, [join(FASHION, 'to_torchscript.py'), '--no-signature', '--out', join(model, '1', 'model.pt'), '--parity', join(dir, 'parity.npz')],
    { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  assert.equal(made.status, 0, made.stderr);
  // A queue delay makes the batching test below certain on any machine (with none, requests share
  // a batch only when they arrive faster than one computes).
  const config = readFileSync(join(FASHION, 'config.yaml'), 'utf8').replace(/^backend: onnxruntime$/m, 'platform: pytorch_libtorch')
    .replace(/^  max_queue_delay_ms: 0$/m, '  max_queue_delay_ms: 20');
  assert.match(config, /platform: pytorch_libtorch/);
  assert.match(config, /max_queue_delay_ms: 20/);
  writeFileSync(join(model, 'config.yaml'), config);
  cpSync(join(FASHION, 'labels.txt'), join(model, 'labels.txt'));
  parity = await readNpz(join(dir, 'parity.npz'));
  server = await start(dir);
  url = server.url;
});

after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function maxAbsDiff(got, want) {
  assert.equal(got.length, want.length);
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]));
  return m;
}

test('TorchScript Fashion: metadata and config say pytorch_libtorch, with the declared input and output', { skip }, async () => {
  const meta = (await get(`${url}/v2/models/fashion`)).json;
  assert.deepEqual(meta, {
    name: 'fashion', versions: ['1'], platform: 'pytorch_libtorch',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
    outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }],
  });
  const config = (await get(`${url}/v2/models/fashion/config`)).json;
  assert.equal(config.platform, 'pytorch_libtorch');
  assert.equal(config.backend, 'pytorch');
  assert.equal(config.max_batch_size, 64);
  assert.equal(config.instance_group[0].kind, 'KIND_CPU');
  assert.equal((await get(`${url}/v2/health/ready`)).status, 200);
});

test(`TorchScript Fashion: v2 JSON and binary answers equal torch eager within ${TOLERANCE}`, { skip }, async () => {
  const x = parity.get('input');
  const want = parity.get('logits').data;
  const json = await post(`${url}/v2/models/fashion/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [...x.shape], data: [...x.data] }] });
  assert.equal(json.status, 200, json.text);
  assert.deepEqual(json.json.outputs[0].shape, [8, 10]);
  assert.ok(maxAbsDiff(json.json.outputs[0].data, want) <= TOLERANCE, 'JSON');

  const { body, headers } = binaryBody({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [...x.shape], parameters: { binary_data_size: x.data.byteLength } }],
    outputs: [{ name: 'logits', parameters: { binary_data: true } }],
  }, [x.data]);
  const res = await fetch(`${url}/v2/models/fashion/infer`, { method: 'POST', body, headers });
  assert.equal(res.status, 200);
  const { header, rest } = await readBinaryResponse(res);
  assert.deepEqual(header.outputs[0].shape, [8, 10]);
  const got = new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + 320));
  assert.ok(maxAbsDiff(got, want) <= TOLERANCE, 'binary');
});

test('TorchScript Fashion: 16 clients at once are batched, each answered with its own rows', { skip }, async () => {
  const x = parity.get('input');
  const want = parity.get('logits').data;
  const before = (await get(`${url}/v2/models/fashion/stats`)).json.model_stats[0];
  const rows = Array.from({ length: 16 }, (_, i) => i % 8);
  const answers = await Promise.all(rows.map((r) => post(`${url}/v2/models/fashion/infer`, {
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 28, 28], data: [...x.data.subarray(r * 784, (r + 1) * 784)] }],
  })));
  answers.forEach((a, i) => {
    assert.equal(a.status, 200, a.text);
    assert.ok(maxAbsDiff(a.json.outputs[0].data, want.subarray(rows[i] * 10, rows[i] * 10 + 10)) <= TOLERANCE, `client ${i}`);
  });
  const after = (await get(`${url}/v2/models/fashion/stats`)).json.model_stats[0];
  assert.equal(after.inference_count - before.inference_count, 16);
  assert.ok(after.execution_count - before.execution_count < 16, 'some requests shared a batch');
});

test('TorchScript Fashion: /image and /predict classify the samples as the ONNX model does', { skip }, async () => {
  for (const [file, want] of Object.entries(expected)) {
    const r = await fetch(`${url}/image`, { method: 'POST', body: readFileSync(join(SAMPLES, file)) });
    const j = await r.json();
    assert.equal(r.status, 200, JSON.stringify(j));
    assert.equal(j.label, want.label, file);
    assert.equal(j.model, 'fashion');
  }
  const { data, info } = await sharp(join(SAMPLES, '8-sandal.png')).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const form = new FormData();
  form.append('meta', new Blob([JSON.stringify({ shape: [info.height, info.width, 3] })]), 'meta');
  form.append('blob', new Blob([data]), 'blob');
  const p = await fetch(`${url}/predict`, { method: 'POST', body: form });
  assert.equal(p.status, 200);
  assert.equal((await p.json()).label, 'Sandal');
});

test('TorchScript Fashion: stats and metrics count its requests and batches', { skip }, async () => {
  const stats = (await get(`${url}/v2/models/fashion/stats`)).json.model_stats[0];
  assert.ok(stats.inference_count > 0 && stats.inference_stats.success.count > 0);
  assert.ok(stats.batch_stats.length > 0);
  const metrics = (await get(`${url}/metrics`)).text;
  assert.match(metrics, /ferry_requests_total\{model="fashion",outcome="success"\} [1-9]/);
  assert.match(metrics, /ferry_batch_size_count\{model="fashion"\} [1-9]/);
});

test('TorchScript Fashion: request errors are the same errors', { skip }, async () => {
  const bad = await post(`${url}/v2/models/fashion/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 28, 27], data: new Array(756).fill(0) }] });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.code, 'BAD_SHAPE');
  const wrong = await post(`${url}/v2/models/fashion/infer`, { inputs: [{ name: 'input', datatype: 'FP64', shape: [1, 1, 28, 28], data: new Array(784).fill(0) }] });
  assert.equal(wrong.json.code, 'BAD_DATATYPE');
});
