// `ferry check` rejects broken models, each with a message naming the node (or graph, tensor) at fault
// and what is wrong; the CLI exits 1 on them. Every model is built with the IR (no Python), written to
// a file, and checked both in process and through the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Graph, Model, ValueInfo, Tensor, DataType, FunctionDef, attr, saveModel,
} from '../../dist/onnx/index.js';
import { tensorFromStorage } from '../../dist/onnx/ir/tensor.js';
import { checkModel, checkModelFile, assertModelValid, KNOWN_IR_VERSION } from '../../dist/onnx/check/index.js';
import { ONNX_FIXTURES, tempDir } from './helpers.mjs';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function ferry(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

const F = DataType.FLOAT;
const x4 = () => ValueInfo.tensor('x', F, [1, 3, 8, 8]);
const weight = (name = 'w', dims = [4, 3, 3, 3]) => Tensor.fromArray({ name, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });

/** A model around `nodes`: input x FLOAT[1,3,8,8], output y FLOAT (shape unknown to the checker's eyes). */
function model(nodes, { inputs = [x4()], outputs = [ValueInfo.tensor('y', F, [])], initializers = [], opset = 17, imports, functions, irVersion = 8 } = {}) {
  const graph = new Graph({ name: 'broken', inputs, outputs, initializers, nodes });
  return new Model({ graph, irVersion, opsetImports: imports ?? new Map([['', opset]]), functions });
}

/**
 * Checks a model in process and through the CLI: the in-process report must hold an error of
 * `rule` at `where` whose message matches every pattern; the CLI must print it and exit 1.
 */
async function rejects(t, m, { rule, where, message }) {
  const report = checkModel(m);
  assert.equal(report.ok, false, 'the model is rejected');
  const hit = report.errors.find((e) => e.rule === rule && e.where === where && message.every((re) => re.test(e.message)));
  assert.ok(hit, `expected a ${rule} error at ${where} matching ${message.join(' and ')}; got:\n${report.errors.map((e) => `  ${e.rule} | ${e.where} | ${e.message}`).join('\n')}`);
  const file = join(tempDir(t, 'ferry-check-'), 'model.onnx');
  await saveModel(m, file);
  const { code, stdout, stderr } = await ferry('check', file);
  assert.equal(code, 1, `the CLI exits 1:\n${stdout}\n${stderr}`);
  assert.ok(stdout.includes(`error    ${hit.where}: ${hit.message}`), `the CLI prints the error:\n${stdout}\n${stderr}`);
  assert.match(stdout.trimEnd().split('\n').at(-1), /^\d+ errors?$/, 'the last line counts the errors');
  return report;
}

test('an input used before the node that produces it (nodes out of topological order)', async (t) => {
  await rejects(t, model([
    { opType: 'Relu', name: 'first', inputs: ['t'], outputs: ['y'] },
    { opType: 'Neg', name: 'second', inputs: ['x'], outputs: ['t'] },
  ]), { rule: 'topological-order', where: 'Relu "first"', message: [/input 0 "t" is used before it is produced/, /Neg "second"/] });
});

test('an input nothing defines', async (t) => {
  await rejects(t, model([{ opType: 'Add', inputs: ['x', 'ghost'], outputs: ['y'] }]), {
    rule: 'topological-order', where: 'Add #0', message: [/input 1 "ghost" is not defined/],
  });
});

test('a value produced twice (not SSA): by two nodes, and by a node and a graph input', async (t) => {
  await rejects(t, model([
    { opType: 'Relu', name: 'a', inputs: ['x'], outputs: ['t'] },
    { opType: 'Neg', name: 'b', inputs: ['x'], outputs: ['t'] },
    { opType: 'Identity', name: 'c', inputs: ['t'], outputs: ['y'] },
  ]), { rule: 'ssa', where: 'Neg "b"', message: [/output 0 "t" is already produced by Relu "a"/, /SSA/] });
  await rejects(t, model([{ opType: 'Relu', name: 'r', inputs: ['x'], outputs: ['x'] }, { opType: 'Identity', inputs: ['x'], outputs: ['y'] }]), {
    rule: 'ssa', where: 'Relu "r"', message: [/output 0 "x" is already a graph input/],
  });
});

test('an operator ONNX does not have, and one newer than the imported opset', async (t) => {
  await rejects(t, model([{ opType: 'Frobnicate', name: 'f', inputs: ['x'], outputs: ['y'] }]), {
    rule: 'unknown-op', where: 'Frobnicate "f"', message: [/ai\.onnx has no operator Frobnicate/],
  });
  await rejects(t, model([{ opType: 'relu', name: 'lower', inputs: ['x'], outputs: ['y'] }]), {
    rule: 'unknown-op', where: 'relu "lower"', message: [/did you mean Relu\?/],
  });
  await rejects(t, model([{ opType: 'Gelu', name: 'gelu', inputs: ['x'], outputs: ['y'] }], { opset: 17 }), {
    rule: 'unknown-op', where: 'Gelu "gelu"', message: [/Gelu is not in ai\.onnx opset 17: it was added in opset 20/],
  });
  assert.equal(checkModel(model([{ opType: 'Gelu', name: 'gelu', inputs: ['x'], outputs: ['y'] }], { opset: 20 })).ok, true, 'Gelu is fine in opset 20');
});

test('a deprecated operator (Upsample in opset 10)', async (t) => {
  const scales = Tensor.fromArray({ name: 'scales', dims: [4], data: new Float32Array([1, 1, 2, 2]) });
  await rejects(t, model([{ opType: 'Upsample', name: 'up', inputs: ['x', 'scales'], outputs: ['y'] }], { opset: 10, initializers: [scales] }), {
    rule: 'deprecated-op', where: 'Upsample "up"', message: [/deprecated in ai\.onnx opset 10/, /use Resize/],
  });
});

test('too many and too few inputs, a required input left empty, too many outputs', async (t) => {
  await rejects(t, model([{ opType: 'Relu', name: 'r', inputs: ['x', 'x'], outputs: ['y'] }]), {
    rule: 'arity', where: 'Relu "r"', message: [/^2 inputs, but Relu-14 takes 1 \(X\)$/],
  });
  await rejects(t, model([{ opType: 'Conv', name: 'conv', inputs: ['x'], outputs: ['y'] }]), {
    rule: 'arity', where: 'Conv "conv"', message: [/^1 input, but Conv-11 takes 2 to 3 \(X, W, B optional\)$/],
  });
  await rejects(t, model([{ opType: 'Conv', name: 'conv', inputs: ['x', ''], outputs: ['y'] }]), {
    rule: 'arity', where: 'Conv "conv"', message: [/input 1 \(W\) is required, but the node leaves it empty/],
  });
  await rejects(t, model([{ opType: 'Relu', name: 'r', inputs: ['x'], outputs: ['y', 'z'] }]), {
    rule: 'arity', where: 'Relu "r"', message: [/^2 outputs, but Relu-14 takes 1/],
  });
});

test('an unknown attribute, a missing required attribute, an attribute of the wrong type', async (t) => {
  await rejects(t, model([{ opType: 'Relu', name: 'r', inputs: ['x'], outputs: ['y'], attributes: { alpha: attr.float(0.1) } }]), {
    rule: 'attribute', where: 'Relu "r"', message: [/unknown attribute "alpha": Relu-14 takes no attributes/],
  });
  await rejects(t, model([{ opType: 'Cast', name: 'cast', inputs: ['x'], outputs: ['y'] }]), {
    rule: 'attribute', where: 'Cast "cast"', message: [/required attribute "to" \(int\) is missing/],
  });
  await rejects(t, model([{ opType: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['y'], attributes: { strides: attr.int(2) } }], { initializers: [weight()] }), {
    rule: 'attribute', where: 'Conv "conv"', message: [/attribute "strides" has type int, but Conv-11 takes ints/],
  });
  await rejects(t, model([{ opType: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['y'], attributes: { pad: attr.ints([1, 1]) } }], { initializers: [weight()] }), {
    rule: 'attribute', where: 'Conv "conv"', message: [/unknown attribute "pad" \(did you mean "pads"\?\): Conv-11 takes auto_pad, dilations/],
  });
});

test('an initializer whose data does not match its dims', async (t) => {
  const short = tensorFromStorage({ name: 'w', dims: [4, 3, 3, 3] }, DataType.FLOAT, { kind: 'raw', bytes: new Uint8Array(100) });
  await rejects(t, model([{ opType: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['y'] }], { initializers: [short] }), {
    rule: 'tensor', where: 'initializer "w"', message: [/^FLOAT\[4,3,3,3\] needs 432 bytes of data; its raw_data holds 100$/],
  });
});

test('an initializer that disagrees with the graph input of its name', async (t) => {
  const m = model([{ opType: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['y'] }], {
    inputs: [x4(), ValueInfo.tensor('w', F, [4, 3, 5, 5])], initializers: [weight()],
  });
  await rejects(t, m, { rule: 'initializer', where: 'initializer "w"', message: [/dims \[4,3,3,3\], but graph input "w" declares shape \[4,3,5,5\]/] });
});

test('type constraint violations: Conv on int32, Add of float and int64, an output declared the wrong type', async (t) => {
  const xi = ValueInfo.tensor('x', DataType.INT32, [1, 3, 8, 8]);
  const wi = Tensor.fromArray({ name: 'w', dims: [4, 3, 3, 3], data: new Int32Array(108) });
  await rejects(t, model([{ opType: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['y'] }], { inputs: [xi], initializers: [wi] }), {
    rule: 'type', where: 'Conv "conv"', message: [/input 0 "x" \(X\) is tensor\(int32\), but Conv-11 takes T: tensor\(double\), tensor\(float\), tensor\(float16\)/],
  });
  const n = Tensor.fromArray({ name: 'n', dims: [], data: new BigInt64Array([2n]) });
  await rejects(t, model([{ opType: 'Add', name: 'add', inputs: ['x', 'n'], outputs: ['y'] }], { initializers: [n] }), {
    rule: 'type', where: 'Add "add"', message: [/input 1 "n" \(B\) is tensor\(int64\), but input "x" is tensor\(float\): Add-14 needs one type for T/],
  });
  // propagated: Shape's output is int64 (a literal type), Relu's T binds to it, the graph output says float
  await rejects(t, model([
    { opType: 'Shape', name: 'shape', inputs: ['x'], outputs: ['s'] },
    { opType: 'Neg', name: 'neg', inputs: ['s'], outputs: ['y'] },
  ]), { rule: 'type', where: 'Neg "neg"', message: [/output 0 "y" \(Y\) is tensor\(float\), but input "s" is tensor\(int64\)/] });
  await rejects(t, model([{ opType: 'Cast', name: 'cast', inputs: ['x'], outputs: ['y'], attributes: { to: attr.int(DataType.INT64) } }]), {
    rule: 'type', where: 'Cast "cast"', message: [/output 0 "y" is declared tensor\(float\), but the node makes tensor\(int64\)/],
  });
});

test('a domain the model does not import', async (t) => {
  await rejects(t, model([{ opType: 'Fused', domain: 'com.acme', name: 'fused', inputs: ['x'], outputs: ['y'] }]), {
    rule: 'opset-import', where: 'com.acme.Fused "fused"', message: [/domain "com\.acme" is not in the model's opset_import; used by 1 node: com\.acme\.Fused "fused"/],
  });
  const none = model([{ opType: 'Relu', name: 'r', inputs: ['x'], outputs: ['y'] }], { imports: new Map() });
  const report = await rejects(t, none, { rule: 'opset-import', where: 'model', message: [/opset_import is empty/] });
  assert.ok(report.errors.some((e) => e.rule === 'opset-import' && e.where === 'Relu "r"' && /domain "ai\.onnx"/.test(e.message)));
});

test('a graph output nothing produces', async (t) => {
  await rejects(t, model([{ opType: 'Relu', name: 'r', inputs: ['x'], outputs: ['y'] }], { outputs: [ValueInfo.tensor('y', F, []), ValueInfo.tensor('lost', F, [])] }), {
    rule: 'graph-output', where: 'graph "broken"', message: [/graph output "lost" is not produced by any node, graph input or initializer/],
  });
});

test('a cycle', async (t) => {
  const report = await rejects(t, model([
    { opType: 'Add', name: 'a', inputs: ['x', 'q'], outputs: ['p'] },
    { opType: 'Relu', name: 'b', inputs: ['p'], outputs: ['q'] },
    { opType: 'Identity', name: 'out', inputs: ['q'], outputs: ['y'] },
  ]), { rule: 'cycle', where: 'graph "broken"', message: [/has a cycle/, /Add "a"/, /Relu "b"/] });
  assert.ok(report.errors.some((e) => e.rule === 'topological-order' && e.where === 'Add "a"'), 'the read of q names the node too');
});

/** If(c) with a then branch of `thenNodes` producing `t_out` and an else branch returning x. */
function ifModel(thenNodes, { thenOutputs = [ValueInfo.tensor('t_out', F, [])] } = {}) {
  const thenBranch = new Graph({ name: 'then', outputs: thenOutputs, nodes: thenNodes });
  const elseBranch = new Graph({ name: 'else', outputs: [ValueInfo.tensor('e_out', F, [])], nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['e_out'] }] });
  return model([{ opType: 'If', name: 'branch', inputs: ['c'], outputs: ['y'], attributes: { then_branch: attr.graph(thenBranch), else_branch: attr.graph(elseBranch) } }], {
    inputs: [x4(), ValueInfo.tensor('c', DataType.BOOL, [])],
  });
}

