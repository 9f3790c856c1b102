// `ferry compare`: the metrics on known arrays, input shapes and seeds, ONNX-vs-ONNX in process,
// and PyTorch factories through the bridge (FAIL with the numbers when the models differ).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { compareTensors, mergeStats, meanAbs } from '../../dist/tensors/metrics.js';
import { matchOutputs } from '../../dist/compare/compare.js';
import { parseShapeOverrides, randomInputs, resolveSpecs } from '../../dist/tensors/inputs.js';
import { table as alignedTable } from '../../dist/report/table.js';
import { encodeNpy, writeNpz } from '../../dist/tensors/npy.js';
import { toHalfBits } from '../../dist/tensors/dtype.js';
import { SKIP_NO_TORCH, SYSTEM_PYTHON, PYTORCH_FIXTURES, ONNX_FIXTURES, ferry, tempDir } from '../bridge/helpers.mjs';

const f32 = (shape, values) => ({ datatype: 'FP32', shape, data: Float32Array.from(values) });
const TOL = { atol: 1e-5, rtol: 1e-4 };
const SCALE = join(ONNX_FIXTURES, 'scale/1/model.onnx'); // y = 2x, x [batch, 4]
const DYN = join(ONNX_FIXTURES, 'dyn/1/model.onnx'); // y = x + 1, x [batch, len]

test('metrics: max/mean abs, max rel, cosine, top-1, and numpy.allclose semantics at the boundary', () => {
  const a = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  const b = f32([2, 3], [1, 2.5, 3, 4, 5, 7]);
  const s = compareTensors(a, b, TOL);
  assert.equal(s.maxAbs, 1);
  assert.equal(meanAbs(s), 1.5 / 6);
  assert.equal(s.maxRel, 0.5 / 2.5);
  assert.equal(s.mismatched, 2);
  assert.equal(s.pass, false);
  assert.deepEqual(s.top1, { agree: 2, rows: 2 });
  const dot = 1 + 5 + 9 + 16 + 25 + 42;
  const norm = Math.sqrt(91) * Math.sqrt(1 + 6.25 + 9 + 16 + 25 + 49);
  assert.ok(Math.abs(s.cosine - dot / norm) < 1e-12);

  // |a-b| <= atol + rtol*|b|: exactly at the bound passes, just past it fails (values exact in binary)
  const bound = { atol: 0.25, rtol: 0.5 };
  const ref = { datatype: 'FP64', shape: [2], data: Float64Array.of(2, -2) };
  assert.equal(compareTensors({ ...ref, data: Float64Array.of(3.25, -0.75) }, ref, bound).pass, true);
  assert.equal(compareTensors({ ...ref, data: Float64Array.of(3.2500001, -0.75) }, ref, bound).mismatched, 1);
  assert.equal(compareTensors({ ...ref, data: Float64Array.of(3.25, -0.7499999) }, ref, bound).mismatched, 1);

  // top-1 disagreement; NaN fails; equal infinities pass; shapes must match
  assert.deepEqual(compareTensors(f32([2, 2], [1, 0, 0, 1]), f32([2, 2], [0, 1, 0, 1]), TOL).top1, { agree: 1, rows: 2 });
  const nan = compareTensors(f32([2], [NaN, 1]), f32([2], [1, 1]), TOL);
  assert.equal(nan.pass, false);
  assert.match(nan.note, /NaN/);
  assert.equal(compareTensors(f32([2], [Infinity, 1]), f32([2], [Infinity, 1]), TOL).pass, true);
  const shape = compareTensors(f32([1, 2], [1, 2]), f32([2, 1], [1, 2]), TOL);
  assert.equal(shape.pass, false);
  assert.match(shape.note, /shapes differ: \[1,2\] vs \[2,1\]/);
  assert.equal(compareTensors(f32([1, 3], [0, 0, 0]), f32([1, 3], [0, 0, 0]), TOL).cosine, 1);

  // other dtypes: int64 and float16 compare by value
  const i64 = (v) => ({ datatype: 'INT64', shape: [v.length], data: BigInt64Array.from(v) });
  assert.equal(compareTensors(i64([1n, 2n]), i64([1n, 3n]), TOL).maxAbs, 1);
  const half = (v) => ({ datatype: 'FP16', shape: [v.length], data: Uint16Array.from(v.map(toHalfBits)) });
  assert.equal(compareTensors(half([0.5, 2]), half([0.5, 2.5]), TOL).maxAbs, 0.5);
});

