// The graph IR: the producer/consumer index through edits, subgraph captures, topological sort and
// its cycle error, replaceAllUses / renameValue / replaceNode, unique names, clones, attributes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  Graph, Node, Model, ValueInfo, Tensor, DataType, attr, loadModel, encodeModel, decodeModel, saveModel,
} from '../../dist/onnx/index.js';
import { ONNX_FIXTURES, tempDir, runOrt, tensor, assertSameOutputs } from './helpers.mjs';

const names = (nodes) => nodes.map((n) => n.name).sort();

/** x -> a(Relu) -> r -> b(Neg) -> n -> c(Add r, n) -> y */
function chain() {
  return new Graph({
    name: 'chain',
    inputs: [ValueInfo.tensor('x', DataType.FLOAT, ['batch', 4])],
    outputs: [ValueInfo.tensor('y', DataType.FLOAT, ['batch', 4])],
    nodes: [
      { opType: 'Relu', name: 'a', inputs: ['x'], outputs: ['r'] },
      { opType: 'Neg', name: 'b', inputs: ['r'], outputs: ['n'] },
      { opType: 'Add', name: 'c', inputs: ['r', 'n'], outputs: ['y'] },
    ],
  });
}

test('producer and consumers follow node edits', () => {
  const g = chain();
  const [a, b, c] = g.nodes;
  assert.equal(g.producer('r'), a);
  assert.equal(g.producer('x'), undefined, 'graph inputs have no producer node');
  assert.deepEqual(names(g.consumers('r')), ['b', 'c']);
  c.setInput(0, 'x');
  assert.deepEqual(names(g.consumers('r')), ['b']);
  assert.deepEqual(names(g.consumers('x')), ['a', 'c']);
  b.setOutput(0, 'n2');
  assert.equal(g.producer('n'), undefined);
  assert.equal(g.producer('n2'), b);
  g.removeNode(b);
  assert.equal(b.graph, undefined);
  assert.equal(g.producer('n2'), undefined);
  assert.deepEqual(names(g.consumers('r')), []);
  assert.deepEqual(g.nodes.map((n) => n.name), ['a', 'c']);
  assert.ok(g.isUsed('y') && !g.isUsed('r'));
});

test('nodes is a snapshot: removing while iterating is safe', () => {
  const g = chain();
  for (const n of g.nodes) if (n.opType !== 'Add') g.removeNode(n);
  assert.deepEqual(g.nodes.map((n) => n.name), ['c']);
  const snapshot = g.nodes;
  g.addNode({ opType: 'Relu', name: 'd', inputs: ['y'], outputs: ['z'] });
  assert.equal(snapshot.length, 1, 'an earlier snapshot does not change');
  assert.equal(g.nodes.length, 2);
});

test('addNode positions, and a node belongs to one graph', () => {
  const g = chain();
  const [a, b] = g.nodes;
  g.addNode({ opType: 'Identity', name: 'first', inputs: ['x'], outputs: ['x2'] }, { before: a });
  g.addNode({ opType: 'Identity', name: 'mid', inputs: ['r'], outputs: ['r2'] }, { after: a });
  assert.deepEqual(g.nodes.map((n) => n.name), ['first', 'a', 'mid', 'b', 'c']);
  assert.throws(() => chain().addNode(b), /already in graph "chain"/);
  assert.throws(() => g.addNode({ opType: 'Relu' }, { before: chain().nodes[0] }), /not a node of graph/);
});

test('topologicalSort is stable and names the nodes and values of a cycle', () => {
  const g = new Graph({
    name: 'g',
    nodes: [
      { opType: 'Add', name: 'late', inputs: ['p', 'q'], outputs: ['y'] },
      { opType: 'Relu', name: 'p1', inputs: ['x'], outputs: ['p'] },
      { opType: 'Relu', name: 'free', inputs: ['x'], outputs: ['f'] },
      { opType: 'Neg', name: 'q1', inputs: ['x'], outputs: ['q'] },
    ],
  });
  g.topologicalSort();
  assert.deepEqual(g.nodes.map((n) => n.name), ['p1', 'free', 'q1', 'late'], 'ready nodes keep their order');
  g.topologicalSort();
  assert.deepEqual(g.nodes.map((n) => n.name), ['p1', 'free', 'q1', 'late'], 'a sorted graph is left as it is');

  const cyc = new Graph({
    name: 'loopy',
    nodes: [
      { opType: 'Relu', name: 'ok', inputs: ['x'], outputs: ['o'] },
      { opType: 'Add', name: 'a', inputs: ['o', 'c'], outputs: ['b_in'] },
      { opType: 'Mul', name: 'b', inputs: ['b_in'], outputs: ['c'] },
    ],
  });
  assert.throws(() => cyc.topologicalSort(), (e) => {
    assert.equal(e.code, 'ONNX_GRAPH_CYCLE');
    assert.match(e.message, /graph "loopy" has a cycle: /);
    assert.ok(e.message.includes('Add "a" -(b_in)-> Mul "b" -(c)-> Add "a"') || e.message.includes('Mul "b" -(c)-> Add "a" -(b_in)-> Mul "b"'), e.message);
    return true;
  });
  const self = new Graph({ name: 's', nodes: [{ opType: 'Add', name: 'me', inputs: ['x', 'm'], outputs: ['m'] }] });
  assert.throws(() => self.topologicalSort(), /Add "me" -\(m\)-> Add "me"/);
});