test('a broken subgraph inside If: its nodes are checked with outer-scope names visible', async (t) => {
  assert.equal(checkModel(ifModel([{ opType: 'Relu', inputs: ['x'], outputs: ['t_out'] }])).ok, true, 'reading x from the enclosing graph is fine');
  await rejects(t, ifModel([{ opType: 'Relu', name: 'inner', inputs: ['undefined_here'], outputs: ['t_out'] }]), {
    rule: 'topological-order', where: 'If "branch" > then_branch > Relu "inner"', message: [/input 0 "undefined_here" is not defined/, /enclosing graph/],
  });
  await rejects(t, ifModel([{ opType: 'Relu', inputs: ['x'], outputs: ['t_out'], attributes: { alpha: attr.float(1) } }]), {
    rule: 'attribute', where: 'If "branch" > then_branch > Relu #0', message: [/unknown attribute "alpha"/],
  });
  await rejects(t, ifModel([{ opType: 'Relu', name: 'shadow', inputs: ['x'], outputs: ['c'] }, { opType: 'Identity', inputs: ['c'], outputs: ['t_out'] }]), {
    rule: 'ssa', where: 'If "branch" > then_branch > Relu "shadow"', message: [/output 0 "c" is already a graph input in an enclosing graph/],
  });
  await rejects(t, ifModel([{ opType: 'Relu', inputs: ['x'], outputs: ['t_out'] }, { opType: 'Neg', inputs: ['x'], outputs: ['t2'] }], {
    thenOutputs: [ValueInfo.tensor('t_out', F, []), ValueInfo.tensor('t2', F, [])],
  }), { rule: 'subgraph', where: 'If "branch"', message: [/then_branch has 2 outputs, the If node 1/] });
});

