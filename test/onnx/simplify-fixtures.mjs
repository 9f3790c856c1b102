// Models for the simplify tests: small graphs built with the IR, one or more per pass (each says
// which passes it is for), real models (exports, PaddleOCR, the bundled examples), and running
// models on onnxruntime-node for before/after comparisons.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { Graph, Model, Tensor, ValueInfo, DataType, attr, encodeModel } from '../../dist/onnx/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const OCR_DIR = join(ROOT, 'node_modules', '@gutenye', 'ocr-models', 'assets');
export const OCR = {
  det: { file: join(OCR_DIR, 'ch_PP-OCRv4_det_infer.onnx'), shape: [1, 3, 160, 160] },
  rec: { file: join(OCR_DIR, 'ch_PP-OCRv4_rec_infer.onnx'), shape: [1, 3, 48, 320] },
  cls: { file: join(OCR_DIR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), shape: [1, 3, 48, 192] },
};
export const FASHION = join(ROOT, 'examples', 'fashion', '1', 'model.onnx');
export const SERVING = ['dyn', 'fixed', 'matpow', 'scale', 'types'].map((m) => join(ROOT, 'test', 'fixtures', 'models', m, '1', 'model.onnx'));
export const TORCHVISION = join(ROOT, 'test', 'fixtures', 'pytorch', 'torchvision_models.py');
const PYTHON = '/usr/bin/python3';

/**
 * Exports models with BatchNormalization kept (test/fixtures/pytorch/export_unfolded.py) into
 * `dir`, in one Python process; returns { name: path } for the ones exported (none without
 * /usr/bin/python3 and torch; the torchvision ones need python3-torchvision too).
 */
export function exportUnfolded(dir, names) {
  if (!existsSync(PYTHON)) return {};
  const script = join(ROOT, 'test', 'fixtures', 'pytorch', 'export_unfolded.py');
  const attempt = (list) => {
    try {
      execFileSync(PYTHON, [script, dir, ...list], { stdio: ['ignore', 'ignore', 'pipe'] });
      return true;
    } catch {
      return false;
    }
  };
  const done = attempt(names) ? names : names.filter((n) => attempt([n]));
  return Object.fromEntries(done.map((n) => [n, join(dir, `${n}.onnx`)]));
}

// ---- running ------------------------------------------------------------------------------------

/** Deterministic normal-ish floats. */
function randomData(n, seed) {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    let u = 0;
    for (let k = 0; k < 4; k++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      u += s / 2 ** 32;
    }
    out[i] = (u - 2) * 1.7;
  }
  return out;
}