test('topologicalSort on a 20k-node shuffled chain is fast', () => {
  const n = 20_000;
  const nodes = Array.from({ length: n }, (_, i) => ({ opType: 'Relu', name: `n${i}`, inputs: [i ? `v${i - 1}` : 'x'], outputs: [`v${i}`] }));
  for (let i = n - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [nodes[i], nodes[j]] = [nodes[j], nodes[i]];
  }
  const t0 = performance.now();
  const g = new Graph({ nodes });
  g.topologicalSort();
  const ms = performance.now() - t0;
  assert.deepEqual(g.nodes.slice(0, 3).map((x) => x.name), ['n0', 'n1', 'n2']);
  assert.ok(ms < 2000, `${ms} ms`);
});

test('replaceAllUses rewires node inputs but not graph outputs; renameValue renames everywhere', () => {
  const g = chain();
  assert.equal(g.replaceAllUses('r', 'x'), 2);
  assert.deepEqual(g.nodes.map((n) => n.inputs), [['x'], ['x'], ['x', 'n']]);
  assert.deepEqual(g.consumers('r'), []);

  const h = chain();
  h.renameValue('y', 'out');
  assert.equal(h.outputs[0].name, 'out');
  assert.equal(h.producer('out').name, 'c');
  h.renameValue('x', 'input');
  assert.equal(h.inputs[0].name, 'input');
  assert.deepEqual(h.nodes[0].inputs, ['input']);
  h.addInitializer(Tensor.fromArray({ name: 'w', dims: [1], data: new Float32Array(1) }));
  h.renameValue('w', 'w2');
  assert.deepEqual([...h.initializers.keys()], ['w2']);
  assert.equal(h.initializers.get('w2').name, 'w2');
  assert.throws(() => h.renameValue('r', 'n'), /already defined/);
});

test('replaceNode puts the new nodes in place; consumers read them without rewiring', () => {
  const g = chain();
  const b = g.nodes[1];
  const added = g.replaceNode(b, [
    { opType: 'Mul', name: 'b1', inputs: ['r', 'r'], outputs: ['sq'] },
    { opType: 'Neg', name: 'b2', inputs: ['sq'], outputs: ['n'] },
  ]);
  assert.deepEqual(g.nodes.map((n) => n.name), ['a', 'b1', 'b2', 'c']);
  assert.equal(g.producer('n'), added[1]);
  assert.deepEqual(names(g.consumers('r')), ['b1', 'c'], 'Mul(r, r) counts once');
  assert.equal(b.graph, undefined);
});

test('uniqueName avoids every name in the graph tree and never repeats', async () => {
  const model = await loadModel(join(ONNX_FIXTURES, 'control-flow.onnx'));
  const g = model.graph;
  assert.equal(g.uniqueName('fresh'), 'fresh');
  assert.equal(g.uniqueName('fresh'), 'fresh_1');
  assert.equal(g.uniqueName('then_y'), 'then_y_1', 'names inside subgraphs are taken');
  const body = g.nodes.find((n) => n.opType === 'Loop').getGraph('body');
  assert.equal(body.uniqueName('w'), 'w_1', 'a subgraph avoids enclosing names too');
  g.addNode({ opType: 'Identity', inputs: ['x'], outputs: ['added_1'] });
  assert.equal(g.uniqueName('added'), 'added', 'base itself when free');
  assert.equal(g.uniqueName('added'), 'added_2', 'names added later are seen');
});