test('merging trials: worst max, pooled mean, worst cosine, summed counts', () => {
  const s1 = compareTensors(f32([1, 2], [1, 0]), f32([1, 2], [1, 0]), TOL);
  const s2 = compareTensors(f32([1, 2], [0, 1]), f32([1, 2], [1, 0]), TOL);
  const m = mergeStats([s1, s2]);
  assert.equal(m.maxAbs, 1);
  assert.equal(meanAbs(m), 2 / 4);
  assert.equal(m.cosine, 0);
  assert.deepEqual(m.top1, { agree: 1, rows: 2 });
  assert.equal(m.mismatched, 2);
  assert.equal(m.pass, false);
});

test('outputs pair by name, else by position with a note; unmatched ones are noted', () => {
  let notes = [];
  assert.deepEqual(matchOutputs(['a', 'b'], ['b', 'a'], notes), [['a', 'a'], ['b', 'b']]);
  assert.deepEqual(notes, []);
  assert.deepEqual(matchOutputs(['logits'], ['output'], notes), [['logits', 'output']]);
  assert.match(notes[0], /matched by position/);
  notes = [];
  assert.deepEqual(matchOutputs(['a', 'b'], ['a'], notes), [['a', 'a']]);
  assert.match(notes[0], /^unmatched outputs: A\.b/);
});

test('input shapes: batch dims default to 1, other dynamic dims need --input-shape; seeds are reproducible', () => {
  const declared = [{ name: 'x', datatype: 'FP32', dims: ['batch', 3, 'h', 'h'] }, { name: 'ids', datatype: 'INT64', dims: [-1, 5] }];
  assert.throws(() => resolveSpecs(declared, [], 'm.onnx'), { code: 'BAD_SHAPE', message: /dynamic dim 2 \("h"\).*--input-shape x:1,3,N,N/ });
  const specs = resolveSpecs(declared, parseShapeOverrides(['x:2,3,8,8']), 'm.onnx');
  assert.deepEqual(specs.map((s) => s.shape), [[2, 3, 8, 8], [1, 5]]);
  assert.throws(() => resolveSpecs(declared, parseShapeOverrides(['x:2,4,8,8']), 'm.onnx'), { code: 'BAD_SHAPE' });
  assert.throws(() => resolveSpecs(declared, parseShapeOverrides(['y:1']), 'm.onnx'), { code: 'UNKNOWN_INPUT' });
  assert.deepEqual(parseShapeOverrides(['ids:1,16:int64', '2,3']), [{ name: 'ids', shape: [1, 16], datatype: 'INT64' }, { shape: [2, 3] }]);
  assert.throws(() => parseShapeOverrides(['x:1,2:complex']), /unknown dtype/);

  const t0 = randomInputs(specs, 0, 0);
  assert.deepEqual(randomInputs(specs, 0, 0).get('x').data, t0.get('x').data, 'same seed and trial, same data');
  assert.notDeepEqual(randomInputs(specs, 0, 1).get('x').data, t0.get('x').data, 'another trial differs');
  assert.notDeepEqual(randomInputs(specs, 1, 0).get('x').data, t0.get('x').data, 'another seed differs');
  const x = [...t0.get('x').data];
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const sd = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
  assert.ok(Math.abs(mean) < 0.15 && Math.abs(sd - 1) < 0.15, `roughly standard normal: mean ${mean}, sd ${sd}`);
  assert.ok([...t0.get('ids').data].every((v) => v >= 0n && v < 10n), 'small ints');
});

test('aligned table: numbers right-aligned, text left-aligned', () => {
  const t = alignedTable(['name', 'max abs'], [['output', '1.00e-7'], ['o', '0']]);
  assert.equal(t, 'name    max abs\n------  -------\noutput  1.00e-7\no             0\n');
});

