// Quantization arithmetic, range collectors, the quantization plan, the float16 converter and
// the opset 9 -> 10 upgrade, on small inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activationParams, quantizeWeight, quantizeBias, roundHalfEven, quantizeValues } from '../../dist/quantize/qparams.js';
import { RangeCollector, entropyThreshold, percentileThreshold } from '../../dist/quantize/histogram.js';
import { planQuantization } from '../../dist/quantize/plan.js';
import { convertToFloat16, DEFAULT_FP16_BLOCK_OPS } from '../../dist/quantize/float16.js';
import { upgradeToOpset10 } from '../../dist/quantize/opset.js';
import { quantizationError } from '../../dist/quantize/sensitivity.js';
import { Model, Graph, Node, ValueInfo, DataType, attr, encodeModel } from '../../dist/onnx/index.js';
import ort from 'onnxruntime-node';
import { residualCnn, fp16Corners, rng } from './models.mjs';

test('roundHalfEven rounds ties to even, as QuantizeLinear', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, -0, -2, -2, 2, 3]);
});

test('activation parameters: zero is exact, the range is covered, uint8 after ReLU has zero point 0', () => {
  const p = activationParams({ min: -1, max: 3 }, 'uint8');
  assert.equal(Math.fround(p.scale), p.scale);
  assert.equal(quantizeValues(Float32Array.of(0), p)[0], p.zeroPoint);
  const q = quantizeValues(Float32Array.of(-1, 3), p);
  assert.ok(Math.abs((q[0] - p.zeroPoint) * p.scale + 1) <= p.scale / 2 && Math.abs((q[1] - p.zeroPoint) * p.scale - 3) <= p.scale / 2);
  assert.equal(activationParams({ min: 0, max: 6 }, 'uint8').zeroPoint, 0);
  assert.equal(activationParams({ min: 0, max: 6 }, 'int8').zeroPoint, -128);
  assert.deepEqual(activationParams({ min: 0, max: 0 }, 'uint8'), { type: 'uint8', scale: 1, zeroPoint: 0 });
});

test('weights: symmetric int8 per channel in [-127, 127]; bias int32 with scale x_scale * w_scale', () => {
  const w = Float32Array.of(1, -2, 0.5, 0, 0.01, -0.02, 0, 0); // 4 channels of 2
  const q = quantizeWeight(w, [4, 2], 0);
  assert.deepEqual([...q.scales].map((s) => +s.toFixed(6)), [2 / 127, 0.5 / 127, 0.02 / 127, 1].map((s) => +Math.fround(s).toFixed(6)));
  assert.equal(q.data[1], -127);
  assert.equal(q.data[5], -127);
  assert.deepEqual([...q.data.slice(6)], [0, 0]);
  const perTensor = quantizeWeight(w, [4, 2], -1);
  assert.equal(perTensor.scales.length, 1);
  const b = quantizeBias(Float32Array.of(0.5, -1), 0.1, Float32Array.of(0.01, 0.02));
  assert.deepEqual([...b.data], [500, -500]);
  assert.equal(b.scales[0], Math.fround(0.1 * Math.fround(0.01)));
});

test('range collectors: minmax, percentile and entropy clip a rare outlier; all include 0', () => {
  const r = rng(7);
  const values = Float32Array.from({ length: 200_000 }, () => (r() + r() + r()) / 3);
  values[5] = 40; // one outlier
  const mm = new RangeCollector(false);
  const h = new RangeCollector(true);
  for (let i = 0; i < values.length; i += 50_000) {
    mm.add(values.subarray(i, i + 50_000));
    h.add(values.subarray(i, i + 50_000));
  }
  assert.equal(mm.range('minmax', 99.99).max, 40);
  const p = h.range('percentile', 99.99);
  assert.ok(p.max < 2 && p.max > 0.5, `percentile max ${p.max}`);
  const e = h.range('entropy', 99.99);
  assert.ok(e.max < 10 && e.max > 0.5, `entropy max ${e.max}`);
  const pos = new RangeCollector(true);
  pos.add(Float32Array.of(1, 2, 3));
  assert.equal(pos.range('minmax', 99.99).min, 0);
  // thresholds on a hand-made histogram
  const hist = Float64Array.from({ length: 2048 }, (_, k) => Math.round(1e6 * Math.exp(-k / 40)));
  hist[2000] = 1;
  const t = entropyThreshold(hist, 1, 127);
  assert.ok(t > 127 && t < 1000, `entropy threshold ${t} bins`);
  assert.equal(percentileThreshold(hist, 1, 100), 2001);
  assert.ok(percentileThreshold(hist, 1, 99) < 200);
});

test('per-channel quantization error sees a crushed small channel that cosine misses', () => {
  const x = new Float32Array(2 * 100);
  for (let i = 0; i < 100; i++) { x[i] = 1000 * Math.sin(i); x[100 + i] = 0.5 * Math.cos(i); } // [1, 2, 10, 10]
  const e = quantizationError(x, [1, 2, 10, 10], { min: -1000, max: 1000 }, 'uint8');
  assert.ok(e > 0.4, `error ${e}`); // the small channel quantizes to zero: relative error 1 there
});