test('subgraph captures count as uses; replaceAllUses reaches into subgraphs', async () => {
  const model = await loadModel(join(ONNX_FIXTURES, 'control-flow.onnx'));
  const g = model.graph;
  const [branch, loop] = g.nodes;
  assert.deepEqual([...branch.implicitInputs].sort(), ['w', 'x']);
  assert.deepEqual(loop.implicitInputs, ['w']);
  assert.deepEqual(names(g.consumers('w')), ['branch', 'loop'], 'w is read only inside subgraphs');
  assert.deepEqual(names(g.consumers('x')), ['branch', 'loop']);

  // Replace w by a new initializer everywhere: the outputs change accordingly in onnxruntime.
  g.addInitializer(Tensor.fromArray({ name: 'w_new', dims: [2], data: new Float32Array([1, 2]) }));
  assert.equal(g.replaceAllUses('w', 'w_new'), 3, 'then-branch Add, else-branch Sub, Loop body Add');
  assert.deepEqual(g.consumers('w'), []);
  assert.deepEqual(names(g.consumers('w_new')), ['branch', 'loop']);
  g.removeInitializer('w');
  const feeds = { x: tensor('float32', new Float32Array([1, 1]), [2]), c: tensor('bool', new Uint8Array([1]), []) };
  const out = await runOrt(encodeModel(model), feeds);
  assert.deepEqual(out.y.data, [2, 3], 'then branch: x + w_new');
  assert.deepEqual(out.acc.data, [4, 7], 'loop: x + 3 * w_new');

  // A subgraph edit updates the enclosing graph's index.
  const body = loop.getGraph('body');
  const add = body.nodes.find((n) => n.opType === 'Add');
  add.setInput(1, 'x');
  assert.deepEqual(names(g.consumers('w_new')), ['branch']);
  assert.deepEqual(names(g.consumers('x')), ['branch', 'loop']);
  assert.equal(body.owner, loop);
});

test('a graph belongs to one node; clone() copies deeply and shares tensors', async () => {
  const model = await loadModel(join(ONNX_FIXTURES, 'control-flow.onnx'));
  const [branch] = model.graph.nodes;
  const thenG = branch.getGraph('then_branch');
  assert.throws(() => new Node({ opType: 'If', attributes: { then_branch: attr.graph(thenG) } }), /already belongs to If "branch"/);
  assert.throws(() => branch.setAttribute('else_branch', attr.graph(thenG)), /already belongs/);

  const copy = model.clone();
  const [cb] = copy.graph.nodes;
  assert.notEqual(cb, branch);
  assert.notEqual(cb.getGraph('then_branch'), thenG);
  assert.equal(cb.getGraph('then_branch').owner, cb);
  assert.equal(copy.graph.initializers.get('w'), model.graph.initializers.get('w'), 'tensors are shared');
  cb.getGraph('then_branch').nodes[0].opType = 'Mul';
  assert.equal(thenG.nodes[0].opType, 'Add', 'the original is untouched');
  assert.ok(Buffer.from(encodeModel(model.clone())).equals(Buffer.from(encodeModel(model))));
});

test('attributes: typed getters, defaults, exact int64, strings that are not UTF-8', () => {
  const n = new Node({
    opType: 'Slice',
    attributes: {
      axis: attr.int(-1), ends: attr.ints([0, 2n ** 63n - 1n]), alpha: attr.float(0.5), mode: attr.string('constant'),
      blob: attr.string(new Uint8Array([0xff, 0xfe, 0x00])), names: attr.strings(['a', 'b']),
    },
  });
  assert.equal(n.getInt('axis'), -1);
  assert.equal(n.getInt('missing', 7), 7);
  assert.equal(n.getBigInt('axis'), -1n);
  assert.deepEqual(n.getInts('ends'), [0, 2 ** 63]);
  assert.equal(n.getFloat('alpha'), 0.5);
  assert.equal(n.getString('mode'), 'constant');
  assert.deepEqual(n.getStrings('names'), ['a', 'b']);
  assert.throws(() => n.getInt('alpha'), (e) => e.code === 'ONNX_INVALID' && /attribute "alpha" is a float, expected int/.test(e.message));
  assert.throws(() => n.getFloat('nope'), (e) => e.code === 'ONNX_INVALID' && /attribute "nope" is missing/.test(e.message));
  assert.throws(() => attr.int(1.5), RangeError);

  const model = new Model({ graph: new Graph({ name: 'g', nodes: [n] }) });
  const back = decodeModel(encodeModel(model)).graph.nodes[0];
  assert.deepEqual(back.attribute('ends').value, [0n, 2n ** 63n - 1n], 'INT64_MAX survives exactly');
  assert.ok(back.attribute('blob').value instanceof Uint8Array, 'non-UTF-8 bytes are kept as bytes');
  assert.deepEqual([...back.attribute('blob').value], [0xff, 0xfe, 0x00]);
  assert.equal(back.attribute('mode').value, 'constant');
  assert.deepEqual([...back.attributes.keys()], ['axis', 'ends', 'alpha', 'mode', 'blob', 'names'], 'attribute order is kept');
  back.removeAttribute('blob');
  assert.equal(back.attribute('blob'), undefined);
  assert.equal(String(back), 'Slice -> (no outputs)');
});

