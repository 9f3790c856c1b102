// The rules of onnx.checker (onnx/checker.cc, OpSchema::Verify) `ferry check` ported, one broken
// model each: `ferry check` rejects it with an error naming what is at fault, and accepts the same
// model fixed; onnx.checker (the onnx the schema table was made from, see onnx-reference.mjs)
// rejects the broken one and accepts the fixed one too. Many of these faults live in protobuf
// fields the IR does not keep (an attribute given twice, a tensor with data in two fields), so the
// models are written as raw ModelProto messages, not through the IR.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkModelFile } from '../../dist/onnx/check/index.js';
import { encodeMessage } from '../../dist/onnx/proto/codec.js';
import { onnxVerdicts, referenceUnavailable } from './onnx-reference.mjs';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FLOAT = 1;
const A = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5 };

// ---- ModelProto builders (plain objects, the .proto's field names) ----------------------------

const shape = (dims) => ({ dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) });
const tensorType = (elem = FLOAT, dims = [2]) => ({ tensor_type: { elem_type: elem, ...(dims ? { shape: shape(dims) } : {}) } });
const vi = (name, elem = FLOAT, dims = [2]) => ({ name, type: tensorType(elem, dims) });
const node = (op_type, input, output, extra = {}) => ({ op_type, input, output, ...extra });
const floats = (name, values, dims = [values.length]) => ({ name, data_type: FLOAT, dims, float_data: values });
const raw = (name, dataType, dims, bytes) => ({ name, data_type: dataType, dims, raw_data: Uint8Array.from(bytes) });
const opset = (domain, version) => ({ domain, version });

/** x FLOAT[2] -> Relu -> y FLOAT[2], IR 8, opset 17, graph "g"; `over` replaces graph fields, `model` model fields. */
function modelProto({ graph = {}, ...model } = {}) {
  return {
    ir_version: 8,
    opset_import: [opset('', 17)],
    producer_name: 'ferry-test',
    ...model,
    graph: { name: 'g', input: [vi('x')], output: [vi('y')], node: [node('Relu', ['x'], ['y'], { name: 'relu' })], ...graph },
  };
}

/** If(c) whose then branch is `thenGraph` and whose else branch returns Identity(x). */
function ifModel(thenGraph, { elseName = 'else' } = {}) {
  const elseGraph = { name: elseName, output: [vi('e')], node: [node('Identity', ['x'], ['e'])] };
  const attribute = [
    { name: 'then_branch', type: A.GRAPH, g: thenGraph },
    { name: 'else_branch', type: A.GRAPH, g: elseGraph },
  ];
  return modelProto({ graph: { input: [vi('x'), vi('c', 9, [])], node: [node('If', ['c'], ['y'], { name: 'if', attribute })] } });
}

/** A model calling function com.x.F(x) -> y, with `fn` overriding the function's fields. */
function functionModel(fn = {}, { callDomain = 'com.x', ...model } = {}) {
  const F = { name: 'F', domain: 'com.x', input: ['a'], output: ['b'], node: [node('Relu', ['a'], ['b'])], opset_import: [opset('', 17)], ...fn };
  return modelProto({
    opset_import: [opset('', 17), opset('com.x', 1)],
    functions: [F],
    graph: { node: [node('F', ['x'], ['y'], { name: 'call', domain: callDomain })] },
    ...model,
  });
}

const leaky = (attribute) => modelProto({ graph: { node: [node('LeakyRelu', ['x'], ['y'], { name: 'leaky', attribute })] } });
/** The Relu model with an extra unused initializer `t`. */
const withInitializer = (t, extra = {}) => modelProto({ graph: { initializer: [t] }, ...extra });

/**
 * Each case: a broken model and the same model fixed (ModelProto objects, or `files(dir)` writing
 * them with their external data), and the error `ferry check` must report on the broken one —
 * or `invalid` when ferry's loader refuses the file outright (ONNX_INVALID, exit 1).
 */