test('ONNX vs ONNX in process: the same model PASSes; different ones FAIL with exit 1 and the numbers', async () => {
  let r = await ferry(['compare', SCALE, SCALE, '--n', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /inputs: x float32 \[1,4\]; 2 random set\(s\), seed 0/);
  assert.match(r.stdout, /^y +\[1,4\] +0 +0 +0 +1\.000000 +2\/2 +0\/8 +PASS$/m);

  r = await ferry(['compare', SCALE, DYN, '--input-shape', 'x:2,4', '--json']);
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout);
  assert.equal(report.pass, false);
  assert.deepEqual(report.inputs, [{ name: 'x', datatype: 'FP32', shape: [2, 4] }]);
  assert.equal(report.trials, 5);
  const y = report.outputs[0];
  assert.equal(y.name, 'y');
  assert.ok(y.maxAbs > 1 && y.mismatched > 0 && y.pass === false, JSON.stringify(y));

  r = await ferry(['compare', DYN, DYN]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /input "x" of .*dyn\/1\/model\.onnx has dynamic dim 1 \("len"\).*--input-shape x:1,N \[BAD_SHAPE\]/);
});

test('--inputs: an .npz or a directory of .npy files; a missing input is named', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const x = f32([3, 4], Array.from({ length: 12 }, (_, i) => i - 6));
    await writeNpz(join(dir, 'in.npz'), [['x', x]]);
    let r = await ferry(['compare', SCALE, SCALE, '--inputs', join(dir, 'in.npz'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.source, 'file');
    assert.equal(report.trials, 1);
    assert.deepEqual(report.outputs[0].shape, [3, 4]);
    mkdirSync(join(dir, 'npy'));
    writeFileSync(join(dir, 'npy', 'x.npy'), encodeNpy(x));
    r = await ferry(['compare', SCALE, DYN, '--inputs', join(dir, 'npy')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^y +\[3,4\] .* FAIL$/m);
    await writeNpz(join(dir, 'wrong.npz'), [['z', x]]);
    r = await ferry(['compare', SCALE, SCALE, '--inputs', join(dir, 'wrong.npz')]);
    assert.match(r.stderr, /needs input "x", the inputs hold z \[MISSING_INPUT\]/);
  } finally {
    cleanup();
  }
});

test('two factories with different seeds: FAIL, exit 1, with max abs, cosine and top-1', { skip: SKIP_NO_TORCH }, async () => {
  const r = await ferry(['compare', `${PYTORCH_FIXTURES}:make_cnn`, `${PYTORCH_FIXTURES}:make_cnn_seed1`,
    '--input-shape', 'x:4,3,16,16', '--n', '2', '--python', SYSTEM_PYTHON]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^A .*make_cnn +PyTorch eager \(torch [\d.]+\S*, .*\)/m);
  const row = r.stdout.split('\n').find((l) => /^output +\[/.test(l));
  const [, shape, maxAbs, , , cosine, top1, mismatched, result] = row.split(/ +/);
  assert.equal(shape, '[4,10]');
  assert.ok(Number(maxAbs) > 0.05, row);
  assert.ok(Number(cosine) < 0.99, row);
  assert.match(top1, /^\d\/8$/);
  assert.match(mismatched, /^\d+\/80$/);
  assert.equal(result, 'FAIL');
  assert.match(r.stdout, /^FAIL: 1 of 1 output\(s\) differ beyond tolerance$/m);

  const same = await ferry(['compare', `${PYTORCH_FIXTURES}:make_cnn`, `${PYTORCH_FIXTURES}:make_cnn`, '--input-shape', 'x:2,3,16,16', '--n', '2', '--python', SYSTEM_PYTHON]);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  const missing = await ferry(['compare', `${PYTORCH_FIXTURES}:make_cnn`, `${PYTORCH_FIXTURES}:make_cnn`, '--python', SYSTEM_PYTHON]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /neither model declares its inputs.*--input-shape/);
});
