// Static int8 end to end on a residual CNN built with the IR: the QDQ graph ONNX Runtime fuses
// completely (no Q/DQ left but the input's Quantize, no float Conv/Gemm), outputs that agree with
// float, int32 biases, one DequantizeLinear per quantized consumer, and the report's parts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModel, loadModel, DataType } from '../../dist/onnx/index.js';
import { writeNpz } from '../../dist/tensors/npy.js';
import { quantizeFile } from '../../dist/quantize/quantize.js';
import { quantizeText, quantizeJson } from '../../dist/quantize/report.js';
import { residualCnn, rng } from './models.mjs';

let dir;
let model;
let calib;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-qdq-'));
  model = join(dir, 'cnn.onnx');
  await saveModel(residualCnn(), model);
  const r = rng(3);
  calib = join(dir, 'calib.npz');
  await writeNpz(calib, [['x', { datatype: 'FP32', shape: [64, 3, 16, 16], data: Float32Array.from({ length: 64 * 768 }, () => r()) }]]);
});
after(() => rm(dir, { recursive: true, force: true }));

test('static int8: fully fused by ONNX Runtime, agrees with float on held-out samples', async () => {
  const out = join(dir, 'cnn.int8.onnx');
  const r = await quantizeFile(model, out, { mode: 'int8-static', calibrationData: calib, benchSeconds: 0.2, batchSizes: [1, 8] });
  assert.equal(r.fusion.floatHeavyOps, 0, JSON.stringify(r.fusion.ops));
  assert.ok(r.fusion.unfusedQdq <= 1, `unfused Q/DQ: ${JSON.stringify(r.fusion.ops)}`); // the input's QuantizeLinear
  assert.equal(r.fusion.ops.QLinearConv, 3);
  assert.equal(r.fusion.ops.QLinearAdd, 1);
  assert.equal(r.fusion.ops.QGemm, 1);
  assert.equal(r.static.removedActivations, 3);
  assert.ok(r.agreement.heldOut && r.agreement.samples > 0);
  assert.ok(r.agreement.minCosine >= 0.99, `cosine ${r.agreement.minCosine}`);
  assert.equal(r.calibration.samples, 64 - 16); // a quarter held out
  assert.equal(r.agreement.samples, 16);
  assert.ok(r.agreement.minCosine <= r.agreement.meanCosine, JSON.stringify(r.agreement));
  assert.deepEqual(r.throughput.map((t) => t.batch), [1, 8]);
  assert.ok(r.throughput.every((t) => t.before > 0 && t.after > 0));
  assert.match(quantizeText(r), /verdict: int8 (pays|DOES NOT PAY) on this machine/);
  assert.equal(JSON.parse(JSON.stringify(quantizeJson(r))).mode, 'int8-static');

  const q = await loadModel(out);
  const g = q.graph;
  const conv2 = g.nodes.find((n) => n.name === 'conv2');
  const [x, w, b] = conv2.inputs.map((v) => g.producer(v));
  assert.deepEqual([x.opType, w.opType, b.opType], ['DequantizeLinear', 'DequantizeLinear', 'DequantizeLinear']);
  assert.equal(g.initializers.get(w.inputs[0]).dataType, DataType.INT8);
  assert.equal(g.initializers.get(b.inputs[0]).dataType, DataType.INT32);
  assert.equal(g.initializers.get(w.inputs[1]).dims[0], 8, 'one weight scale per output channel');
  assert.ok(!g.nodes.some((n) => n.opType === 'Relu'), 'Relus are folded into the quantized outputs');
  assert.ok(!g.initializers.has('conv2.w'), 'float weights are gone');
  // one DequantizeLinear per quantized consumer: conv2 and the Add both read r1
  const r1q = g.nodes.find((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === 'r1');
  assert.equal(g.consumers(r1q.outputs[0]).length, 2);
});

test('static int8: per-tensor weights, entropy and percentile calibration, --keep-first-last', async () => {
  const out = join(dir, 'cnn.pt.onnx');
  for (const method of ['entropy', 'percentile']) {
    const r = await quantizeFile(model, out, { mode: 'int8-static', calibrationData: calib, method, perChannel: false, keepFirstLast: true, benchSeconds: 0 });
    assert.equal(r.calibration.method, method);
    assert.ok(r.static.skipped.some((s) => s.node === 'conv1') && r.static.skipped.some((s) => s.node === 'fc'));
    assert.ok(r.agreement.minCosine >= 0.98, `${method}: cosine ${r.agreement.minCosine}`);
    const g = (await loadModel(out)).graph;
    const dq = g.producer(g.nodes.find((n) => n.name === 'conv2').inputs[1]);
    assert.deepEqual(g.initializers.get(dq.inputs[1]).dims, [], 'per-tensor: a scalar scale');
  }
});

test('dynamic int8 and fp16 on the same model', async () => {
  const dyn = await quantizeFile(model, join(dir, 'cnn.dyn.onnx'), { mode: 'int8-dynamic', benchSeconds: 0 });
  assert.deepEqual(dyn.dynamic.nodes, { Gemm: 1 });
  assert.equal(dyn.fusion.ops.DynamicQuantizeMatMul, 1);
  assert.ok(dyn.agreement.minCosine >= 0.99);
  const fp16 = await quantizeFile(model, join(dir, 'cnn.fp16.onnx'), { mode: 'fp16', benchSeconds: 0 });
  assert.ok(fp16.agreement.minCosine >= 0.999);
  assert.ok(fp16.size.ratio > 1.5);
  // float16 inputs and outputs: the same float32 data is converted on the way in
  const io16 = await quantizeFile(model, join(dir, 'cnn.fp16io.onnx'), { mode: 'fp16', keepIoTypes: false, evalData: calib, benchSeconds: 0.1, batchSizes: [8] });
  assert.ok(io16.agreement.minCosine >= 0.999, `cosine ${io16.agreement.minCosine}`);
  assert.equal((await loadModel(join(dir, 'cnn.fp16io.onnx'))).graph.inputs[0].elemType, DataType.FLOAT16);
  assert.ok(io16.throughput[0].after > 0);
});
