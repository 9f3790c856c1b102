// `ferry quantize` on a model with If and Loop, as `ferry export --method script` makes them from
// data-dependent code (test/quantize/control_flow.py: Linear layers before, inside and after an
// `if` on the data and a `for` over a range read from the input's shape). Static int8 quantizes the
// main graph (including the Gemm that reads the Loop's output, once refused with a false "inputs
// are not float32") and keeps the Gemms inside the branches and the loop body float, saying why;
// dynamic int8 quantizes inside them too; float16 keeps If and Loop in float32. Each result loads
// in ONNX Runtime and agrees with float, with the If taking both branches over the data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { writeNpz, readNpz } from '../../dist/tensors/npy.js';
import { loadModel, DataType } from '../../dist/onnx/index.js';
import { quantizeFile } from '../../dist/quantize/quantize.js';
import { quantizeText } from '../../dist/quantize/report.js';
import { ferry, SKIP_NO_TORCH } from '../bridge/helpers.mjs';
import { rng } from './models.mjs';

const FIXTURE = fileURLToPath(new URL('./control_flow.py', import.meta.url));
const skip = SKIP_NO_TORCH;

let dir;
let model;
let calib;
let evalData;
before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'ferry-cf-'));
  model = join(dir, 'gated.onnx');
  const r = await ferry(['export', `${FIXTURE}:make_gated`, '--input-shape', '2,8', '--method', 'script', '--dynamic-batch', '-o', model]);
  assert.equal(r.code, 0, r.stderr);
  // Blocks of small and large inputs, so that the If's condition (mean of relu(pre(x)) over the
  // batch > 0.3) goes both ways: calibration runs in batches of 8, the agreement in batches of 16.
  const random = rng(9);
  const data = (n, block) => Float32Array.from({ length: n * 8 }, (_, i) => random() * (Math.floor(i / 8 / block) % 2 ? 3 : 0.3));
  calib = join(dir, 'calib.npz');
  await writeNpz(calib, [['x', { datatype: 'FP32', shape: [64, 8], data: data(64, 8) }]]);
  evalData = join(dir, 'eval.npz');
  await writeNpz(evalData, [['x', { datatype: 'FP32', shape: [32, 8], data: data(32, 16) }]]);
});
after(() => dir && rm(dir, { recursive: true, force: true }));

/** The If's condition for each batch of `size`: mean(relu(x W^T + b)) > 0.3, with the model's own weights. */
async function branches(path, size) {
  const m = await loadModel(model);
  const w = m.graph.initializers.get('pre.weight').data();
  const b = m.graph.initializers.get('pre.bias').data();
  const x = (await readNpz(path)).get('x').data;
  const out = [];
  for (let start = 0; start < x.length / 8; start += size) {
    let sum = 0;
    for (let r = start; r < start + size; r++) {
      for (let o = 0; o < 16; o++) {
        let v = b[o];
        for (let k = 0; k < 8; k++) v += x[r * 8 + k] * w[o * 8 + k];
        sum += Math.max(0, v);
      }
    }
    out.push(sum / (size * 16) > 0.3);
  }
  return out;
}

test('the exported model has an If and a Loop, with Gemms inside both and after them; the data takes both branches', { skip }, async () => {
  const m = await loadModel(model);
  const ops = m.graph.nodes.map((n) => n.opType);
  assert.ok(ops.includes('If') && ops.includes('Loop'), ops.join(' '));
  const inside = [...m.graph.walk()].filter((n) => n.opType === 'Gemm').length - m.graph.nodes.filter((n) => n.opType === 'Gemm').length;
  assert.equal(inside, 3);
  assert.deepEqual(new Set(await branches(calib, 8)), new Set([true, false]));
  assert.deepEqual(new Set(await branches(evalData, 16)), new Set([true, false]));
});

async function loads(path) {
  await (await ort.InferenceSession.create(path)).release();
}

test('static int8: the main graph quantized (the Gemm after the Loop too), the Gemms inside If and Loop float with the reason', { skip }, async () => {
  const out = join(dir, 'gated.int8.onnx');
  const r = await quantizeFile(model, out, { mode: 'int8-static', calibrationData: calib, evalData, benchSeconds: 0 });
  await loads(out);
  assert.equal(r.static.nodes.Gemm, 2, JSON.stringify(r.static));
  assert.ok(!r.static.skipped.some((s) => /not float32/.test(s.reason)), JSON.stringify(r.static.skipped));
  const inside = r.static.skipped.filter((s) => /^inside (If|Loop) ".*" \((then_branch|else_branch|body)\): static int8 calibrates the main graph's values only/.test(s.reason));
  assert.equal(inside.length, 3, JSON.stringify(r.static.skipped));
  assert.equal(r.fusion.ops.QGemm, 2, JSON.stringify(r.fusion.ops));
  assert.ok(r.agreement.pooledCosine >= 0.99 && r.agreement.meanCosine >= 0.99, JSON.stringify(r.agreement));
  assert.match(quantizeText(r), /left float +Gemm ".*" \(inside If/);
});

test('dynamic int8: every Gemm quantized, inside the branches and the loop body too', { skip }, async () => {
  const out = join(dir, 'gated.dyn.onnx');
  const r = await quantizeFile(model, out, { mode: 'int8-dynamic', evalData, benchSeconds: 0 });
  await loads(out);
  assert.deepEqual(r.dynamic.nodes, { Gemm: 5 });
  assert.deepEqual(r.dynamic.skipped, []);
  assert.equal(r.fusion.ops.DynamicQuantizeMatMul, 5, JSON.stringify(r.fusion.ops));
  assert.equal(r.fusion.floatHeavyOps, 0);
  assert.ok(r.agreement.minCosine >= 0.99, JSON.stringify(r.agreement));
});

test('float16: the main graph in float16 (the Gemm after the Loop too), If and Loop kept float32 with the reason', { skip }, async () => {
  const out = join(dir, 'gated.fp16.onnx');
  const r = await quantizeFile(model, out, { mode: 'fp16', evalData, benchSeconds: 0 });
  await loads(out);
  assert.deepEqual(r.fp16.blockedOps, { If: 1, Loop: 1 });
  const g = (await loadModel(out)).graph;
  assert.equal(g.initializers.get('post.weight').dataType, DataType.FLOAT16, 'the Gemm after the Loop runs in float16');
  assert.equal(g.initializers.get('up.weight').dataType, DataType.FLOAT, 'the If branch reads float32');
  assert.ok(r.agreement.minCosine >= 0.999, JSON.stringify(r.agreement));
  assert.match(quantizeText(r), /kept fp32 +If 1, Loop 1 \(control flow: their subgraphs run in float32/);
});

test('the CLI: --int8 --calibrate on the If/Loop model writes the model and exits 0', { skip }, async () => {
  const r = await ferry(['quantize', model, join(dir, 'cli.int8.onnx'), '--int8', '--calibrate', calib, '--bench-seconds', '0', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).static.nodes.Gemm, 2);
});