test('a model-local function is a known operator; its body is checked like a graph', async (t) => {
  const body = (nodes) => new Graph({ name: 'AddMul', inputs: [new ValueInfo({ name: 'a' }), new ValueInfo({ name: 'b' })], outputs: [new ValueInfo({ name: 'c' })], nodes });
  const fn = (nodes) => new FunctionDef({ name: 'AddMul', domain: 'com.acme', opsetImports: new Map([['', 17]]), body: body(nodes) });
  const imports = new Map([['', 17], ['com.acme', 1]]);
  const call = [{ opType: 'AddMul', domain: 'com.acme', name: 'call', inputs: ['x', 'x'], outputs: ['y'] }];
  const good = model(call, { imports, functions: [fn([{ opType: 'Add', inputs: ['a', 'b'], outputs: ['t'] }, { opType: 'Mul', inputs: ['t', 'b'], outputs: ['c'] }])] });
  const ok = checkModel(good);
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.nodes, 3, 'the call and the two body nodes');
  assert.deepEqual(ok.warnings, [], 'a function call is no custom op');
  await rejects(t, model(call, { imports, functions: [fn([{ opType: 'Add', inputs: ['a', 'x'], outputs: ['c'] }])] }), {
    rule: 'topological-order', where: 'function com.acme.AddMul > Add #0', message: [/input 1 "x" is not defined: no function input or earlier node output/],
  });
  await rejects(t, model([{ ...call[0], inputs: ['x', 'x', 'x'] }], { imports, functions: [fn([{ opType: 'Add', inputs: ['a', 'b'], outputs: ['c'] }])] }), {
    rule: 'arity', where: 'com.acme.AddMul "call"', message: [/3 inputs, but function com\.acme\.AddMul takes 2/],
  });
});

