// One conformance suite, run against every engine (hono's common.case.test.ts habit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../../dist/engines/registry.js';
import { FIXTURES } from '../helpers.mjs';

const ENGINES = [{ backend: 'onnxruntime', model: (name) => join(FIXTURES, name, '1', 'model.onnx') }];

for (const { backend, model } of ENGINES) {
  test(`${backend}: metadata names inputs and outputs with dynamic axes as -1`, async () => {
    const e = await createEngine(backend, { modelPath: model('types') });
    try {
      assert.equal(e.backend, backend);
      assert.deepEqual(e.metadata.inputs.map((i) => [i.name, i.datatype, i.dims]), [
        ['a', 'INT64', [-1, 2]], ['b', 'UINT8', [-1, 3]], ['c', 'BOOL', [-1, 1]], ['d', 'FP16', [-1, 2]],
      ]);
      assert.deepEqual(e.metadata.symbolicDims.a, ['batch', null]);
    } finally { await e.dispose(); }
  });

  test(`${backend}: runs a batch and hands the input buffers back`, async () => {
    const e = await createEngine(backend, { modelPath: model('scale') });
    try {
      const data = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
      const r = await e.run({ x: { datatype: 'FP32', shape: [2, 4], data } });
      assert.deepEqual(r.outputs.y.shape, [2, 4]);
      assert.equal(r.outputs.y.datatype, 'FP32');
      assert.deepEqual([...r.outputs.y.data], [2, 4, 6, 8, 10, 12, 14, 16]);
      assert.ok(r.computeMs >= 0);
      assert.equal(r.released.length, 1);
      assert.equal(r.released[0].byteLength, 32, 'the same buffer comes back for reuse');
      assert.equal(data.buffer.byteLength, 0, 'the input buffer was moved, not copied');
    } finally { await e.dispose(); }
  });

  test(`${backend}: asks only for the named outputs`, async () => {
    const e = await createEngine(backend, { modelPath: model('types') });
    try {
      const r = await e.run({
        a: { datatype: 'INT64', shape: [1, 2], data: new BigInt64Array([1n, 2n]) },
        b: { datatype: 'UINT8', shape: [1, 3], data: new Uint8Array([1, 2, 3]) },
        c: { datatype: 'BOOL', shape: [1, 1], data: new Uint8Array([1]) },
        d: { datatype: 'FP16', shape: [1, 2], data: new Uint16Array([0x3c00, 0]) },
      }, ['b_out']);
      assert.deepEqual(Object.keys(r.outputs), ['b_out']);
      assert.deepEqual([...r.outputs.b_out.data], [1, 2, 3]);
    } finally { await e.dispose(); }
  });

  test(`${backend}: a running batch does not block the event loop`, async () => {
    const e = await createEngine(backend, { modelPath: model('matpow') });
    try {
      const n = 1024;
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const t0 = performance.now();
      await e.run({ x: { datatype: 'FP32', shape: [1, n, n], data: new Float32Array(n * n).fill(0.001) } });
      const ms = performance.now() - t0;
      clearInterval(timer);
      assert.ok(ms > 50, `the run took ${ms.toFixed(0)} ms`);
      assert.ok(ticks >= Math.floor(ms / 5 / 3), `a 5 ms timer fired ${ticks} times during a ${ms.toFixed(0)} ms run`);
    } finally { await e.dispose(); }
  });

  test(`${backend}: instances run batches in parallel`, async () => {
    const e = await createEngine(backend, { modelPath: model('scale'), instances: 2, intraOpThreads: 1 });
    try {
      assert.equal(e.instances, 2);
      const rs = await Promise.all([1, 2, 3, 4].map((v) => e.run({ x: { datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) } })));
      assert.deepEqual(rs.map((r) => r.outputs.y.data[0]), [2, 4, 6, 8]);
    } finally { await e.dispose(); }
  });

  test(`${backend}: a bad input shape fails the run with INFERENCE_FAILED and returns the buffers`, async () => {
    const e = await createEngine(backend, { modelPath: model('scale') });
    try {
      await assert.rejects(e.run({ x: { datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) } }), (err) => {
        assert.equal(err.code, 'INFERENCE_FAILED');
        assert.equal(err.released[0].byteLength, 12);
        return true;
      });
      const ok = await e.run({ x: { datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) } });
      assert.equal(ok.outputs.y.data.length, 4, 'the engine still works');
    } finally { await e.dispose(); }
  });

  test(`${backend}: a missing or corrupt model file is MODEL_LOAD_FAILED naming the file`, async () => {
    await assert.rejects(createEngine(backend, { modelPath: '/nonexistent/model.onnx' }), (err) => err.code === 'MODEL_LOAD_FAILED' && /\/nonexistent\/model.onnx/.test(err.message));
    const dir = await mkdtemp(join(tmpdir(), 'ferry-'));
    const bad = join(dir, 'model.onnx');
    await writeFile(bad, 'this is not protobuf');
    await assert.rejects(createEngine(backend, { modelPath: bad }), (err) => err.code === 'MODEL_LOAD_FAILED' && err.message.includes(bad));
  });
}

test('onnxruntime: execution providers that are not there are refused clearly', async () => {
  await assert.rejects(createEngine('onnxruntime', { modelPath: join(FIXTURES, 'scale/1/model.onnx'), executionProviders: ['warp-drive'] }),
    (err) => err.code === 'ENGINE_UNAVAILABLE' && /"warp-drive" is unknown/.test(err.message));
  await assert.rejects(createEngine('onnxruntime', { modelPath: join(FIXTURES, 'scale/1/model.onnx'), executionProviders: ['cuda'] }),
    (err) => err.code === 'ENGINE_UNAVAILABLE' && /"cuda"/.test(err.message));
});

test('an unknown backend is refused', async () => {
  assert.throws(() => createEngine('tvm', { modelPath: 'x' }), (err) => err.code === 'ENGINE_UNAVAILABLE' && /"tvm"/.test(err.message));
});

test('onnxruntime: sessions with sleeping (non-spinning) threads load and run the same', async () => {
  const e = await createEngine('onnxruntime', { modelPath: join(FIXTURES, 'scale/1/model.onnx'), intraOpThreads: 2, allowSpinning: false });
  try {
    const r = await e.run({ x: { datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) } });
    assert.deepEqual(r.outputs.y.shape, [1, 4]);
    assert.ok(Array.from(r.outputs.y.data).every(Number.isFinite));
  } finally { await e.dispose(); }
});
