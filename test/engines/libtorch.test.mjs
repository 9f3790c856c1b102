// What only the libtorch engine does: signatures from the config or ferry.json (Triton's
// INPUT__0 / OUTPUT__0 naming too), intra-op threads per instance thread, torch's own errors,
// outputs that alias inputs, and what it says when the addon is not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createEngine } from '../../dist/engines/registry.js';
import { EngineRunError } from '../../dist/engines/engine.js';
import { libtorch } from '../../dist/engines/libtorch/descriptor.js';
import { FIXTURES } from '../helpers.mjs';

const TS = fileURLToPath(new URL('../fixtures/torchscript', import.meta.url));
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const skip = libtorch.unavailable();
const USER_WAIT_POLICY = process.env.OMP_WAIT_POLICY; // before any engine loads libtorch
const open = (file, options = {}) => createEngine('pytorch', { modelPath: join(TS, file), ...options });
const PAIR_IN = { maxBatchSize: 4, inputs: [{ name: 'x', datatype: 'FP32', dims: [2] }, { name: 'h', datatype: 'FP32', dims: [2] }] };
const pairInputs = () => ({
  x: { datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) },
  h: { datatype: 'FP32', shape: [1, 2], data: new Float32Array([3, 4]) },
});

test('pytorch: a failure inside forward() is an EngineRunError with torch\'s one-line reason and the buffers', { skip }, async () => {
  const e = await open('matpow.pt', { declared: { maxBatchSize: 4, inputs: [{ name: 'x', datatype: 'FP32', dims: [-1, -1] }] } });
  try {
    await assert.rejects(e.run({ x: { datatype: 'FP32', shape: [1, 2, 3], data: new Float32Array(6) } }), (err) => {
      assert.ok(err instanceof EngineRunError);
      assert.equal(err.code, 'INFERENCE_FAILED');
      assert.match(err.message, /^libtorch failed to run the batch: .*(size|shape|dimension)/i);
      assert.doesNotMatch(err.message, /\n/, 'one line, no C++ backtrace');
      assert.equal(err.released[0].byteLength, 24);
      return true;
    });
    const ok = await e.run({ x: { datatype: 'FP32', shape: [1, 1, 1], data: new Float32Array([2]) } });
    assert.equal(ok.outputs.OUTPUT__0.data[0], 512, 'the engine still works (2^9)');
  } finally { await e.dispose(); }
});

test('pytorch: intra-op threads are set on each instance\'s thread, and one engine\'s count leaves another\'s alone', { skip }, async () => {
  const one = await open('scale.pt', { parameters: { intra_op_threads: 1 } });
  const two = await open('scale.pt', { parameters: { intra_op_threads: 2 } });
  try {
    const x = () => ({ x: { datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) } });
    await Promise.all([one.run(x()), two.run(x()), one.run(x())]);
    await one.run(x());
    await two.run(x());
    assert.deepEqual(one.intraOpThreadsInUse, [1]);
    assert.deepEqual(two.intraOpThreadsInUse, [2]);
    assert.equal(two.settings.intraOpThreads, 2);
    // OpenMP threads sleep at barriers rather than spin, unless the user said otherwise
    if (USER_WAIT_POLICY === undefined && !('GOMP_SPINCOUNT' in process.env)) assert.equal(process.env.OMP_WAIT_POLICY, 'PASSIVE');
  } finally { await Promise.all([one.dispose(), two.dispose()]); }
});