test('a sparse initializer with an index out of range', async (t) => {
  const values = Tensor.fromArray({ name: 's', dims: [2], data: new Float32Array([1, 2]) });
  const indices = Tensor.fromArray({ name: 's_idx', dims: [2], data: new BigInt64Array([1n, 9n]) });
  const m = model([{ opType: 'Add', name: 'add', inputs: ['x', 's'], outputs: ['y'] }]);
  m.graph.sparseInitializers = [{ values, indices, dims: [4] }];
  await rejects(t, m, { rule: 'sparse-tensor', where: 'sparse initializer "s"', message: [/index 1 is 9, outside \[0, 3\]/] });
});

test('external data: a missing data file is an error', async (t) => {
  const dir = tempDir(t, 'ferry-check-ext-');
  copyFileSync(join(ONNX_FIXTURES, 'external', 'model.onnx'), join(dir, 'model.onnx')); // without model.onnx.data
  const report = await checkModelFile(join(dir, 'model.onnx'));
  assert.equal(report.ok, false);
  assert.match(report.errors[0].message, /external data file "model\.onnx\.data" .* is missing/);
  assert.match(report.errors[0].where, /^initializer "/);
  const { code, stdout } = await ferry('check', dir);
  assert.equal(code, 1);
  assert.match(stdout, /is missing or not a regular file/);
});

test('every problem is reported, not just the first; warnings do not fail a model', () => {
  const m = model([
    { opType: 'Relu', name: 'dup', inputs: ['x'], outputs: ['a'] },
    { opType: 'Frobnicate', name: 'dup', inputs: ['a'], outputs: ['b'] },
    { opType: 'Conv', inputs: ['b'], outputs: ['c'] },
    { opType: 'Custom', domain: 'com.acme', inputs: ['a'], outputs: ['y'] },
  ], { imports: new Map([['', 30], ['com.acme', 1]]), irVersion: KNOWN_IR_VERSION + 1 });
  const report = checkModel(m);
  assert.deepEqual(report.errors.map((e) => `${e.rule} ${e.where}`), ['ir-version model', 'unknown-op Frobnicate "dup"', 'arity Conv #2']);
  assert.match(report.errors[0].message, new RegExp(`ir_version ${KNOWN_IR_VERSION + 1} is newer than the IR this checker knows \\(${KNOWN_IR_VERSION}`));
  assert.deepEqual(report.warnings.map((w) => `${w.rule} ${w.where}`).sort(), [
    'custom-op com.acme.Custom #3', 'node-name Relu "dup"', 'opset-import model',
  ]);
  assert.match(report.warnings.find((w) => w.rule === 'opset-import').message, /ai\.onnx opset 30 is newer than the schema table/);
  const fine = model([{ opType: 'Custom', domain: 'com.acme', inputs: ['x'], outputs: ['y'] }], { imports: new Map([['', 17], ['com.acme', 1]]) });
  assert.equal(checkModel(fine).ok, true, 'a custom-domain op alone is only a warning');
});

test('assertModelValid throws ONNX_CHECK_FAILED; a file that is not ONNX is ONNX_INVALID (exit 1)', async (t) => {
  assert.throws(() => assertModelValid(model([{ opType: 'Frobnicate', inputs: ['x'], outputs: ['y'] }]), 'broken.onnx'), (err) => {
    assert.equal(err.code, 'ONNX_CHECK_FAILED');
    assert.match(err.message, /broken\.onnx fails the ONNX checks with 1 error: Frobnicate #0: ai\.onnx has no operator Frobnicate/);
    return true;
  });
  const missing = join(tempDir(t), 'nope.onnx');
  await assert.rejects(checkModelFile(missing), { code: 'ONNX_INVALID' });
  const { code, stderr } = await ferry('check', missing);
  assert.equal(code, 1);
  assert.match(stderr, /\[ONNX_INVALID\]/);
  const json = await ferry('check', missing, '--json');
  assert.equal(json.code, 1);
  assert.equal(JSON.parse(json.stdout).code, 'ONNX_INVALID');
});