test('functions, metadata, doc strings, value_info and sparse initializers survive a save', async (t) => {
  const dir = tempDir(t);
  const model = await loadModel(join(ONNX_FIXTURES, 'function.onnx'));
  assert.equal(model.irVersion, 8);
  assert.equal(model.opset(), 15);
  assert.equal(model.opset('com.ferry'), 1);
  assert.equal(model.modelVersion, 3);
  assert.deepEqual(Object.fromEntries(model.metadata), { author: 'ferry', license: 'MIT' });
  assert.equal(model.docString, 'a model doc string');
  assert.equal(model.graph.docString, 'a graph doc string');
  const [fn] = model.functions;
  assert.deepEqual([fn.domain, fn.name, fn.inputs, fn.outputs, fn.docString], ['com.ferry', 'AddMul', ['a', 'b'], ['c'], '(a + b) * b']);
  assert.deepEqual(fn.body.nodes.map((n) => n.opType), ['Add', 'Mul']);
  const call = model.graph.nodes[0];
  assert.equal(model.findFunction(call.domain, call.opType), fn);
  assert.equal(call.docString, 'calls the function');
  assert.equal(model.graph.valueInfo.get('z').shape[0], 4);
  const [sparse] = model.graph.sparseInitializers;
  assert.deepEqual([sparse.values.name, [...sparse.values.numbers()], [...sparse.indices.numbers()], sparse.dims], ['s', [3, -1], [1, 3], [4]]);
  assert.deepEqual(model.graph.consumers('s').map((n) => n.name), ['call']);
  assert.equal(model.graph.nodes[2].getString('value_string'), 'a string attribute');

  const path = join(dir, 'f.onnx');
  await saveModel(model, path);
  const back = await loadModel(path);
  assert.equal(back.functions[0].body.nodes.length, 2);
  assert.deepEqual(Object.fromEntries(back.metadata), { author: 'ferry', license: 'MIT' });
  const feeds = { x: tensor('float32', new Float32Array([1, 2, 3, 4]), [4]) };
  assertSameOutputs(await runOrt(path, feeds), await runOrt(join(ONNX_FIXTURES, 'function.onnx'), feeds), 'function model');
});

test('typeOf finds declared types and initializer types', async () => {
  const model = await loadModel(join(ONNX_FIXTURES, 'control-flow.onnx'));
  assert.equal(String(model.graph.typeOf('x')), 'x: FLOAT[2]');
  assert.equal(String(model.graph.typeOf('trip')), 'trip: INT64[]');
  assert.equal(model.graph.typeOf('nothing'), undefined);
});

test('walk() visits subgraph nodes; names of a subgraph attached later are reserved; renames keep order', async () => {
  const model = await loadModel(join(ONNX_FIXTURES, 'control-flow.onnx'));
  const g = model.graph;
  assert.deepEqual([...g.walk()].map((n) => n.opType), ['If', 'Sub', 'Add', 'Loop', 'Identity', 'Add'], 'attribute (file) order: else_branch, then_branch');
  assert.deepEqual([...model.tensors()].map(({ tensor, kind }) => `${kind}:${tensor.name}`), ['initializer:w', 'initializer:trip']);
  g.uniqueName('start'); // start tracking names
  const sub = new Graph({ name: 'extra', nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['inner_value'] }], outputs: [ValueInfo.tensor('inner_value', DataType.FLOAT)] });
  g.addNode({ opType: 'If', inputs: ['c'], outputs: ['z'], attributes: { then_branch: attr.graph(sub), else_branch: attr.graph(sub.clone()) } });
  assert.equal(g.uniqueName('inner_value'), 'inner_value_1');
  g.renameValue('w', 'weights');
  assert.deepEqual([...g.initializers.keys()], ['weights', 'trip'], 'a renamed initializer keeps its place');
  assert.deepEqual(names(g.consumers('weights')), ['branch', 'loop']);
});
