// Shape inference against ONNX Runtime: every value of real models is made a graph output and
// computed; each dim, element type and propagated value that inference claims to know must be
// what the runtime produced. Plus small cases of the rules the passes lean on.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, Graph, Model, Tensor, ValueInfo, attr, loadModel } from '../../dist/onnx/index.js';
import { inferShapes } from '../../dist/onnx/shape-inference.js';
import { fixInputShapes } from '../../dist/onnx/simplify.js';
import { FASHION, OCR, exportUnfolded, feedsFor, run } from './simplify-fixtures.mjs';

const dir = mkdtempSync(join(tmpdir(), 'ferry-shapes-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const exported = exportUnfolded(dir, ['resnet18', 'shape_chain']);

const ORT_TYPES = { float32: DataType.FLOAT, int64: DataType.INT64, int32: DataType.INT32, bool: DataType.BOOL, float64: DataType.DOUBLE, uint8: DataType.UINT8 };

/** Checks every claimed fact of `model`'s values against a run; returns how many dims and values were checked. */
async function checkAgainstRuntime(model, shapes) {
  const facts = inferShapes(model.graph);
  const feeds = feedsFor(model, shapes);
  const probe = model.clone();
  const names = [...new Set(probe.graph.nodes.flatMap((n) => n.outputs.filter(Boolean)))].filter((v) => !probe.graph.isOutput(v));
  probe.graph.outputs = [...probe.graph.outputs, ...names.map((name) => new ValueInfo({ name }))];
  const out = await run(probe, feeds);
  let dims = 0;
  let values = 0;
  for (const [name, t] of Object.entries(out)) {
    const f = facts.get(name);
    if (!f) continue;
    if (f.elemType !== undefined && ORT_TYPES[t.type] !== undefined) assert.equal(f.elemType, ORT_TYPES[t.type], `${name}: type`);
    if (f.shape) {
      assert.equal(f.shape.length, t.dims.length, `${name}: rank (inferred [${f.shape}], actual [${t.dims}])`);
      f.shape.forEach((d, i) => {
        if (typeof d === 'number') { assert.equal(d, t.dims[i], `${name}: dim ${i} (inferred [${f.shape}], actual [${t.dims}])`); dims++; }
      });
    }
    if (f.value) {
      f.value.forEach((v, i) => {
        if (typeof v === 'number') { assert.equal(v, Number(t.data[i]), `${name}: element ${i} (inferred [${f.value}], actual [${[...t.data]}])`); values++; }
      });
    }
  }
  return { dims, values, total: names.length };
}

const cases = [
  ...Object.entries(OCR).map(([k, m]) => ({ name: `PaddleOCR ${k}`, file: m.file, fix: { x: m.shape } })),
  { name: 'examples/fashion', file: FASHION, fix: { input: [2, 1, 28, 28] } },
  ...(exported.resnet18 ? [{ name: 'resnet18', file: exported.resnet18, fix: { input: [1, 3, 224, 224] } }] : []),
  ...(exported.shape_chain ? [
    { name: 'shape_chain, batch fixed', file: exported.shape_chain, fix: { input: [2, 3, 16, 16] } },
    { name: 'shape_chain, batch symbolic', file: exported.shape_chain, shapes: { input: [3, 3, 16, 16] } },
  ] : []),
];

for (const c of cases) {
  test(`${c.name}: inferred shapes and values match ONNX Runtime`, async () => {
    const model = await loadModel(c.file);
    if (c.fix) fixInputShapes(model, Object.entries(c.fix).map(([name, shape]) => ({ name, shape })));
    const { dims, total } = await checkAgainstRuntime(model, c.fix ?? c.shapes);
    assert.ok(dims >= total / 2, `only ${dims} dims known for ${total} values: inference knows too little to be tested here`);
  });
}

const model = (nodes, inputs, initializers = []) => new Model({ graph: new Graph({ inputs, nodes, initializers, outputs: [] }), opsetImports: new Map([['', 13]]) });
const i64 = (name, values) => Tensor.fromArray({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });

test('symbolic dims: Reshape to [batch, -1] keeps batch and computes the rest; Gather of a static dim is known', () => {
  const m = model([
    { opType: 'Shape', inputs: ['x'], outputs: ['s'] },
    { opType: 'Gather', inputs: ['s', 'zero'], outputs: ['b'], attributes: { axis: attr.int(0) } },
    { opType: 'Gather', inputs: ['s', 'two'], outputs: ['h'], attributes: { axis: attr.int(0) } },
    { opType: 'Unsqueeze', inputs: ['b', 'ax'], outputs: ['ub'] },
    { opType: 'Concat', inputs: ['ub', 'minus1'], outputs: ['target'], attributes: { axis: attr.int(0) } },
    { opType: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] },
  ], [ValueInfo.tensor('x', DataType.FLOAT, ['batch', 3, 7, 5])], [
    Tensor.fromArray({ name: 'zero', dims: [], data: new BigInt64Array([0n]) }), Tensor.fromArray({ name: 'two', dims: [], data: new BigInt64Array([2n]) }),
    i64('ax', [0]), i64('minus1', [-1]),
  ]);
  const f = inferShapes(m.graph);
  assert.deepEqual(f.get('s').value, ['batch', 3, 7, 5]);
  assert.deepEqual(f.get('h').value, [7]);
  assert.deepEqual(f.get('h').shape, []);
  assert.deepEqual(f.get('target').value, ['batch', -1]);
  assert.deepEqual(f.get('y').shape, ['batch', 105]);
});

test('windows: Conv with pads and strides, MaxPool with ceil_mode, ConvTranspose with output_padding', () => {
  const m = model([
    { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attributes: { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) } },
    { opType: 'MaxPool', inputs: ['c'], outputs: ['p'], attributes: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1) } },
    { opType: 'ConvTranspose', inputs: ['p', 'wt'], outputs: ['t'], attributes: { strides: attr.ints([2, 2]), output_padding: attr.ints([1, 1]) } },
  ], [ValueInfo.tensor('x', DataType.FLOAT, [1, 3, 17, 16])], [
    Tensor.fromArray({ name: 'w', dims: [8, 3, 3, 3], data: new Float32Array(216) }),
    Tensor.fromArray({ name: 'wt', dims: [8, 2, 3, 3], data: new Float32Array(144) }),
  ]);
  const f = inferShapes(m.graph);
  assert.deepEqual(f.get('c').shape, [1, 8, 9, 8]);
  assert.deepEqual(f.get('p').shape, [1, 8, 4, 4]);
  assert.deepEqual(f.get('t').shape, [1, 2, 10, 10]);
});
