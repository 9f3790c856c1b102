// External data: tensors read on demand from their file and range, saved to a data file with
// aligned offsets, readable by onnxruntime and by ONNX's Python package; the errors name the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadModel, saveModel, decodeModel, encodeModel } from '../../dist/onnx/index.js';
import { encodeMessage } from '../../dist/onnx/proto/codec.js';
import { ONNX_FIXTURES, tempDir, randomFloats, runOrt, tensor, assertSameOutputs } from './helpers.mjs';

const FIXTURE = join(ONNX_FIXTURES, 'external');
const feeds = () => ({ x: tensor('float32', randomFloats(2 * 64, 7), [2, 64]) });

/** A copy of the external-data fixture in a temp folder. */
function copyFixture(t) {
  const dir = tempDir(t);
  copyFileSync(join(FIXTURE, 'model.onnx'), join(dir, 'model.onnx'));
  copyFileSync(join(FIXTURE, 'model.onnx.data'), join(dir, 'model.onnx.data'));
  return dir;
}

test('external tensors know their file and range, and are read only when asked', async (t) => {
  const dir = copyFixture(t);
  const model = await loadModel(join(dir, 'model.onnx'));
  const w1 = model.graph.initializers.get('w1');
  const b = model.graph.initializers.get('b');
  assert.equal(w1.isExternal, true);
  assert.deepEqual({ ...w1.external }, { location: 'model.onnx.data', path: join(dir, 'model.onnx.data'), offset: 0, length: 64 * 64 * 4 });
  assert.equal(b.isExternal, false, 'b (256 B) was under onnx.save\'s 1024 B threshold');
  assert.equal(w1.byteLength, 16384, 'the size is known without reading');
  const data = readFileSync(join(dir, 'model.onnx.data'));
  assert.ok(Buffer.from(w1.bytes()).equals(data.subarray(0, 16384)));
  assert.equal(w1.data().length, 4096);
  assert.notEqual(w1.data(), w1.data(), 'external data is not cached: each call reads');
  const pieces = [];
  for (const c of w1.chunks(1000)) pieces.push(Buffer.from(c)); // each piece is copied before the next (the buffer is reused)
  assert.equal(pieces.length, 17);
  assert.ok(Buffer.concat(pieces).equals(data.subarray(0, 16384)), 'chunks() streams the same bytes');

  // Not read at load: a data file removed after loading shows up only when the data is read.
  const lazy = await loadModel(join(dir, 'model.onnx'));
  rmSync(join(dir, 'model.onnx.data'));
  assert.throws(() => lazy.graph.initializers.get('w2').data(), (e) => e.code === 'ONNX_EXTERNAL_DATA' && e.message.includes('model.onnx.data'));
  assert.equal(w1.data().length, 4096, 'a tensor whose file was opened before keeps reading it');
});

test('saveModel writes aligned external data that onnxruntime loads; alignBytes 1 packs it', async (t) => {
  const dir = tempDir(t);
  const model = await loadModel(join(FIXTURE, 'model.onnx'));
  const expected = await runOrt(join(FIXTURE, 'model.onnx'), feeds());

  const r = await saveModel(model, join(dir, 'a.onnx'), { externalData: { location: 'weights.bin', sizeThresholdBytes: 100 } });
  assert.deepEqual({ bytes: r.externalData.bytes, tensors: r.externalData.tensors }, { bytes: 20480 + 256, tensors: 3 });
  assert.equal(r.externalData.path, join(dir, 'weights.bin'));
  const again = await loadModel(join(dir, 'a.onnx'));
  const offsets = ['w1', 'w2', 'b'].map((n) => again.graph.initializers.get(n).external.offset);
  assert.deepEqual(offsets, [0, 16384, 20480], 'offsets are multiples of 4096');
  assert.equal(statSync(join(dir, 'weights.bin')).size, 20480 + 256);
  assertSameOutputs(await runOrt(join(dir, 'a.onnx'), feeds()), expected, 'aligned');

  const packed = await saveModel(model, join(dir, 'p.onnx'), { externalData: { location: 'p.bin', alignBytes: 1 } });
  assert.equal(packed.externalData.bytes, 16384 + 2048, 'w1 and w2 back to back; b under the 1024 B default threshold');
  assertSameOutputs(await runOrt(join(dir, 'p.onnx'), feeds()), expected, 'packed');

  const inline = await saveModel(model, join(dir, 'i.onnx'));
  assert.equal(inline.externalData, undefined);
  assert.ok(inline.bytes > 16384 + 2048);
  assertSameOutputs(await runOrt(join(dir, 'i.onnx'), feeds()), expected, 'inline');
});

