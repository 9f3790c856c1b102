// `ferry export` against the real thing: Debian's PyTorch, the seed's MyCell/MyDecisionGate
// (data-dependent control flow that torch.jit.trace freezes), a small CNN on onnxruntime-node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { writeNpz } from '../../dist/tensors/npy.js';
import { SKIP_NO_TORCH, SYSTEM_PYTHON, PYTORCH_FIXTURES, ferry, python, tempDir } from './helpers.mjs';

const PY = ['--python', SYSTEM_PYTHON];
const CELL = `${PYTORCH_FIXTURES}:make_cell`;
const CNN = `${PYTORCH_FIXTURES}:make_cnn`;
const skip = SKIP_NO_TORCH;

/** A [3,4] float32 input. */
function tensor(values) {
  return { datatype: 'FP32', shape: [3, 4], data: Float32Array.from(values) };
}
const magnitudes = [0.3, 1.2, 0.7, 2.1, 0.9, 1.5, 0.4, 1.1, 0.8, 1.9, 0.6, 1.3];

test('MyCell to TorchScript, --method auto: the trace check catches the frozen branch and falls back to script', { skip }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'cell.pt');
    const r = await ferry(['export', CELL, '--input-shape', '3,4', '--input-shape', '3,4', '--to', 'torchscript', '-o', out, ...PY]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(existsSync(out));
    assert.match(r.stdout, /method: script \(asked auto\): torch\.jit\.trace froze data-dependent control flow; fell back to torch\.jit\.script/);
    assert.match(r.stdout, /TracerWarning: Converting a tensor to a Python boolean/);
    assert.match(r.stdout, /torch\.jit\.load .* output_0 +0 +0 +PASS/);
    assert.match(r.stderr, /falling back to torch\.jit\.script/, 'progress streams on stderr');

    // Inputs that take each branch of MyDecisionGate: large x of both signs (the linear layer's
    // bias cannot flip the sum's sign at this scale). The scripted export matches eager on both...
    const pos = join(dir, 'pos.npz');
    const neg = join(dir, 'neg.npz');
    const h = tensor(magnitudes.map((m, i) => (i % 2 ? m : -m) / 4));
    await writeNpz(pos, [['x', tensor(magnitudes.map((m) => 10 * m))], ['h', h]]);
    await writeNpz(neg, [['x', tensor(magnitudes.map((m) => -10 * m))], ['h', h]]);
    for (const inputs of [pos, neg]) {
      const c = await ferry(['compare', out, CELL, '--inputs', inputs, ...PY]);
      assert.equal(c.code, 0, `${inputs}: ${c.stdout}${c.stderr}`);
      assert.match(c.stdout, /^output_0 .* PASS$/m);
    }
    // ...and the two files do take different branches: linear(x).sum() has opposite signs.
    const signs = python(String.raw`
import sys, importlib.util, numpy as np, torch
spec = importlib.util.spec_from_file_location("m", sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
torch.manual_seed(0)
cell = m.make_cell().eval()
for path in sys.argv[2:]:
    x = torch.from_numpy(np.load(path)["x"])
    print(int(torch.sign(cell.linear(x).sum())))
`, [PYTORCH_FIXTURES, pos, neg]).trim().split('\n').map(Number);
    assert.deepEqual(signs.sort(), [-1, 1], 'one input file per branch');
  } finally {
    cleanup();
  }
});

test('MyCell with --method trace: fails with TRACE_DIVERGED, naming the inputs, the diff and the TracerWarning', { skip }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'cell.pt');
    const r = await ferry(['export', CELL, '--input-shape', '3,4', '--input-shape', '3,4', '--to', 'torchscript', '--method', 'trace', '-o', out, ...PY]);
    assert.equal(r.code, 1);
    const line = r.stderr.trim().split('\n').pop();
    assert.match(line, /^ferry export: torch\.jit\.trace froze data-dependent control flow in .*models\.py:make_cell/);
    assert.match(line, /disagrees with eager on \d of 8 check inputs: .*-x \(max abs diff [\d.]+\)/);
    assert.match(line, /torch warned: Converting a tensor to a Python boolean might cause the trace to be incorrect \(models\.py:\d+\)/);
    assert.match(line, /Use --method script \(or auto\).*\[TRACE_DIVERGED\]$/);
    assert.ok(!existsSync(out), 'nothing written');
  } finally {
    cleanup();
  }
});