const CASES = [
  {
    name: 'a graph without a name (GraphProto.name is required)',
    broken: () => modelProto({ graph: { name: '' } }),
    fixed: () => modelProto(),
    expect: { rule: 'graph', where: 'graph ""', message: [/the graph has no name/] },
  },
  {
    name: 'a subgraph without a name',
    broken: () => ifModel({ name: 'then', output: [vi('t')], node: [node('Relu', ['x'], ['t'])] }, { elseName: '' }),
    fixed: () => ifModel({ name: 'then', output: [vi('t')], node: [node('Relu', ['x'], ['t'])] }),
    expect: { rule: 'graph', where: 'If "if" > else_branch', message: [/the graph has no name/] },
  },
  {
    name: 'a main-graph input without a shape',
    broken: () => modelProto({ graph: { input: [vi('x', FLOAT, null)] } }),
    fixed: () => modelProto({ graph: { input: [vi('x', FLOAT, ['n'])] } }),
    expect: { rule: 'value-info', where: 'graph "g"', message: [/graph input "x" has no shape/] },
  },
  {
    name: 'a main-graph output without an element type',
    broken: () => modelProto({ graph: { output: [{ name: 'y', type: { tensor_type: { shape: shape([2]) } } }] } }),
    fixed: () => modelProto(),
    expect: { rule: 'value-info', where: 'graph "g"', message: [/graph output "y" has no element type/] },
  },
  {
    name: 'an opaque graph input without a name',
    broken: () => modelProto({ graph: { input: [vi('x'), { name: 'o', type: { opaque_type: { domain: 'com.x' } } }] } }),
    fixed: () => modelProto({ graph: { input: [vi('x'), { name: 'o', type: { opaque_type: { domain: 'com.x', name: 'Blob' } } }] } }),
    expect: { rule: 'value-info', where: 'graph "g"', message: [/graph input "o" is an opaque type without a name/] },
  },
  {
    name: 'a subgraph output that is a value of the enclosing graph',
    broken: () => ifModel({ name: 'then', output: [vi('x')] }),
    fixed: () => ifModel({ name: 'then', output: [vi('t')], node: [node('Identity', ['x'], ['t'])] }),
    expect: { rule: 'graph-output', where: 'If "if" > then_branch', message: [/graph output "x" is a value of an enclosing graph/] },
  },
  {
    name: 'a node whose domain is spelled "ai.onnx"',
    broken: () => modelProto({ graph: { node: [node('Relu', ['x'], ['y'], { name: 'relu', domain: 'ai.onnx' })] } }),
    fixed: () => modelProto(),
    expect: { rule: 'node', where: 'Relu "relu"', message: [/the node's domain is "ai\.onnx"/, /leave it empty/] },
  },
  {
    name: 'a model-local function in the default domain (onnx.checker looks only at schemas there)',
    broken: () => functionModel({ domain: '' }, { callDomain: '' }),
    fixed: () => functionModel(),
    expect: { rule: 'unknown-op', where: 'F "call"', message: [/calls model-local function F/, /give the function a domain of its own/] },
  },
  {
    name: 'an operator of ai.onnx.training, which has no operators',
    broken: () => modelProto({ opset_import: [opset('', 17), opset('ai.onnx.training', 1)], graph: { node: [node('Relu', ['x'], ['t'], { name: 'relu' }), node('Step', ['t'], ['y'], { name: 'step', domain: 'ai.onnx.training' })] } }),
    fixed: () => modelProto({ opset_import: [opset('', 17), opset('com.x', 1)], graph: { node: [node('Relu', ['x'], ['t'], { name: 'relu' }), node('Step', ['t'], ['y'], { name: 'step', domain: 'com.x' })] } }),
    expect: { rule: 'unknown-op', where: 'ai.onnx.training.Step "step"', message: [/ai\.onnx\.training has no operator Step/] },
  },
  {
    name: 'BatchNormalization-15 with 2 outputs (it has 1 or 3)',
    broken: () => bnModel(['y', 'mean']),
    fixed: () => bnModel(['y']),
    expect: { rule: 'arity', where: 'BatchNormalization "bn"', message: [/^2 outputs, but BatchNormalization-15 takes 1 or 3/] },
  },
  {
    name: 'an attribute given twice',
    broken: () => leaky([{ name: 'alpha', type: A.FLOAT, f: 0.1 }, { name: 'alpha', type: A.FLOAT, f: 0.2 }]),
    fixed: () => leaky([{ name: 'alpha', type: A.FLOAT, f: 0.2 }]),
    expect: { rule: 'attribute', where: 'LeakyRelu "leaky"', message: [/attribute "alpha" is given twice/] },
  },
  {
    name: 'an attribute without its type (IR version 2 on)',
    broken: () => leaky([{ name: 'alpha', f: 0.1 }]),
    fixed: () => leaky([{ name: 'alpha', type: A.FLOAT, f: 0.1 }]),
    expect: { rule: 'attribute', where: 'LeakyRelu "leaky"', message: [/attribute "alpha" has no type: AttributeProto\.type is required from IR version 2/] },
  },
  {
    name: 'an attribute without its type in an IR 1 model (the schema wants a float)',
    broken: () => ({ ...leaky([{ name: 'alpha', f: 0.1 }]), ir_version: 1, opset_import: [] }),
    fixed: () => ({ ...leaky([{ name: 'alpha', type: A.FLOAT, f: 0.1 }]), ir_version: 1, opset_import: [] }),
    expect: { rule: 'attribute', where: 'LeakyRelu "leaky"', message: [/attribute "alpha" has no type, but LeakyRelu-1 takes float/] },
  },
  {
    name: 'an attribute with two value fields',
    broken: () => leaky([{ name: 'alpha', type: A.FLOAT, f: 0.1, i: 3 }]),
    fixed: () => leaky([{ name: 'alpha', type: A.FLOAT, f: 0.1 }]),
    expect: { rule: 'attribute', where: 'LeakyRelu "leaky"', message: [/attribute "alpha" holds values in f and i: an attribute has one value field/] },
  },
  {
    name: 'an attribute whose value is in the field of another type',
    broken: () => leaky([{ name: 'alpha', type: A.INT, f: 0.1 }]),
    fixed: () => leaky([{ name: 'alpha', type: A.FLOAT, f: 0.1 }]),
    expect: { rule: 'attribute', where: 'LeakyRelu "leaky"', message: [/attribute "alpha" is declared int but holds its value in f, the field of a float/] },
  },
  {
    name: 'a TENSOR attribute without its tensor',
    broken: () => modelProto({ graph: { node: [node('Constant', [], ['y'], { name: 'k', attribute: [{ name: 'value', type: A.TENSOR }] })] } }),
    fixed: () => modelProto({ graph: { node: [node('Constant', [], ['y'], { name: 'k', attribute: [{ name: 'value', type: A.TENSOR, t: floats('', [1, 2]) }] })] } }),
    expect: { rule: 'attribute', where: 'Constant "k"', message: [/attribute "value" is a tensor without its value: AttributeProto\.t is not set/] },
  },
  {
    name: 'a subgraph attribute that refers to a function attribute and holds a value too',
    broken: () => refInSubgraphModel(true),
    fixed: () => refInSubgraphModel(false),
    expect: { rule: 'attribute', where: 'function com.x.F > If #0 > then_branch > LeakyRelu #0', message: [/attribute "alpha" refers to function attribute "al" and also holds a value \(in f\)/] },
  },
  {
    name: 'a tensor with data in raw_data and float_data',
    broken: () => withInitializer({ ...floats('w', [1, 2]), raw_data: new Uint8Array(8) }),
    fixed: () => withInitializer(floats('w', [1, 2])),
    expect: { rule: 'tensor', where: 'initializer "w"', message: [/its data is in float_data and raw_data: a tensor keeps its values in exactly one field/] },
  },
  {
    name: 'STRING data in raw_data',
    broken: () => withInitializer(raw('s', 8, [1], [104, 105])),
    fixed: () => withInitializer({ name: 's', data_type: 8, dims: [1], string_data: [Uint8Array.from([104, 105])] }),
    expect: { rule: 'tensor', where: 'initializer "s"', message: [/STRING values cannot be in raw_data/] },
  },
  {
    name: 'INT64 values in int32_data',
    broken: () => withInitializer({ name: 'k', data_type: 7, dims: [2], int32_data: [1, 2] }),
    fixed: () => withInitializer({ name: 'k', data_type: 7, dims: [2], int64_data: [1, 2] }),
    expect: { rule: 'tensor', where: 'initializer "k"', message: [/INT64 values go in int64_data, not in int32_data/] },
  },
  {
    name: 'a tensor with no elements that holds data',
    broken: () => withInitializer(floats('w', [1], [0])),
    fixed: () => withInitializer({ name: 'w', data_type: FLOAT, dims: [0] }),
    expect: { rule: 'tensor', where: 'initializer "w"', message: [/FLOAT\[0\] has no elements but holds data in float_data/] },
  },
  {
    name: 'FLOAT6 raw_data with padding bits set',
    broken: () => withInitializer(raw('f6', 27, [1], [0xc1])),
    fixed: () => withInitializer(raw('f6', 27, [1], [0x01])),
    expect: { rule: 'tensor', where: 'initializer "f6"', message: [/padding bits of its last raw_data byte are not zero/] },
  },
  {
    name: 'FLOAT6 int32_data past 6 bits',
    broken: () => withInitializer({ name: 'f6', data_type: 27, dims: [2], int32_data: [1, 64] }),
    fixed: () => withInitializer({ name: 'f6', data_type: 27, dims: [2], int32_data: [1, 63] }),
    expect: { rule: 'tensor', where: 'initializer "f6"', message: [/int32_data\[1\] is 64; a FLOAT6 value uses bits 0-5 only/] },
  },
  {
    name: 'an external tensor that also holds data inline',
    files: (dir) => externalModel(dir, { inline: true }),
    expect: { rule: 'tensor', where: 'initializer "w"', message: [/its data is EXTERNAL, but it also holds data in raw_data/] },
  },
  {
    name: 'external data in a file reached through a symbolic link',
    files: (dir) => externalModel(dir, { symlink: true }),
    expect: { rule: 'tensor', where: 'initializer "w"', message: [/external data file "w\.bin" .* is a symbolic link/] },
  },
  {
    name: 'external data in a hard-linked file',
    files: (dir) => externalModel(dir, { hardlink: true }),
    expect: { rule: 'tensor', where: 'initializer "w"', message: [/external data file "w\.bin" .* has 2 hard links/] },
  },
  {
    name: 'an external data location with ".." in it',
    files: (dir) => externalModel(dir, { location: 'w..bin' }),
    expect: { rule: 'tensor', where: 'initializer "w"', message: [/external data file "w\.\.bin" has "\.\." in its path/] },
  },
  {
    name: 'a sparse initializer listed twice',
    broken: () => modelProto({ graph: { sparse_initializer: [sparse('s'), sparse('s')] } }),
    fixed: () => modelProto({ graph: { sparse_initializer: [sparse('s'), sparse('s2')] } }),
    expect: { rule: 'initializer', where: 'sparse initializer "s"', message: [/sparse initializer "s" is listed twice/] },
  },
  {
    name: 'metadata_props with a key twice',
    broken: () => modelProto({ metadata_props: [{ key: 'author', value: 'a' }, { key: 'author', value: 'b' }] }),
    fixed: () => modelProto({ metadata_props: [{ key: 'author', value: 'a' }, { key: 'license', value: 'b' }] }),
    expect: { rule: 'metadata', where: 'model', message: [/metadata_props has the key "author" 2 times/] },
  },
  {
    name: 'an IR version newer than the checker knows',
    broken: () => modelProto({ ir_version: 15 }),
    fixed: () => modelProto({ ir_version: 14 }),
    expect: { rule: 'ir-version', where: 'model', message: [/ir_version 15 is newer than the IR this checker knows \(14/] },
  },
  {
    name: 'a function without its domain field (IR version 8 on)',
    broken: () => functionModel({}, { functions: [{ name: 'G', input: ['a'], output: ['b'], node: [node('Relu', ['a'], ['b'])], opset_import: [opset('', 17)] }], graph: undefined }),
    fixed: () => functionModel({}, { functions: [{ name: 'G', domain: 'com.x', input: ['a'], output: ['b'], node: [node('Relu', ['a'], ['b'])], opset_import: [opset('', 17)] }], graph: undefined }),
    expect: { rule: 'function', where: 'function G', message: [/the function has no domain field/] },
  },
  {
    name: 'a function that calls itself',
    broken: () => functionModel({ node: [node('F', ['a'], ['b'], { domain: 'com.x' })], opset_import: [opset('', 17), opset('com.x', 1)] }),
    fixed: () => functionModel(),
    expect: { rule: 'function', where: 'function com.x.F', message: [/the function calls itself: com\.x\.F -> com\.x\.F/] },
  },
  {
    name: 'a function importing the default domain as "ai.onnx" for nodes of domain ""',
    broken: () => functionModel({ opset_import: [opset('ai.onnx', 17)] }),
    fixed: () => functionModel(),
    expect: { rule: 'opset-import', where: 'function com.x.F > Relu #0', message: [/imports the default domain as "ai\.onnx", but the node's domain is ""/] },
  },
  {
    name: 'two initializers of one name (the IR refuses the file)',
    broken: () => modelProto({ graph: { initializer: [floats('w', [1, 2]), floats('w', [3, 4])] } }),
    fixed: () => modelProto({ graph: { initializer: [floats('w', [1, 2]), floats('v', [3, 4])] } }),
    invalid: /already has an initializer "w"/,
  },
  {
    name: 'an initializer without a name (the IR refuses the file)',
    broken: () => modelProto({ graph: { initializer: [floats('', [1, 2])] } }),
    fixed: () => modelProto({ graph: { initializer: [floats('w', [1, 2])] } }),
    invalid: /an initializer needs a name/,
  },
];

function bnModel(outputs) {
  const inits = ['scale', 'bias', 'mean', 'var'].map((n) => floats(n, [1, 1]));
  return modelProto({ graph: { input: [vi('x', FLOAT, [1, 2])], output: [vi('y', FLOAT, [1, 2])], initializer: inits, node: [node('BatchNormalization', ['x', 'scale', 'bias', 'mean', 'var'], outputs, { name: 'bn' })] } });
}

function sparse(name) {
  return { values: floats(name, [5]), indices: { name: `${name}_i`, data_type: 7, dims: [1], int64_data: [1] }, dims: [4] };
}

/** F(a, c) with attribute al: If(c) then LeakyRelu(a, alpha = ref al [+ a value]) else Identity(a). */
function refInSubgraphModel(withValue) {
  const alpha = { name: 'alpha', type: A.FLOAT, ref_attr_name: 'al', ...(withValue ? { f: 0.5 } : {}) };
  const thenGraph = { name: 'then', output: [{ name: 't' }], node: [node('LeakyRelu', ['a'], ['t'], { attribute: [alpha] })] };
  const elseGraph = { name: 'else', output: [{ name: 'e' }], node: [node('Identity', ['a'], ['e'])] };
  const body = [node('If', ['c'], ['b'], { attribute: [{ name: 'then_branch', type: A.GRAPH, g: thenGraph }, { name: 'else_branch', type: A.GRAPH, g: elseGraph }] })];
  const m = functionModel({ input: ['a', 'c'], attribute: ['al'], node: body });
  m.graph.input = [vi('x'), vi('c', 9, [])];
  m.graph.node = [node('F', ['x', 'c'], ['y'], { name: 'call', domain: 'com.x', attribute: [{ name: 'al', type: A.FLOAT, f: 0.2 }] })];
  return m;
}

/** Relu(x) + w, w FLOAT[2] in the external file `location`; broken as asked, fixed: a plain file. */
function externalModel(dir, { inline = false, symlink = false, hardlink = false, location = 'w.bin' }) {
  const w = (loc, extra = {}) => ({ name: 'w', data_type: FLOAT, dims: [2], data_location: 1, external_data: [{ key: 'location', value: loc }], ...extra });
  const model = (t) => modelProto({ graph: { initializer: [t], node: [node('Relu', ['x'], ['r'], { name: 'relu' }), node('Add', ['r', 'w'], ['y'], { name: 'add' })] } });
  const bytes = new Uint8Array(new Float32Array([1, 2]).buffer);
  const brokenDir = join(dir, 'broken');
  const fixedDir = join(dir, 'fixed');
  mkdirSync(brokenDir);
  mkdirSync(fixedDir);
  writeFileSync(join(fixedDir, 'w.bin'), bytes);
  if (symlink) {
    writeFileSync(join(dir, 'elsewhere.bin'), bytes);
    symlinkSync(join(dir, 'elsewhere.bin'), join(brokenDir, location));
  } else if (hardlink) {
    writeFileSync(join(dir, 'elsewhere.bin'), bytes);
    linkSync(join(dir, 'elsewhere.bin'), join(brokenDir, location));
  } else writeFileSync(join(brokenDir, location), bytes);
  const broken = join(brokenDir, 'model.onnx');
  const fixed = join(fixedDir, 'model.onnx');
  writeFileSync(broken, encodeMessage('ModelProto', model(w(location, inline ? { raw_data: bytes } : {}))));
  writeFileSync(fixed, encodeMessage('ModelProto', model(w('w.bin'))));
  return { broken, fixed };
}

// ---- the runs -----------------------------------------------------------------------------------

let dir;
let files; // per case: { broken, fixed } paths
let verdicts; // onnx.checker's, by path; undefined without the reference

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-check-rules-'));
  files = CASES.map((c, i) => {
    if (c.files) {
      const sub = join(dir, String(i));
      mkdirSync(sub);
      return c.files(sub);
    }
    const write = (which, m) => {
      const path = join(dir, `${i}-${which}.onnx`);
      writeFileSync(path, encodeMessage('ModelProto', m));
      return path;
    };
    return { broken: write('broken', c.broken()), fixed: write('fixed', c.fixed()) };
  });
  if (!referenceUnavailable()) verdicts = await onnxVerdicts(files.flatMap((f) => [f.broken, f.fixed]));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('onnx.checker, the reference, is installed', (t) => {
  const why = referenceUnavailable();
  if (why) t.skip(`the cross-checks with onnx.checker are skipped: ${why}`);
});

CASES.forEach((c, i) => {
  test(c.name, async (t) => {
    const { broken, fixed } = files[i];
    if (c.invalid) {
      await assert.rejects(checkModelFile(broken), (err) => err.code === 'ONNX_INVALID' && c.invalid.test(err.message));
    } else {
      const report = await checkModelFile(broken);
      const { rule, where, message } = c.expect;
      const hit = report.errors.find((e) => e.rule === rule && e.where === where && message.every((re) => re.test(e.message)));
      assert.ok(hit, `expected a ${rule} error at ${where} matching ${message.join(' and ')}; got:\n${report.errors.map((e) => `  ${e.rule} | ${e.where} | ${e.message}`).join('\n') || '  (no errors)'}`);
    }
    const ok = await checkModelFile(fixed);
    assert.deepEqual(ok.errors, [], 'ferry check accepts the fixed model');
    if (verdicts) {
      t.diagnostic(`onnx.checker: ${verdicts.get(broken)}`);
      assert.equal(typeof verdicts.get(broken), 'string', `onnx.checker rejects the broken model too (${broken})`);
      assert.equal(verdicts.get(fixed), null, `onnx.checker accepts the fixed model: ${verdicts.get(fixed)}`);
    }
  });
});

test('the CLI prints these errors and exits 1; the fixed model exits 0', async () => {
  const run = (file) => new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'check', file], { encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
  const i = CASES.findIndex((c) => c.name.startsWith('an attribute given twice'));
  const broken = await run(files[i].broken);
  assert.equal(broken.code, 1, broken.stderr);
  assert.match(broken.stdout, /^error {4}LeakyRelu "leaky": attribute "alpha" is given twice: a node names each attribute once$/m);
  const fixed = await run(files[i].fixed);
  assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
  assert.match(fixed.stdout, /^ok: 1 node checked$/m);
});