test('pytorch: a bare .pt with no signature is refused, saying exactly what to declare', { skip }, async () => {
  await assert.rejects(open('types.pt'), (err) => err.code === 'MODEL_LOAD_FAILED'
    && err.message.includes('forward(a: Tensor, b: Tensor, c: Tensor, d: Tensor) -> Dict[str, Tensor]')
    && err.message.includes('input: [{name: a, data_type: TYPE_FP32, dims: [...]}, {name: b,')
    && /max_batch_size/.test(err.message) && /types\/config\.yaml, types\/1\/model\.pt/.test(err.message) && /ferry export --to torchscript/.test(err.message));
  await assert.rejects(open('types.pt', { source: 'models/types/config.yaml', declared: { maxBatchSize: 8 } }),
    (err) => err.code === 'CONFIG_INVALID' && err.message.startsWith('models/types/config.yaml: ') && /declare input: \[/.test(err.message));
});

test('pytorch: declared inputs need datatypes and dims, and max_batch_size when dims could be either', { skip }, async () => {
  const source = 'models/m/config.yaml';
  await assert.rejects(open('matpow.pt', { source, declared: { inputs: [{ name: 'x', datatype: 'FP32', dims: [-1, -1, -1] }] } }),
    (err) => err.code === 'CONFIG_INVALID' && err.message.includes('input "x" has dims [-1,-1,-1] but max_batch_size is not set: set max_batch_size: 0') && err.message.includes('([-1,-1])'));
  await assert.rejects(open('matpow.pt', { source, declared: { maxBatchSize: 2, inputs: [{ name: 'x' }] } }),
    (err) => err.code === 'CONFIG_INVALID' && /input "x" needs data_type and dims/.test(err.message));
  await assert.rejects(open('matpow.pt', { source, declared: { maxBatchSize: 2, inputs: [{ name: 'y', datatype: 'FP32', dims: [2, 2] }] } }),
    (err) => err.code === 'CONFIG_INVALID' && /input "y" is not an argument of the TorchScript module's forward\(x: Tensor\)/.test(err.message));
  await assert.rejects(open('matpow.pt', { source, declared: { maxBatchSize: 2, inputs: [{ name: 'x', datatype: 'UINT16', dims: [2, 2] }] } }),
    (err) => err.code === 'CONFIG_INVALID' && /TYPE_UINT16, which libtorch tensors do not hold/.test(err.message));
  await assert.rejects(open('pair.pt', { source, declared: { maxBatchSize: 2, inputs: [{ name: 'x', datatype: 'FP32', dims: [2] }] } }),
    (err) => err.code === 'MODEL_LOAD_FAILED' && /also needs "h"/.test(err.message));
  // max_batch_size 0: the dims are the whole tensor
  const e = await open('matpow.pt', { source, declared: { maxBatchSize: 0, inputs: [{ name: 'x', datatype: 'FP32', dims: [-1, 2, 2] }] } });
  try {
    assert.deepEqual(e.metadata.inputs, [{ name: 'x', datatype: 'FP32', dims: [-1, 2, 2] }]);
  } finally { await e.dispose(); }
});

test('pytorch: Triton\'s INPUT__<i> / OUTPUT__<i> names, and OUTPUT__<i> for a tuple the config does not name', { skip }, async () => {
  const triton = await open('pair.pt', { declared: {
    maxBatchSize: 4,
    inputs: [{ name: 'INPUT__1', datatype: 'FP32', dims: [2] }, { name: 'INPUT__0', datatype: 'FP32', dims: [2] }],
    outputs: [{ name: 'PROD__1', datatype: 'FP32', dims: [2] }, { name: 'SUM__0', datatype: 'FP32', dims: [2] }],
  } });
  try {
    assert.deepEqual(triton.metadata.inputs.map((i) => i.name), ['INPUT__0', 'INPUT__1'], 'in forward() order');
    assert.deepEqual(triton.metadata.outputs, [{ name: 'SUM__0', datatype: 'FP32', dims: [-1, 2] }, { name: 'PROD__1', datatype: 'FP32', dims: [-1, 2] }]);
    const r = await triton.run({ INPUT__0: pairInputs().x, INPUT__1: pairInputs().h });
    assert.deepEqual([...r.outputs.SUM__0.data], [4, 6]);
    assert.deepEqual([...r.outputs.PROD__1.data], [3, 8]);
  } finally { await triton.dispose(); }

  const bare = await open('pair.pt', { declared: PAIR_IN });
  try {
    assert.deepEqual(bare.metadata.outputs, [{ name: 'OUTPUT__0', datatype: 'FP32', dims: [-1, 2] }, { name: 'OUTPUT__1', datatype: 'FP32', dims: [-1, 2] }]);
    const r = await bare.run(pairInputs(), ['OUTPUT__1']);
    assert.deepEqual(Object.keys(r.outputs), ['OUTPUT__1']);
  } finally { await bare.dispose(); }

  const named = await open('pair.pt', { declared: { ...PAIR_IN, outputs: [{ name: 'sum' }, { name: 'prod' }] } });
  try {
    assert.deepEqual(named.metadata.outputs.map((o) => o.name), ['sum', 'prod']);
    assert.deepEqual([...(await named.run(pairInputs())).outputs.prod.data], [3, 8]);
  } finally { await named.dispose(); }

  await assert.rejects(open('pair.pt', { source: 'models/p/config.yaml', declared: { ...PAIR_IN, outputs: [{ name: 'only' }] } }),
    (err) => /returned 2 tensors, but models\/p\/config\.yaml names 1 output/.test(err.message));
  await assert.rejects(open('pair.pt', { source: 'models/p/config.yaml', declared: { ...PAIR_IN, outputs: [{ name: 'sum', datatype: 'INT64' }, { name: 'prod' }] } }),
    (err) => err.code === 'CONFIG_INVALID' && /output "sum" is declared TYPE_INT64 but forward\(\) returns TYPE_FP32/.test(err.message));
});

test('pytorch: an output that is an input is copied, so the input buffer can be reused', { skip }, async () => {
  const e = await open('types.pt', { declared: { maxBatchSize: 2, inputs: [
    { name: 'a', datatype: 'INT64', dims: [1] }, { name: 'b', datatype: 'UINT8', dims: [1] },
    { name: 'c', datatype: 'BOOL', dims: [1] }, { name: 'd', datatype: 'FP16', dims: [1] },
  ] } });
  try {
    // one buffer behind all four inputs, as the batcher's pool may hand out
    const buffer = new ArrayBuffer(16);
    const r = await e.run({
      a: { datatype: 'INT64', shape: [1, 1], data: new BigInt64Array(buffer, 0, 1).fill(7n) },
      b: { datatype: 'UINT8', shape: [1, 1], data: new Uint8Array(buffer, 8, 1).fill(9) },
      c: { datatype: 'BOOL', shape: [1, 1], data: new Uint8Array(buffer, 9, 1).fill(1) },
      d: { datatype: 'FP16', shape: [1, 1], data: new Uint16Array(buffer, 10, 1).fill(0x3c00) },
    });
    assert.equal(buffer.byteLength, 0, 'moved');
    assert.equal(r.released.length, 1, 'one buffer, moved once');
    new Uint8Array(r.released[0]).fill(0);
    assert.equal(r.outputs.a_out.data[0], 7n);
    assert.equal(r.outputs.b_out.data[0], 9);
    assert.equal(r.outputs.d_out.data[0], 0x3c00);
  } finally { await e.dispose(); }
});

test('pytorch: files torch cannot take are MODEL_LOAD_FAILED with the reason', { skip }, async () => {
  await assert.rejects(open('state_dict.pt'), (err) => err.code === 'MODEL_LOAD_FAILED'
    && err.message.startsWith(`libtorch could not load ${join(TS, 'state_dict.pt')}: `) && /is it TorchScript\?/.test(err.message) && !err.message.includes('\n'));
  await assert.rejects(open('repeat.pt', { declared: { maxBatchSize: 2, inputs: [{ name: 'x', datatype: 'FP32', dims: [2] }, { name: 'times', datatype: 'INT64', dims: [1] }] } }),
    (err) => err.code === 'MODEL_LOAD_FAILED' && /argument "times" is int; ferry feeds Tensor arguments only/.test(err.message));
});

test('pytorch: takes Triton\'s parameter names, and refuses the same setting twice', { skip }, async () => {
  const e = await open('scale.pt', { parameters: { INTRA_OP_THREAD_COUNT: { string_value: '1' }, DISABLE_OPTIMIZED_EXECUTION: { string_value: 'true' }, INFERENCE_MODE: 'false' } });
  try {
    assert.deepEqual({ ...e.settings }, { intraOpThreads: 1, optimizedExecution: false, inferenceMode: false, optimizeForInference: false });
    const r = await e.run({ x: { datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) } });
    assert.deepEqual([...r.outputs.y.data], [2, 4, 6, 8]);
  } finally { await e.dispose(); }
  await assert.rejects(open('scale.pt', { source: 'm/config.yaml', parameters: { intra_op_threads: 1, INTRA_OP_THREAD_COUNT: 2 } }),
    (err) => err.code === 'CONFIG_INVALID' && /m\/config\.yaml: parameters\.intra_op_threads and parameters\.INTRA_OP_THREAD_COUNT set the same thing/.test(err.message));
});

test('pytorch: runs side by side with ONNX Runtime in one process', { skip }, async () => {
  const [pt, onnx] = await Promise.all([open('scale.pt'), createEngine('onnxruntime', { modelPath: join(FIXTURES, 'scale/1/model.onnx') })]);
  try {
    const x = (v) => ({ x: { datatype: 'FP32', shape: [1, 4], data: new Float32Array([v, v, v, v]) } });
    const rs = await Promise.all([pt.run(x(1)), onnx.run(x(2)), pt.run(x(3)), onnx.run(x(4))]);
    assert.deepEqual(rs.map((r) => r.outputs.y.data[0]), [2, 4, 6, 8]);
  } finally { await Promise.all([pt.dispose(), onnx.dispose()]); }
});

test('pytorch: without the addon, asking for the engine says what to install and the command that builds it', () => {
  const r = spawnSync(process.execPath, [MAIN, 'serve', join(TS, 'scale.pt'), '--port', '0'], {
    env: { ...process.env, FERRY_LIBTORCH_ADDON: '/nonexistent/ferry_libtorch.node' }, encoding: 'utf8', timeout: 60_000,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /TorchScript engine unavailable: apt-get install libtorch-dev, then npm run build:libtorch \(in \/.+\) \[ENGINE_UNAVAILABLE\]/);
});