/** Random feeds for a model's inputs: `shapes` by name win, symbolic dims are 1. */
export function feedsFor(model, shapes = {}, seed = 1) {
  const g = model.graph;
  const feeds = {};
  g.inputs.filter((v) => !g.initializers.has(v.name)).forEach((v, i) => {
    const dims = shapes[v.name] ?? (v.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const x = randomData(n, seed * 31 + i);
    const t = v.elemType;
    if (t === DataType.FLOAT) feeds[v.name] = new ort.Tensor('float32', x, dims);
    else if (t === DataType.INT64) feeds[v.name] = new ort.Tensor('int64', BigInt64Array.from(x, (a) => BigInt(Math.floor(Math.abs(a) * 3))), dims);
    else if (t === DataType.INT32) feeds[v.name] = new ort.Tensor('int32', Int32Array.from(x, (a) => Math.floor(Math.abs(a) * 3)), dims);
    else if (t === DataType.UINT8) feeds[v.name] = new ort.Tensor('uint8', Uint8Array.from(x, (a) => Math.floor(Math.abs(a) * 3)), dims);
    else if (t === DataType.BOOL) feeds[v.name] = new ort.Tensor('bool', Uint8Array.from(x, (a) => (a > 0 ? 1 : 0)), dims);
    else if (t === DataType.FLOAT16) feeds[v.name] = new ort.Tensor('float16', Uint16Array.from(x, () => 0x3c00), dims);
    else throw new Error(`no feeds for input ${v.name} of type ${t}`);
  });
  return feeds;
}

/** Runs a model (Model, bytes or path) with graph optimizations off; returns { name: ort.Tensor }. */
export async function run(model, feeds) {
  const source = typeof model === 'string' || model instanceof Uint8Array ? model : encodeModel(model);
  const session = await ort.InferenceSession.create(source, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Largest |a - b| over every output, and the first output (if any) with |a - b| > atol + rtol * |b|. */
export function diff(actual, expected, { atol = 1e-5, rtol = 1e-4 } = {}) {
  let maxAbs = 0;
  let bad;
  for (const [name, b] of Object.entries(expected)) {
    const a = actual[name];
    if (!a) return { maxAbs: Infinity, bad: `${name} is missing` };
    if (a.type !== b.type || a.dims.join() !== b.dims.join()) return { maxAbs: Infinity, bad: `${name}: ${a.type}[${a.dims}] vs ${b.type}[${b.dims}]` };
    for (let i = 0; i < b.data.length; i++) {
      const x = a.data[i];
      const y = b.data[i];
      if (x === y) continue;
      if (typeof y === 'string' || typeof y === 'bigint') { bad ??= `${name}[${i}]: ${x} vs ${y}`; maxAbs = Infinity; continue; }
      const e = Math.abs(x - y);
      if (!(e <= maxAbs)) maxAbs = Number.isNaN(e) ? Infinity : e;
      if (!(e <= atol + rtol * Math.abs(y))) bad ??= `${name}[${i}]: ${x} vs ${y}`;
    }
  }
  return { maxAbs, bad };
}

// ---- small models -------------------------------------------------------------------------------

const f32 = (name, dims, values) => Tensor.fromArray({ name, dims, data: Float32Array.from(values ?? randomData(dims.reduce((a, b) => a * b, 1), name.length * 7 + dims.length)) });
const i64 = (name, values, dims = [values.length]) => Tensor.fromArray({ name, dims, data: BigInt64Array.from(values.map(BigInt)) });
const positive = (name, dims) => f32(name, dims, Array.from(randomData(dims.reduce((a, b) => a * b, 1), 3 + dims[0]), (v) => 0.5 + Math.abs(v)));
const model = (graph, opset = 13) => new Model({ graph, irVersion: 8, opsetImports: new Map([['', opset]]) });
const fin = (name, shape) => ValueInfo.tensor(name, DataType.FLOAT, shape);

/** Each fixture: a name, the passes it is for, and a function building a fresh model. */
export const SMALL_MODELS = [
  {
    name: 'constants', for: ['constant-to-initializer', 'fold-constants'],
    build: () => model(new Graph({
      inputs: [fin('x', [2, 3])],
      outputs: [fin('y', [3, 2]), fin('k', [])],
      nodes: [
        { opType: 'Constant', outputs: ['c1'], attributes: { value: attr.tensor(f32('', [2, 3])) } },
        { opType: 'Constant', outputs: ['c2'], attributes: { value_float: attr.float(2) } },
        { opType: 'Constant', outputs: ['shape'], attributes: { value_ints: attr.ints([3, 2]) } },
        { opType: 'Constant', outputs: ['k'], attributes: { value_float: attr.float(7) } },
        { opType: 'Add', inputs: ['x', 'c1'], outputs: ['a'] },
        { opType: 'Mul', inputs: ['a', 'c2'], outputs: ['m'] },
        { opType: 'Reshape', inputs: ['m', 'shape'], outputs: ['y'] },
      ],
    })),
  },
  {
    name: 'identity', for: ['eliminate-identity'],
    build: () => {
      const then = new Graph({ name: 'then', outputs: [fin('t_out', [2])], nodes: [{ opType: 'Add', inputs: ['i1', 'i1'], outputs: ['t_out'] }] });
      const other = new Graph({ name: 'else', outputs: [fin('e_out', [2])], nodes: [{ opType: 'Neg', inputs: ['i1'], outputs: ['e_out'] }] });
      return model(new Graph({
        inputs: [fin('x', [2]), ValueInfo.tensor('c', DataType.BOOL, [])],
        outputs: [fin('y', [2]), fin('y2', [2]), fin('z', [2])],
        nodes: [
          { opType: 'Identity', inputs: ['x'], outputs: ['a'] },
          { opType: 'Relu', inputs: ['a'], outputs: ['b'] },
          { opType: 'Identity', inputs: ['b'], outputs: ['y'] },
          { opType: 'Identity', inputs: ['x'], outputs: ['y2'] }, // input -> output: must stay
          { opType: 'Identity', inputs: ['x'], outputs: ['i1'] }, // read inside both branches
          { opType: 'If', inputs: ['c'], outputs: ['z'], attributes: { then_branch: attr.graph(then), else_branch: attr.graph(other) } },
        ],
      }));
    },
  },
  {
    name: 'dropout', for: ['eliminate-dropout'],
    build: () => model(new Graph({
      inputs: [fin('x', [2, 3])],
      outputs: [fin('y1', [2, 3]), fin('y2', [2, 3]), ValueInfo.tensor('mask', DataType.BOOL, [2, 3])],
      initializers: [Tensor.fromArray({ name: 'ratio', dims: [], data: new Float32Array([0.5]) }), Tensor.fromArray({ name: 'train', dims: [], dataType: DataType.BOOL, data: [false] })],
      nodes: [
        { opType: 'Dropout', inputs: ['x', 'ratio', 'train'], outputs: ['d1'] },
        { opType: 'Relu', inputs: ['d1'], outputs: ['y1'] },
        { opType: 'Dropout', inputs: ['x'], outputs: ['y2', 'mask'] }, // mask read: stays
      ],
    })),
  },
  {
    name: 'casts', for: ['eliminate-noop-cast'],
    build: () => model(new Graph({
      inputs: [fin('x', [2, 3])],
      outputs: [ValueInfo.tensor('yi', DataType.INT32, [2, 3]), fin('yf', [2, 3])],
      nodes: [
        { opType: 'Cast', inputs: ['x'], outputs: ['c1'], attributes: { to: attr.int(DataType.FLOAT) } },
        { opType: 'Relu', inputs: ['c1'], outputs: ['r'] },
        { opType: 'Cast', inputs: ['r'], outputs: ['yi'], attributes: { to: attr.int(DataType.INT32) } },
        { opType: 'Cast', inputs: ['r'], outputs: ['yf'], attributes: { to: attr.int(DataType.FLOAT) } },
      ],
    })),
  },
  {
    name: 'transposes', for: ['eliminate-noop-transpose', 'fuse-transposes'],
    build: () => model(new Graph({
      inputs: [fin('x', [2, 3, 4])],
      outputs: [fin('y', [3, 2, 4]), fin('z', [2, 3, 4])],
      nodes: [
        { opType: 'Transpose', inputs: ['x'], outputs: ['t0'], attributes: { perm: attr.ints([0, 1, 2]) } },
        { opType: 'Transpose', inputs: ['t0'], outputs: ['t1'], attributes: { perm: attr.ints([1, 0, 2]) } },
        { opType: 'Transpose', inputs: ['t1'], outputs: ['t2'], attributes: { perm: attr.ints([0, 2, 1]) } },
        { opType: 'Transpose', inputs: ['t2'], outputs: ['y'], attributes: { perm: attr.ints([0, 2, 1]) } },
        { opType: 'Relu', inputs: ['x'], outputs: ['r'] },
        { opType: 'Transpose', inputs: ['r'], outputs: ['u1'], attributes: { perm: attr.ints([2, 0, 1]) } },
        { opType: 'Transpose', inputs: ['u1'], outputs: ['z'], attributes: { perm: attr.ints([1, 2, 0]) } }, // cancels
      ],
    })),
  },
  ...[['shape-chain-static', [2, 3, 4, 4]], ['shape-chain-dynamic', ['batch', 3, 4, 4]]].map(([name, dims]) => ({
    name, for: ['fold-shapes', 'eliminate-common-subexpressions'],
    build: () => model(new Graph({
      inputs: [fin('x', dims)],
      outputs: [fin('y', [dims[0], 3, 16])],
      initializers: [i64('i0', [0], []), i64('i1', [1], []), i64('i2', [2], []), i64('i3', [3], []), i64('ax0', [0])],
      nodes: [
        { opType: 'Shape', inputs: ['x'], outputs: ['s'] },
        { opType: 'Gather', inputs: ['s', 'i0'], outputs: ['g0'], attributes: { axis: attr.int(0) } },
        { opType: 'Shape', inputs: ['x'], outputs: ['s_copy'] },
        { opType: 'Gather', inputs: ['s_copy', 'i1'], outputs: ['g1'], attributes: { axis: attr.int(0) } },
        { opType: 'Gather', inputs: ['s', 'i2'], outputs: ['g2'], attributes: { axis: attr.int(0) } },
        { opType: 'Gather', inputs: ['s', 'i3'], outputs: ['g3'], attributes: { axis: attr.int(0) } },
        { opType: 'Mul', inputs: ['g2', 'g3'], outputs: ['hw'] },
        { opType: 'Unsqueeze', inputs: ['g0', 'ax0'], outputs: ['u0'] },
        { opType: 'Unsqueeze', inputs: ['g1', 'ax0'], outputs: ['u1'] },
        { opType: 'Unsqueeze', inputs: ['hw', 'ax0'], outputs: ['u2'] },
        { opType: 'Concat', inputs: ['u0', 'u1', 'u2'], outputs: ['target'], attributes: { axis: attr.int(0) } },
        { opType: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] },
      ],
    })),
  })),
  {
    name: 'folding', for: ['fold-constants'],
    build: () => model(new Graph({
      inputs: [fin('x', [4])],
      outputs: [fin('y', [4]), fin('big_sum', [])],
      initializers: [f32('a', [4]), f32('b', [4]), i64('big_shape', [512, 1024])],
      nodes: [
        { opType: 'Constant', outputs: ['zero'], attributes: { value_float: attr.float(0) } },
        { opType: 'Mul', inputs: ['a', 'b'], outputs: ['ab'] },
        { opType: 'Add', inputs: ['x', 'ab'], outputs: ['s'] },
        // 2 MiB of ones from 16 bytes: over the size limit, so not folded itself ...
        { opType: 'ConstantOfShape', inputs: ['big_shape'], outputs: ['big'], attributes: { value: attr.tensor(f32('', [1], [1])) } },
        // ... but the one number computed from it is
        { opType: 'ReduceSum', inputs: ['big'], outputs: ['big_sum'], attributes: { keepdims: attr.int(0) } },
        // random, times 0: folding it would be wrong in general, so it stays
        { opType: 'RandomNormal', outputs: ['noise'], attributes: { shape: attr.ints([4]), dtype: attr.int(DataType.FLOAT) } },
        { opType: 'Mul', inputs: ['noise', 'zero'], outputs: ['nothing'] },
        { opType: 'Add', inputs: ['s', 'nothing'], outputs: ['y'] },
      ],
    })),
  },
  {
    name: 'reshapes', for: ['eliminate-noop-reshape', 'fuse-reshapes'],
    build: () => model(new Graph({
      inputs: [fin('x', [2, 3, 4])],
      outputs: [fin('y', [4, 6]), fin('z', [2, 3, 4])],
      initializers: [i64('same', [2, 3, 4]), i64('flat', [6, 4]), i64('other', [4, -1])],
      nodes: [
        { opType: 'Reshape', inputs: ['x', 'same'], outputs: ['r0'] },
        { opType: 'Relu', inputs: ['r0'], outputs: ['z'] },
        { opType: 'Reshape', inputs: ['x', 'flat'], outputs: ['r1'] },
        { opType: 'Reshape', inputs: ['r1', 'other'], outputs: ['y'] },
      ],
    })),
  },
  {
    name: 'arithmetic', for: ['eliminate-noop-arithmetic'],
    build: () => model(new Graph({
      inputs: [fin('x', [2, 3])],
      outputs: [fin('y', [2, 3]), fin('w', [4, 2, 3])],
      initializers: [f32('one', [], [1]), f32('zero1', [1], [0]), f32('zeros', [2, 3], [0, 0, 0, 0, 0, 0]), f32('zeros3', [4, 1, 1], [0, 0, 0, 0]), f32('two', [], [2])],
      nodes: [
        { opType: 'Mul', inputs: ['x', 'one'], outputs: ['a'] },
        { opType: 'Add', inputs: ['zero1', 'a'], outputs: ['b'] },
        { opType: 'Sub', inputs: ['b', 'zeros'], outputs: ['c'] },
        { opType: 'Div', inputs: ['c', 'one'], outputs: ['d'] },
        { opType: 'Mul', inputs: ['d', 'two'], outputs: ['y'] },
        { opType: 'Add', inputs: ['x', 'zeros3'], outputs: ['w'] }, // broadcasts to [4,2,3]: stays
      ],
    })),
  },
  {
    name: 'conv-bn', for: ['fuse-bn-into-conv', 'fuse-mul-into-conv'],
    build: () => {
      const bn = (p, c) => [f32(`${p}.scale`, [c]), f32(`${p}.bias`, [c]), f32(`${p}.mean`, [c]), positive(`${p}.var`, [c])];
      return model(new Graph({
        inputs: [fin('x', [1, 3, 8, 8])],
        outputs: [fin('y', [1, 6])],
        initializers: [
          f32('w1', [4, 3, 3, 3]), f32('b1', [4]), ...bn('bn1', 4),
          f32('w2', [4, 2, 2, 2]), ...bn('bn2', 4), // ConvTranspose, group 2: [Cin, Cout/group, k, k]
          f32('w3', [5, 4, 1, 1]), f32('s3', [5, 1, 1]), f32('a3', [1, 5, 1, 1]),
          f32('wg', [5, 6]), f32('cg', [6]), ...bn('bn4', 6),
        ],
        nodes: [
          { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attributes: { pads: attr.ints([1, 1, 1, 1]) } },
          { opType: 'BatchNormalization', inputs: ['c1', 'bn1.scale', 'bn1.bias', 'bn1.mean', 'bn1.var'], outputs: ['n1'], attributes: { epsilon: attr.float(1e-3) } },
          { opType: 'Relu', inputs: ['n1'], outputs: ['r1'] },
          { opType: 'ConvTranspose', inputs: ['r1', 'w2'], outputs: ['c2'], attributes: { group: attr.int(2), strides: attr.ints([2, 2]) } },
          { opType: 'BatchNormalization', inputs: ['c2', 'bn2.scale', 'bn2.bias', 'bn2.mean', 'bn2.var'], outputs: ['n2'] },
          { opType: 'Conv', inputs: ['n2', 'w3'], outputs: ['c3'] },
          { opType: 'Mul', inputs: ['s3', 'c3'], outputs: ['m3'] },
          { opType: 'Add', inputs: ['m3', 'a3'], outputs: ['p3'] },
          { opType: 'GlobalAveragePool', inputs: ['p3'], outputs: ['gap'] },
          { opType: 'Flatten', inputs: ['gap'], outputs: ['flat'] },
          { opType: 'Gemm', inputs: ['flat', 'wg', 'cg'], outputs: ['g'], attributes: { alpha: attr.float(0.5), beta: attr.float(2) } },
          { opType: 'BatchNormalization', inputs: ['g', 'bn4.scale', 'bn4.bias', 'bn4.mean', 'bn4.var'], outputs: ['y'] },
        ],
      }));
    },
  },
  {
    name: 'conv-add', for: ['fuse-add-into-conv'],
    build: () => model(new Graph({
      inputs: [fin('x', [1, 3, 6, 6])],
      outputs: [fin('y', [1, 4, 6, 6]), fin('z', [1, 4, 3, 3])],
      initializers: [f32('w', [4, 3, 1, 1]), f32('bias', [4, 1, 1]), f32('wt', [4, 2, 2, 2]), f32('bt', [4]), f32('k', [], [0.25]), f32('wide', [4, 6, 6])],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
        { opType: 'Add', inputs: ['c', 'bias'], outputs: ['y'] },
        { opType: 'Conv', inputs: ['x', 'w', 'bt'], outputs: ['c2'], attributes: { strides: attr.ints([2, 2]) } },
        { opType: 'Add', inputs: ['k', 'c2'], outputs: ['z'] },
        { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c3'] },
        { opType: 'Add', inputs: ['c3', 'wide'], outputs: ['not_a_bias'] }, // per element, not per channel: stays
        { opType: 'Relu', inputs: ['not_a_bias'], outputs: ['unused'] },
      ],
    })),
  },
  {
    name: 'matmul-add', for: ['fuse-matmul-add-into-gemm'],
    build: () => model(new Graph({
      inputs: [fin('x', [4, 8]), fin('x3', [2, 4, 8])],
      outputs: [fin('y', [4, 5]), fin('y3', [2, 4, 5])],
      initializers: [f32('w', [8, 5]), f32('b', [5]), f32('b2', [1, 5])],
      nodes: [
        { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] },
        { opType: 'Add', inputs: ['b', 'm'], outputs: ['y'] },
        { opType: 'MatMul', inputs: ['x3', 'w'], outputs: ['m3'] }, // 3-D: stays
        { opType: 'Add', inputs: ['m3', 'b2'], outputs: ['y3'] },
      ],
    })),
  },
  {
    name: 'dead-and-duplicates', for: ['eliminate-dead-nodes', 'eliminate-unused-initializers', 'eliminate-duplicate-initializers', 'eliminate-common-subexpressions'],
    build: () => model(new Graph({
      inputs: [fin('x', [3])],
      outputs: [fin('y', [3])],
      initializers: [f32('p', [3], [1, 2, 3]), f32('q', [3], [1, 2, 3]), f32('unused', [3])],
      nodes: [
        { opType: 'Neg', inputs: ['x'], outputs: ['dead1'] },
        { opType: 'Exp', inputs: ['dead1'], outputs: ['dead2'] },
        { opType: 'Relu', inputs: ['x'], outputs: ['r1'] },
        { opType: 'Relu', inputs: ['x'], outputs: ['r2'] },
        { opType: 'Add', inputs: ['r1', 'p'], outputs: ['a1'] },
        { opType: 'Add', inputs: ['r2', 'q'], outputs: ['a2'] },
        { opType: 'Mul', inputs: ['a1', 'a2'], outputs: ['y'] },
      ],
    })),
  },
];