test('plan: Relu folded into Conv and Add, MaxPool/Flatten pass through, the final Gemm writes float', () => {
  const m = residualCnn();
  const plan = planQuantization(m);
  const ops = [...plan.nodes.keys()].map((n) => n.name).sort();
  assert.deepEqual(ops, ['add', 'conv1', 'conv2', 'conv3', 'fc', 'flatten', 'gap', 'pool']);
  assert.deepEqual([...plan.absorbed.values()].map((n) => n.name).sort(), ['relu1', 'relu2', 'relu3']);
  const names = plan.tensors.map((t) => t.name);
  assert.ok(names.includes('r1') && names.includes('r3') && !names.includes('logits'));
  assert.equal(plan.tensors.find((t) => t.name === 'p').paramsFrom, 'r3'); // MaxPool keeps its input's scale
  assert.ok(!plan.calibrate.includes('p') && !plan.calibrate.includes('f'));
});

test('plan: excluded and first/last nodes stay float, and their neighbours follow', () => {
  const m = residualCnn();
  const plan = planQuantization(m, { exclude: ['conv3'] });
  const q = new Set([...plan.nodes.keys()].map((n) => n.name));
  assert.ok(!q.has('conv3') && !q.has('add'), 'the Add of a float conv3 is left float');
  assert.ok(plan.skipped.some((s) => s.node === 'conv3' && s.reason === 'excluded'));
  const fl = planQuantization(residualCnn(), { keepFirstLast: true });
  const q2 = new Set([...fl.nodes.keys()].map((n) => n.name));
  assert.ok(!q2.has('conv1') && !q2.has('fc') && q2.has('conv2'));
  const ft = planQuantization(residualCnn(), { floatTensors: new Set(['r2']) });
  assert.ok(![...ft.nodes.keys()].some((n) => n.name === 'conv3' || n.name === 'conv2'));
});

test('float16: blocked Resize behind Casts, Cast-to-float retyped, values clamped, float32 IO kept', async () => {
  const m = fp16Corners();
  const stats = convertToFloat16(m);
  const g = m.graph;
  assert.ok(DEFAULT_FP16_BLOCK_OPS.includes('Resize'));
  assert.equal(stats.blockedOps.Resize, 1);
  assert.equal(stats.clamped, 1);
  assert.equal(g.initializers.get('big').dataType, DataType.FLOAT16);
  assert.equal(g.initializers.get('scales').dataType, DataType.FLOAT, 'scales of a blocked Resize stay float32');
  const resize = g.nodes.find((n) => n.opType === 'Resize');
  assert.equal(g.producer(resize.inputs[0]).opType, 'Cast');
  assert.equal(g.nodes.find((n) => n.name === 'cast').getInt('to'), DataType.FLOAT16);
  assert.deepEqual(g.inputs.map((v) => v.elemType), [DataType.FLOAT, DataType.INT64]);
  assert.deepEqual(g.outputs.map((v) => v.elemType), [DataType.FLOAT, DataType.FLOAT]);
  const s = await ort.InferenceSession.create(encodeModel(m));
  const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(32).fill(0.5), [1, 2, 4, 4]), n: new ort.Tensor('int64', BigInt64Array.of(-3n), [1]) });
  assert.equal(out.y.type, 'float32');
  assert.deepEqual([...out.y.data.slice(0, 2)].map((v) => +v.toFixed(3)), [1, 1]);
  assert.equal(out.z.data[0], 3);

  const io16 = fp16Corners();
  convertToFloat16(io16, { keepIoTypes: false });
  assert.deepEqual(io16.graph.inputs.map((v) => v.elemType), [DataType.FLOAT16, DataType.INT64]);
  assert.deepEqual(io16.graph.outputs.map((v) => v.elemType), [DataType.FLOAT16, DataType.FLOAT16]);
  await ort.InferenceSession.create(encodeModel(io16));
});

test('opset 9 -> 10: Slice and TopK attributes become inputs, and the model still runs the same', async () => {
  const graph = new Graph({
    inputs: [ValueInfo.tensor('x', DataType.FLOAT, [2, 6])],
    outputs: [ValueInfo.tensor('s', DataType.FLOAT, [2, 3]), ValueInfo.tensor('v', DataType.FLOAT, [2, 2])],
    nodes: [
      new Node({ opType: 'Slice', inputs: ['x'], outputs: ['s'], attributes: { starts: attr.ints([1]), ends: attr.ints([4]), axes: attr.ints([1]) } }),
      new Node({ opType: 'TopK', inputs: ['x'], outputs: ['v', 'i'], attributes: { k: attr.int(2) } }),
    ],
  });
  const m = new Model({ graph, opsetImports: new Map([['', 9]]), irVersion: 4 });
  const x = new ort.Tensor('float32', Float32Array.from({ length: 12 }, (_, i) => (i * 7) % 12), [2, 6]);
  const before = await (await ort.InferenceSession.create(encodeModel(m))).run({ x });
  assert.equal(upgradeToOpset10(m), 2);
  assert.equal(m.opset(''), 10);
  const after = await (await ort.InferenceSession.create(encodeModel(m))).run({ x });
  assert.deepEqual([...after.s.data], [...before.s.data]);
  assert.deepEqual([...after.v.data], [...before.v.data]);
});