test('small CNN to ONNX with --dynamic-batch: parity passes, runs at batch 1 and 4, compare vs the factory passes', { skip }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'cnn.onnx');
    const r = await ferry(['export', CNN, '--input-shape', '1,3,32,32', '--to', 'onnx', '--opset', '13', '--dynamic-batch', '-o', out, '--json', ...PY]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout);
    assert.equal(report.pass, true);
    assert.equal(report.method, 'trace');
    assert.deepEqual(report.traceCheck.disagreements, []);
    assert.deepEqual(report.inputs, [{ name: 'x', shape: [1, 3, 32, 32], dtype: 'float32' }]);
    const ortRows = report.parity.filter((p) => p.engine.startsWith('onnxruntime-node'));
    assert.deepEqual(ortRows.map((p) => p.inputs[0].shape[0]), [1, 3], 'checked at the given batch and another one');
    for (const p of ortRows) assert.ok(p.pass && p.maxAbs < 1e-4, JSON.stringify(p));

    const session = await ort.InferenceSession.create(out);
    try {
      assert.deepEqual(session.inputNames, ['x']);
      assert.deepEqual(session.outputNames, ['output']);
      assert.equal(session.inputMetadata[0].shape[0], 'batch');
      for (const batch of [1, 4]) {
        const n = batch * 3 * 32 * 32;
        const x = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i)), [batch, 3, 32, 32]);
        const y = (await session.run({ x })).output;
        assert.deepEqual(y.dims, [batch, 10]);
        assert.ok([...y.data].every(Number.isFinite));
      }
    } finally {
      await session.release();
    }

    for (const extra of [[], ['--input-shape', 'x:4,3,32,32']]) {
      const c = await ferry(['compare', out, CNN, '--atol', '1e-4', '--n', '3', ...extra, ...PY]);
      assert.equal(c.code, 0, c.stdout + c.stderr);
      assert.match(c.stdout, /^output +\[\d,10\] .* (\d+)\/\1 .* PASS$/m, "top-1 agrees on every row");
      assert.match(c.stdout, /^PASS: 1 output\(s\) match$/m);
    }
  } finally {
    cleanup();
  }
});

test('a model that bakes in the batch size: exported, but parity FAILs at another batch (exit 1)', { skip }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'baked.onnx');
    const r = await ferry(['export', `${PYTORCH_FIXTURES}:make_batch_baked`, '--input-shape', '2,4', '--dynamic-batch', '-o', out, ...PY]);
    assert.equal(r.code, 1, r.stdout);
    assert.ok(existsSync(out), 'the file is written; the verdict is the exit status');
    assert.match(r.stdout, /x\[2,4\] +output +0 +0 +PASS/);
    assert.match(r.stdout, /x\[3,4\] +output +[\d.e+-]+ +[\d.e+-]+ +FAIL/);
    assert.match(r.stdout, /TracerWarning: Converting a tensor to a Python float/);
    assert.match(r.stdout, /matches at the example batch size only/);
    assert.match(r.stdout, /^FAIL: /m);
  } finally {
    cleanup();
  }
});

test('a Python exception names the factory and the error; bad factories are refused clearly', { skip }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const base = ['--input-shape', '2,4', '-o', join(dir, 'm.onnx'), ...PY];
    let r = await ferry(['export', `${PYTORCH_FIXTURES}:make_broken`, ...base]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Traceback \(most recent call last\)/, 'the traceback streams to stderr');
    assert.match(r.stderr.trim().split('\n').pop(), /^ferry export: calling .*models\.py:make_broken\(\): ValueError: weights file checkpoint\.pt not found \[PYTHON_ERROR\]$/);
    r = await ferry(['export', `${PYTORCH_FIXTURES}:no_such_factory`, ...base]);
    assert.match(r.stderr, /models\.py has no attribute 'no_such_factory' \[PYTHON_ERROR\]/);
    r = await ferry(['export', `${PYTORCH_FIXTURES}:not_a_module`, ...base]);
    assert.match(r.stderr, /not_a_module\(\) returned int, not a torch\.nn\.Module \[PYTHON_ERROR\]/);
    r = await ferry(['export', `${PYTORCH_FIXTURES}:make_cnn`, '--input-shape', '1,3,32', '-o', join(dir, 'm.onnx'), ...PY]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /running .*make_cnn eagerly on inputs of shape \[\[1, 3, 32\]\]: RuntimeError: .*\[PYTHON_ERROR\]/);
  } finally {
    cleanup();
  }
});

test('usage errors: exit 1, one line with the code', async () => {
  let r = await ferry(['export', 'model.onnx', '--input-shape', '1,3', '-o', 'x.onnx']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /"model\.onnx" is not MODULE\.py:FACTORY/);
  r = await ferry(['export', 'm.py:f', '--input-shape', '1,3', '-o', 'x.bin']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--to must be onnx, torchscript or ptl/);
  r = await ferry(['export', 'm.py:f', '--input-shape', '1,x', '-o', 'x.onnx']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--input-shape 1,x: expected dims/);
  r = await ferry(['export', 'm.py:f', '--input-shape', '1,3', '-o', 'x.pt', '--opset', '13']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--opset is for --to onnx/);
});

test('the bridge also runs as a script (python python/ferry_bridge run ...)', { skip }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const inputs = join(dir, 'in.npz');
    await writeNpz(inputs, [['x', { datatype: 'FP32', shape: [2, 3, 8, 8], data: new Float32Array(2 * 3 * 64).fill(0.5) }]]);
    const bridge = new URL('../../python/ferry_bridge', import.meta.url).pathname;
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(SYSTEM_PYTHON, [bridge, 'run', CNN, '--inputs', inputs, '--outputs', join(dir, 'out.npz')], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const reply = JSON.parse(r.stdout.trim());
    assert.equal(reply.ok, true);
    assert.deepEqual(reply.result.runs[0].outputs, [{ name: 'output', shape: [2, 10], dtype: 'float32' }]);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'stdout holds only the result line');
  } finally {
    cleanup();
  }
});
