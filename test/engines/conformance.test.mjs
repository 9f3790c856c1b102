// One conformance suite, run on every engine in engines.mjs: only what any correct engine does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../../dist/engines/registry.js';
import { EngineRunError } from '../../dist/engines/engine.js';
import { ENGINES } from './engines.mjs';

const TYPED = {
  INT64: { name: 'a', data: () => new BigInt64Array([1n, -2n]), width: 2 },
  UINT8: { name: 'b', data: () => new Uint8Array([1, 2, 255]), width: 3 },
  BOOL: { name: 'c', data: () => new Uint8Array([1]), width: 1 },
  FP16: { name: 'd', data: () => new Uint16Array([0x3c00, 0xc000]), width: 2 },
};

for (const c of ENGINES) {
  const { backend } = c;
  const label = c.label ?? backend;
  const skip = c.skip();
  const open = (name, options = {}) => createEngine(backend, { ...c.fixture(name), ...options, parameters: { ...c.defaults, ...options.parameters } });
  const scaleInput = (values) => ({ x: { datatype: 'FP32', shape: [values.length / 4, 4], data: new Float32Array(values) } });

  test(`${label}: metadata has names, datatypes and dims, the batch axis -1`, { skip }, async () => {
    const e = await open('scale');
    try {
      assert.equal(e.backend, backend);
      assert.equal(e.platform, c.platform);
      assert.equal(e.kind, 'KIND_CPU');
      assert.deepEqual(e.metadata.inputs, [{ name: 'x', datatype: 'FP32', dims: [-1, 4] }]);
      assert.deepEqual(e.metadata.outputs, [{ name: 'y', datatype: 'FP32', dims: [-1, 4] }]);
      if (c.can.symbolicDims) assert.deepEqual(e.metadata.symbolicDims.x, ['batch', null]);
    } finally { await e.dispose(); }
  });

  test(`${label}: runs a batch, moves the input buffer in and hands it back`, { skip }, async () => {
    const e = await open('scale');
    try {
      const input = scaleInput([1, 2, 3, 4, 5, 6, 7, 8]);
      const data = input.x.data;
      const r = await e.run(input);
      assert.deepEqual(r.outputs.y.shape, [2, 4]);
      assert.equal(r.outputs.y.datatype, 'FP32');
      assert.deepEqual([...r.outputs.y.data], [2, 4, 6, 8, 10, 12, 14, 16]);
      assert.ok(r.computeMs >= 0);
      assert.equal(r.released.length, 1);
      assert.equal(r.released[0].byteLength, 32, 'the same buffer comes back for reuse');
      assert.ok(data.buffer.byteLength === 0 || r.released[0] === data.buffer, 'the input buffer was moved (detached) or used in place, not copied');
    } finally { await e.dispose(); }
  });

  for (const datatype of c.can.datatypes) {
    test(`${label}: ${datatype} tensors go in and come out unchanged`, { skip }, async () => {
      const e = await open('types');
      try {
        const inputs = {};
        for (const [dt, t] of Object.entries(TYPED)) inputs[t.name] = { datatype: dt, shape: [1, t.width], data: t.data() };
        const { name } = TYPED[datatype];
        const r = await e.run(inputs, [`${name}_out`]);
        assert.deepEqual(Object.keys(r.outputs), [`${name}_out`], 'only the named output comes back');
        assert.equal(r.outputs[`${name}_out`].datatype, datatype);
        assert.deepEqual([...r.outputs[`${name}_out`].data], [...TYPED[datatype].data()]);
      } finally { await e.dispose(); }
    });
  }

  test(`${label}: a running batch does not block the event loop`, { skip: skip ?? (!c.can.offLoop && 'runs on the event loop by design') }, async () => {
    const e = await open('matpow');
    try {
      // A run long enough to see: c.slowMatpow, grown while this machine multiplies faster.
      let ms = 0;
      let ticks = 0;
      for (let n = c.slowMatpow, tries = 0; ms <= 50 && tries < 4; n *= 2, tries++) {
        ticks = 0;
        const timer = setInterval(() => ticks++, 5);
        const t0 = performance.now();
        await e.run({ x: { datatype: 'FP32', shape: [1, n, n], data: new Float32Array(n * n).fill(0.001) } });
        ms = performance.now() - t0;
        clearInterval(timer);
      }
      assert.ok(ms > 50, `the run took ${ms.toFixed(0)} ms`);
      assert.ok(ticks >= Math.floor(ms / 5 / 3), `a 5 ms timer fired ${ticks} times during a ${ms.toFixed(0)} ms run`);
    } finally { await e.dispose(); }
  });

  test(`${label}: instances run batches side by side`, { skip: skip ?? (!c.can.instances && 'one instance') }, async () => {
    const e = await open('scale', { instances: 2, parameters: { intra_op_threads: 1 } });
    try {
      assert.equal(e.instances, 2);
      const rs = await Promise.all([1, 2, 3, 4].map((v) => e.run(scaleInput([v, v, v, v]))));
      assert.deepEqual(rs.map((r) => r.outputs.y.data[0]), [2, 4, 6, 8]);
    } finally { await e.dispose(); }
  });

  test(`${label}: a batch that fails is an EngineRunError (INFERENCE_FAILED) with its buffers, and the engine goes on`, { skip }, async () => {
    const e = await open('scale');
    try {
      await assert.rejects(e.run({ x: { datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) } }), (err) => {
        assert.ok(err instanceof EngineRunError, `${err}`);
        assert.equal(err.code, 'INFERENCE_FAILED');
        assert.equal(err.released[0].byteLength, 12);
        return true;
      });
      const ok = await e.run(scaleInput([1, 1, 1, 1]));
      assert.deepEqual([...ok.outputs.y.data], [2, 2, 2, 2], 'the engine still works');
    } finally { await e.dispose(); }
  });

  test(`${label}: a missing or corrupt model file is MODEL_LOAD_FAILED naming the file`, { skip }, async () => {
    const { modelPath } = c.fixture('scale');
    const ext = modelPath.slice(modelPath.lastIndexOf('.'));
    const missing = `/nonexistent/model${ext}`;
    await assert.rejects(open('scale', { modelPath: missing }), (err) => err.code === 'MODEL_LOAD_FAILED' && err.message.includes(missing));
    const bad = join(await mkdtemp(join(tmpdir(), 'ferry-')), `model${ext}`);
    await writeFile(bad, 'this is not a model');
    await assert.rejects(open('scale', { modelPath: bad }), (err) => err.code === 'MODEL_LOAD_FAILED' && err.message.includes(bad));
  });

  test(`${label}: takes its own parameters and refuses unknown ones naming the key and the config`, { skip }, async () => {
    const e = await open('scale', { parameters: c.parameters });
    await e.dispose();
    await assert.rejects(open('scale', { parameters: { intra_op_thread: 1 }, source: 'models/m/config.yaml' }),
      (err) => err.code === 'CONFIG_INVALID' && /models\/m\/config\.yaml: parameters\.intra_op_thread is not a known parameter/.test(err.message) && err.message.includes('intra_op_threads'));
    await assert.rejects(open('scale', { parameters: { intra_op_threads: -1 } }), (err) => err.code === 'CONFIG_INVALID' && /intra_op_threads must be an integer >= 0/.test(err.message));
    // Triton's own form of a parameter value
    const t = await open('scale', { parameters: { intra_op_threads: { string_value: '1' } } });
    await t.dispose();
  });

  test(`${label}: dispose lets the running batch finish, refuses the ones waiting for an instance, and ends`, { skip: skip ?? (!c.can.waits && 'every run starts at once; none waits for an instance') }, async () => {
    const e = await open('matpow');
    const n = c.slowMatpow / 2;
    const slow = e.run({ x: { datatype: 'FP32', shape: [1, n, n], data: new Float32Array(n * n).fill(0.001) } });
    const waiting = assert.rejects(e.run({ x: { datatype: 'FP32', shape: [1, 2, 2], data: new Float32Array(4) } }), (err) => err.code === 'INFERENCE_FAILED');
    await e.dispose();
    await waiting;
    const r = await slow;
    assert.deepEqual(Object.values(r.outputs)[0].shape, [1, n, n], 'the batch that was running when dispose came finished');
  });

  test(`${label}: disposing while batches run, over and over, never takes the process down`, { skip }, async () => {
    // A thread ended in the middle of a run aborts the process (onnxruntime-node's run calls back
    // into the thread that started it): this file would die with SIGABRT.
    for (let i = 0; i < 12; i++) {
      const e = await open('matpow', { warmup: false });
      const n = c.slowMatpow / 4;
      const runs = [0, 1, 2].map(() => e.run({ x: { datatype: 'FP32', shape: [1, n, n], data: new Float32Array(n * n).fill(0.001) } }).catch((err) => err));
      await new Promise((r) => setTimeout(r, i % 4));
      await e.dispose();
      for (const r of await Promise.all(runs)) assert.ok(!(r instanceof Error) || r.code === 'INFERENCE_FAILED', `${r}`);
    }
  });

  test(`${label}: an instance that dies is replaced, and later batches run`, { skip: skip ?? (!c.can.instanceCrash && 'instances cannot die alone') }, async () => {
    const e = await open('scale', { instances: 2, parameters: { intra_op_threads: 1 } });
    try {
      await e.terminateInstance(0);
      for (let i = 0; i < 20; i++) {
        const r = await e.run(scaleInput([i, i, i, i]));
        assert.equal(r.outputs.y.data[0], 2 * i);
      }
    } finally { await e.dispose(); }
  });
}

test('an unknown backend is ENGINE_UNAVAILABLE naming the ones there are', async () => {
  await assert.rejects(createEngine('tvm', { modelPath: 'x' }), (err) => err.code === 'ENGINE_UNAVAILABLE' && /"tvm"/.test(err.message) && /onnxruntime/.test(err.message));
});