test('saving a model over its own files works: what it reads is pinned first', async (t) => {
  const dir = copyFixture(t);
  const path = join(dir, 'model.onnx');
  const expected = await runOrt(path, feeds());
  const model = await loadModel(path);
  await saveModel(model, path, { externalData: { location: 'model.onnx.data', sizeThresholdBytes: 16 } });
  assertSameOutputs(await runOrt(path, feeds()), expected, 'rewritten in place');
  assert.equal(model.graph.initializers.get('w1').data().length, 4096, 'the loaded model still reads its (old) data');
  assert.ok(!readFileSync(path).includes('.tmp-'), 'no temporary names leak into the model');
});

test('ONNX (Python) reads what ferry writes', { skip: !existsSync('/usr/bin/python3') && 'no /usr/bin/python3' }, async (t) => {
  const dir = tempDir(t);
  const model = await loadModel(join(FIXTURE, 'model.onnx'));
  await saveModel(model, join(dir, 'm.onnx'), { externalData: { location: 'm.data' } });
  const script = `
import onnx, sys
from onnx import numpy_helper
a = onnx.load(sys.argv[1]); b = onnx.load(sys.argv[2])
onnx.checker.check_model(sys.argv[2])
for x, y in zip(a.graph.initializer, b.graph.initializer):
    assert x.name == y.name and (numpy_helper.to_array(x) == numpy_helper.to_array(y)).all(), x.name
print("ok", len(b.graph.initializer))`;
  let out;
  try {
    out = execFileSync('/usr/bin/python3', ['-c', script, join(FIXTURE, 'model.onnx'), join(dir, 'm.onnx')], { encoding: 'utf8' });
  } catch (err) {
    if (/No module named 'onnx'/.test(String(err.stderr))) return t.skip('python3 has no onnx package');
    throw err;
  }
  assert.equal(out.trim(), 'ok 3');
});

test('missing, short and escaping external data files are ONNX_EXTERNAL_DATA errors naming the file', async (t) => {
  const dir = copyFixture(t);
  truncateSync(join(dir, 'model.onnx.data'), 1000);
  await assert.rejects(loadModel(join(dir, 'model.onnx')), (e) => e.code === 'ONNX_EXTERNAL_DATA' && /tensor "w1".*1000 bytes.*do not fit/.test(e.message));
  rmSync(join(dir, 'model.onnx.data'));
  await assert.rejects(loadModel(join(dir, 'model.onnx')), (e) => e.code === 'ONNX_EXTERNAL_DATA' && e.message.includes('model.onnx.data'));
  const unchecked = await loadModel(join(dir, 'model.onnx'), { verifyExternalData: false });
  assert.throws(() => unchecked.graph.initializers.get('w1').bytes(), (e) => e.code === 'ONNX_EXTERNAL_DATA');

  const escaping = encodeMessage('ModelProto', {
    ir_version: 8, graph: { name: 'g', initializer: [{ name: 'w', data_type: 1, dims: [1], data_location: 1, external_data: [{ key: 'location', value: '../../etc/passwd' }] }] },
  });
  writeFileSync(join(dir, 'evil.onnx'), escaping);
  await assert.rejects(loadModel(join(dir, 'evil.onnx')), (e) => e.code === 'ONNX_EXTERNAL_DATA' && /outside the model's directory/.test(e.message));
  assert.throws(() => decodeModel(readFileSync(join(FIXTURE, 'model.onnx'))), (e) => e.code === 'ONNX_EXTERNAL_DATA' && /without a baseDir/.test(e.message));
  assert.equal(decodeModel(readFileSync(join(FIXTURE, 'model.onnx')), { baseDir: FIXTURE }).graph.initializers.get('w2').data().length, 512);
});

test('save errors: a bad location is refused; an unwritable path is ONNX_WRITE_FAILED', async (t) => {
  const dir = tempDir(t);
  const model = await loadModel(join(FIXTURE, 'model.onnx'));
  await assert.rejects(saveModel(model, join(dir, 'm.onnx'), { externalData: { location: '../m.data' } }), RangeError);
  await assert.rejects(saveModel(model, join(dir, 'm.onnx'), { externalData: { location: 'm.onnx' } }), RangeError);
  await assert.rejects(saveModel(model, join(dir, 'no', 'such', 'm.onnx')), (e) => e.code === 'ONNX_WRITE_FAILED' && e.message.includes(join(dir, 'no', 'such')));
  assert.ok(encodeModel(model).length > 16384, 'encodeModel reads external data in');
});
