/**
 * Static shape and type inference for the main graph, with value propagation for the small
 * tensors shape arithmetic is made of: what `ferry simplify` reads to find no-op Reshapes and
 * Casts, 2-D MatMuls, and Shape -> Gather -> Unsqueeze -> Concat chains whose values are fixed.
 *
 * Why static and not "run ONNX Runtime and read the Shape outputs": a value read off one run
 * is only known to be constant if nothing data-dependent feeds it (NonZero, TopK with a computed
 * k...), which a run cannot tell. Here a value is known only when it follows from declared input
 * shapes, initializers and Constants through rules that never look at input data, so folding it
 * is correct for every input of those shapes. Dims stay symbolic ("batch") where the model says
 * so; a Gather of a static dim out of [batch, 3, 224, 224] is still known.
 *
 * Coverage: the ops of CNNs, transformers and PaddleOCR-style models (about 120 ops). An op
 * without a rule gets the type and shape its value_info in the file declares, if any, else
 * unknown: passes that need a fact skip the node. Subgraphs (If, Loop, Scan bodies) are not
 * entered; their outputs are unknown.
 */
import type { Graph } from './ir/graph.js';
import type { Node } from './ir/node.js';
import type { Tensor } from './ir/tensor.js';
import type { Dim } from './ir/value-info.js';
import { DataType } from './ir/data-type.js';

/** What is known about one value. */
export interface ValueFacts {
  /** Element type; undefined when unknown. */
  readonly elemType: DataType | undefined;
  /** Dims (numbers, symbolic names, null for unknown); undefined when even the rank is unknown. */
  readonly shape: readonly Dim[] | undefined;
  /**
   * The elements, for tensors of rank 0 or 1 with at most MAX_VALUE_ELEMENTS elements whose
   * values follow from shapes and constants: numbers, symbolic dims (a Shape of [batch, 3]) or
   * null each. Booleans are 0/1.
   */
  readonly value?: readonly Dim[];
}

/** Facts by value name. */
export type ShapeTable = ReadonlyMap<string, ValueFacts>;

/** The largest tensor whose elements are propagated. */
export const MAX_VALUE_ELEMENTS = 64;

const INTEGER_TYPES: ReadonlySet<number> = new Set([
  DataType.INT64, DataType.INT32, DataType.INT16, DataType.INT8, DataType.UINT64, DataType.UINT32, DataType.UINT16, DataType.UINT8,
]);
const VALUE_TYPES: ReadonlySet<number> = new Set([...INTEGER_TYPES, DataType.FLOAT, DataType.DOUBLE, DataType.BOOL]);

export function isIntegerType(t: DataType | undefined): boolean {
  return t !== undefined && INTEGER_TYPES.has(t);
}

/** True when every dim is a known number. */
export function isStatic(shape: readonly Dim[] | undefined): shape is readonly number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number');
}

/** The values of the main graph (inputs, initializers, node outputs) and what is known of them. */
export function inferShapes(graph: Graph): Map<string, ValueFacts> {
  const table = new Map<string, ValueFacts>();
  for (const [name, t] of graph.initializers) {
    if (!graph.isInput(name)) table.set(name, tensorFacts(t));
  }
  for (const v of graph.inputs) {
    if (table.has(v.name)) continue;
    table.set(v.name, { elemType: v.elemType || undefined, shape: v.shape && normalizeDims(v.shape) });
  }
  for (const n of graph.nodes) {
    let outs: Facts[] = [];
    const rule = n.domain === '' || n.domain === 'ai.onnx' ? RULES[n.opType] : undefined;
    if (rule) {
      try {
        outs = rule({ node: n, ins: n.inputs.map((v) => (v ? table.get(v) : undefined)), has: (i) => !!n.inputs[i] });
      } catch {
        outs = []; // a malformed node (missing attribute ...): nothing known
      }
    }
    n.outputs.forEach((name, i) => {
      if (!name) return;
      const f = outs[i] ?? declared(graph, name);
      if (f) table.set(name, clean(f));
    });
  }
  return table;
}

/** The facts of a tensor constant (an initializer or a Constant's value). */
export function tensorFacts(t: Tensor): ValueFacts {
  const facts: ValueFacts = { elemType: t.dataType, shape: t.dims };
  if (t.dims.length <= 1 && t.elementCount <= MAX_VALUE_ELEMENTS && VALUE_TYPES.has(t.dataType) && !t.isExternal) {
    try {
      return { ...facts, value: t.numbers() };
    } catch { /* unreadable data: no value */ }
  }
  return facts;
}

type Facts = ValueFacts | undefined;

interface RuleArgs {
  readonly node: Node;
  /** Facts of each input ('' and unknown inputs are undefined). */
  readonly ins: readonly Facts[];
  /** Whether input i is given. */
  has(i: number): boolean;
}

type Rule = (a: RuleArgs) => Facts[];

function declared(graph: Graph, name: string): Facts {
  const v = graph.valueInfo.get(name) ?? graph.outputs.find((o) => o.name === name);
  if (!v?.type || (v.type.kind !== 'tensor')) return undefined;
  return { elemType: v.elemType || undefined, shape: v.shape && normalizeDims(v.shape) };
}

function normalizeDims(dims: readonly Dim[]): Dim[] {
  return dims.map((d) => (typeof d === 'number' ? (d >= 0 ? d : null) : d === '' ? null : d));
}

function clean(f: ValueFacts): ValueFacts {
  const shape = f.shape;
  if (f.value === undefined) return f;
  const n = shape === undefined ? undefined : shape.length === 0 ? 1 : shape[0];
  const ok = shape !== undefined && shape.length <= 1 && f.value.length === n && f.value.length <= MAX_VALUE_ELEMENTS;
  return ok ? f : { elemType: f.elemType, shape: f.shape };
}

// ---- helpers --------------------------------------------------------------------------------

const t = (elemType: DataType | undefined, shape: readonly Dim[] | undefined, value?: readonly Dim[]): ValueFacts =>
  value === undefined ? { elemType, shape } : { elemType, shape, value };

/** The known numbers of an input's value (all elements known), else undefined. */
function nums(f: Facts): number[] | undefined {
  if (!f?.value || !f.value.every((d) => typeof d === 'number')) return undefined;
  return f.value as number[];
}

function axis(a: number, rank: number): number {
  return a < 0 ? a + rank : a;
}

function product(dims: readonly Dim[]): Dim {
  let p = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return null;
    p *= d;
  }
  return p;
}

/** Multidirectional (numpy) broadcasting of shapes. */
export function broadcastShapes(shapes: readonly (readonly Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(0, ...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = i - (rank - s!.length);
      if (k < 0) continue;
      d = broadcastDim(d, s![k]!);
    }
    out.push(d);
  }
  return out;
}

function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === b) return a;
  if (typeof a === 'number' && typeof b !== 'number') return a; // b must be a (or 1, which a is not)
  if (typeof b === 'number' && typeof a !== 'number') return b;
  return null;
}

/** Element-wise on values with scalar / 1-D broadcasting. */
function mapValues(ins: readonly Facts[], f: (...xs: number[]) => number | undefined, symbolic?: (xs: Dim[]) => Dim): Dim[] | undefined {
  const vals = ins.map((x) => x?.value);
  if (vals.some((v) => v === undefined)) return undefined;
  const len = Math.max(...vals.map((v) => v!.length));
  if (vals.some((v) => v!.length !== len && v!.length !== 1)) return undefined;
  const out: Dim[] = [];
  for (let i = 0; i < len; i++) {
    const xs = vals.map((v) => v![v!.length === 1 ? 0 : i]!);
    if (xs.every((x) => typeof x === 'number')) {
      const r = f(...(xs as number[]));
      out.push(r === undefined || !Number.isFinite(r) ? null : r);
    } else {
      out.push(symbolic ? symbolic(xs) : null);
    }
  }
  return out;
}

function intAttrs(n: Node, name: string): number[] | undefined {
  return n.attribute(name) ? n.getInts(name) : undefined;
}

/** An axes-like input (input i) or attribute, as numbers; null when given but unknown. */
function listArg(a: RuleArgs, i: number, attrName: string): number[] | undefined | null {
  if (a.has(i)) return nums(a.ins[i]) ?? null;
  return intAttrs(a.node, attrName);
}

function elem(a: RuleArgs, i = 0): DataType | undefined {
  return a.ins[i]?.elemType;
}

function shapeOf(a: RuleArgs, i = 0): readonly Dim[] | undefined {
  return a.ins[i]?.shape;
}

function divDim(a: Dim, b: number): Dim {
  return typeof a === 'number' && a % b === 0 ? a / b : null;
}

function mulDim(a: Dim, b: number): Dim {
  if (b === 1) return a;
  return typeof a === 'number' ? a * b : null;
}

// ---- rules ----------------------------------------------------------------------------------

const same: Rule = (a) => [t(elem(a), shapeOf(a))];
const sameBool: Rule = (a) => [t(DataType.BOOL, shapeOf(a))];

function binary(f?: (x: number, y: number) => number | undefined, symbolic?: (xs: Dim[]) => Dim, bool = false): Rule {
  return (a) => {
    const shape = broadcastShapes([shapeOf(a, 0), shapeOf(a, 1)]);
    const type = bool ? DataType.BOOL : elem(a, 0) ?? elem(a, 1);
    const value = f ? mapValues([a.ins[0], a.ins[1]], (x, y) => f(x!, y!), symbolic) : undefined;
    const integer = isIntegerType(type);
    return [t(type, shape, value && integer ? value.map((v) => (typeof v === 'number' ? Math.trunc(v) : v)) : value)];
  };
}

const variadic: Rule = (a) => [t(elem(a), broadcastShapes(a.ins.map((f) => f?.shape)))];

/** ReduceX: axes from the input (ReduceSum 13+, the rest 18+) or the attribute. */
const reduce: Rule = (a) => {
  const shape = shapeOf(a);
  const keep = a.node.getInt('keepdims', 1) === 1;
  const axes = listArg(a, 1, 'axes');
  if (!shape || axes === null) return [t(elem(a), undefined)];
  const noop = a.node.getInt('noop_with_empty_axes', 0) === 1;
  const list = axes === undefined || axes.length === 0 ? (noop ? [] : shape.map((_, i) => i)) : axes.map((x) => axis(x, shape.length));
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (!list.includes(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return [t(elem(a), out)];
};

function argReduce(a: RuleArgs): Facts[] {
  const shape = shapeOf(a);
  if (!shape) return [t(DataType.INT64, undefined)];
  const ax = axis(a.node.getInt('axis', 0), shape.length);
  const keep = a.node.getInt('keepdims', 1) === 1;
  return [t(DataType.INT64, keep ? shape.map((d, i) => (i === ax ? 1 : d)) : shape.filter((_, i) => i !== ax))];
}

interface Window { kernel: number[]; strides: number[]; dilations: number[]; pads: number[]; autoPad: string }

function window(n: Node, spatial: number, kernelFallback?: readonly Dim[]): Window | undefined {
  const kernel = intAttrs(n, 'kernel_shape') ?? (kernelFallback && kernelFallback.every((d) => typeof d === 'number') ? [...kernelFallback as number[]] : undefined);
  if (!kernel || kernel.length !== spatial) return undefined;
  return {
    kernel,
    strides: intAttrs(n, 'strides') ?? kernel.map(() => 1),
    dilations: intAttrs(n, 'dilations') ?? kernel.map(() => 1),
    pads: intAttrs(n, 'pads') ?? kernel.flatMap(() => [0]).concat(kernel.map(() => 0)),
    autoPad: n.getString('auto_pad', 'NOTSET'),
  };
}

function windowDims(x: readonly Dim[], w: Window, ceil: boolean): Dim[] {
  const spatial = x.length - 2;
  const out: Dim[] = [];
  for (let i = 0; i < spatial; i++) {
    const d = x[i + 2]!;
    if (typeof d !== 'number') { out.push(null); continue; }
    const s = w.strides[i]!;
    const k = (w.kernel[i]! - 1) * w.dilations[i]! + 1;
    if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') { out.push(Math.ceil(d / s)); continue; }
    if (w.autoPad === 'VALID') { out.push(Math.floor((d - k) / s) + 1); continue; }
    const pb = w.pads[i]!;
    const pe = w.pads[i + spatial]!;
    const span = d + pb + pe - k;
    let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (ceil && (o - 1) * s >= d + pb) o--; // the last window must start inside the input or its begin padding
    out.push(o);
  }
  return out;
}

const conv: Rule = (a) => {
  const x = shapeOf(a);
  const w = shapeOf(a, 1);
  const type = elem(a) ?? elem(a, 1);
  if (!x || x.length < 3) return [t(type, undefined)];
  const win = w ? window(a.node, x.length - 2, w.slice(2)) : undefined;
  const channels = w ? w[0]! : null;
  if (!win) return [t(type, [x[0]!, channels, ...x.slice(2).map(() => null)])];
  return [t(type, [x[0]!, channels, ...windowDims(x, win, false)])];
};

const convTranspose: Rule = (a) => {
  const x = shapeOf(a);
  const w = shapeOf(a, 1);
  const type = elem(a);
  if (!x || x.length < 3 || !w) return [t(type, undefined)];
  const group = a.node.getInt('group', 1);
  const channels = typeof w[1] === 'number' ? w[1] * group : null;
  const spatial = x.length - 2;
  const given = intAttrs(a.node, 'output_shape');
  if (given) return [t(type, [x[0]!, channels, ...given.slice(-spatial)])];
  const win = window(a.node, spatial, w.slice(2));
  if (!win) return [t(type, [x[0]!, channels, ...x.slice(2).map(() => null)])];
  const outPad = intAttrs(a.node, 'output_padding') ?? win.kernel.map(() => 0);
  const dims = x.slice(2).map((d, i) => {
    if (typeof d !== 'number') return null;
    if (win.autoPad === 'SAME_UPPER' || win.autoPad === 'SAME_LOWER') return d * win.strides[i]!;
    const pads = win.autoPad === 'VALID' ? 0 : win.pads[i]! + win.pads[i + spatial]!;
    return win.strides[i]! * (d - 1) + outPad[i]! + (win.kernel[i]! - 1) * win.dilations[i]! + 1 - pads;
  });
  return [t(type, [x[0]!, channels, ...dims])];
};

const pool: Rule = (a) => {
  const x = shapeOf(a);
  if (!x || x.length < 3) return [t(elem(a), undefined), t(DataType.INT64, undefined)];
  const win = window(a.node, x.length - 2);
  const dims = win ? windowDims(x, win, a.node.getInt('ceil_mode', 0) === 1) : x.slice(2).map(() => null);
  const shape = [x[0]!, x[1]!, ...dims];
  return [t(elem(a), shape), t(DataType.INT64, shape)];
};

const globalPool: Rule = (a) => {
  const x = shapeOf(a);
  return [t(elem(a), x && x.map((d, i) => (i < 2 ? d : 1)))];
};

const matmul: Rule = (a) => {
  const type = elem(a) ?? elem(a, 1);
  const x = shapeOf(a);
  const y = shapeOf(a, 1);
  if (!x || !y || x.length === 0 || y.length === 0) return [t(type, undefined)];
  const xs = x.length === 1 ? [1, x[0]!] : x;
  const ys = y.length === 1 ? [y[0]!, 1] : y;
  const batch = broadcastShapes([xs.slice(0, -2), ys.slice(0, -2)])!;
  const out = [...batch, ...(x.length === 1 ? [] : [xs[xs.length - 2]!]), ...(y.length === 1 ? [] : [ys[ys.length - 1]!])];
  return [t(type, out)];
};

const gemm: Rule = (a) => {
  const x = shapeOf(a);
  const y = shapeOf(a, 1);
  const type = elem(a) ?? elem(a, 1);
  if (!x || !y || x.length !== 2 || y.length !== 2) return [t(type, [null, null])];
  const m = a.node.getInt('transA', 0) ? x[1]! : x[0]!;
  const n = a.node.getInt('transB', 0) ? y[0]! : y[1]!;
  return [t(type, [m, n])];
};

const reshape: Rule = (a) => {
  const x = shapeOf(a);
  const spec = a.has(1) ? a.ins[1]?.value : intAttrs(a.node, 'shape');
  if (!spec) {
    const rank = a.ins[1]?.shape?.[0];
    return [t(elem(a), typeof rank === 'number' ? Array.from({ length: rank }, () => null) : undefined)];
  }
  const allowZero = a.node.getInt('allowzero', 0) === 1;
  const out: Dim[] = spec.map((d, i) => (d === 0 && !allowZero ? (x ? x[i] ?? null : null) : d === -1 ? -1 : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) out[minus] = x ? inferredDim(x, out.filter((_, i) => i !== minus)) : null;
  return [t(elem(a), out)];
};

/** The -1 of a Reshape: product(input) / product(other output dims), symbols cancelled. */
function inferredDim(input: readonly Dim[], others: readonly Dim[]): Dim {
  const num = [...input];
  const den: Dim[] = [];
  for (const d of others) {
    const k = typeof d === 'string' ? num.indexOf(d) : -1;
    if (k >= 0) num.splice(k, 1);
    else den.push(d);
  }
  const p = product(num);
  const q = product(den);
  if (typeof p !== 'number' || typeof q !== 'number' || q === 0 || p % q !== 0) return null;
  return p / q;
}

const flatten: Rule = (a) => {
  const x = shapeOf(a);
  if (!x) return [t(elem(a), [null, null])];
  const ax = axis(a.node.getInt('axis', 1), x.length);
  return [t(elem(a), [product(x.slice(0, ax)), product(x.slice(ax))])];
};

const transpose: Rule = (a) => {
  const x = shapeOf(a);
  if (!x) return [t(elem(a), undefined)];
  const perm = intAttrs(a.node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
  return [t(elem(a), perm.map((p) => x[p] ?? null))];
};

const squeeze: Rule = (a) => {
  const x = shapeOf(a);
  const axes = listArg(a, 1, 'axes');
  if (!x || axes === null) return [t(elem(a), undefined)];
  const list = axes === undefined ? x.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : axes.map((v) => axis(v, x.length));
  if (axes === undefined && x.some((d) => typeof d !== 'number')) return [t(elem(a), undefined)];
  const shape = x.filter((_, i) => !list.includes(i));
  const v = a.ins[0]?.value;
  return [t(elem(a), shape, v && shape.length === 0 && v.length === 1 ? v : v && shape.length === 1 ? v : undefined)];
};

const unsqueeze: Rule = (a) => {
  const x = shapeOf(a);
  const axes = listArg(a, 1, 'axes');
  if (!x || !axes) return [t(elem(a), undefined)];
  const rank = x.length + axes.length;
  const list = axes.map((v) => axis(v, rank));
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(list.includes(i) ? 1 : x[k++] ?? null);
  const v = a.ins[0]?.value;
  return [t(elem(a), out, v && out.length === 1 ? v : undefined)];
};

const concat: Rule = (a) => {
  const shapes = a.ins.map((f) => f?.shape);
  const type = a.ins.find((f) => f?.elemType !== undefined)?.elemType;
  if (shapes.some((s) => s === undefined)) return [t(type, undefined)];
  const rank = shapes[0]!.length;
  const ax = axis(a.node.getInt('axis', 0), rank);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    if (i === ax) {
      out.push(shapes.reduce<Dim>((s, x) => (typeof s === 'number' && typeof x![i] === 'number' ? s + (x![i] as number) : null), 0));
    } else {
      out.push(shapes.map((x) => x![i]!).reduce((p, d) => (typeof p === 'number' ? p : typeof d === 'number' ? d : p === d ? p : p ?? d)));
    }
  }
  const vals = a.ins.map((f) => f?.value);
  const value = rank === 1 && vals.every((v) => v !== undefined) ? vals.flatMap((v) => [...v!]) : undefined;
  return [t(type, out, value)];
};

const split: Rule = (a) => {
  const x = shapeOf(a);
  const count = a.node.outputs.length;
  if (!x) return a.node.outputs.map(() => t(elem(a), undefined));
  const ax = axis(a.node.getInt('axis', 0), x.length);
  let sizes = listArg(a, 1, 'split');
  const d = x[ax];
  if (sizes === undefined && typeof d === 'number') {
    const chunk = Math.ceil(d / count);
    sizes = Array.from({ length: count }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk)));
  }
  return a.node.outputs.map((_, i) => t(elem(a), x.map((dim, k) => (k === ax ? (sizes ? sizes[i] ?? null : null) : dim))));
};

const slice: Rule = (a) => {
  const x = shapeOf(a);
  if (!x) return [t(elem(a), undefined)];
  const byInputs = a.node.inputs.length > 1;
  const starts = byInputs ? nums(a.ins[1]) : intAttrs(a.node, 'starts');
  const ends = byInputs ? nums(a.ins[2]) : intAttrs(a.node, 'ends');
  const axesArg = byInputs ? (a.has(3) ? nums(a.ins[3]) ?? null : undefined) : intAttrs(a.node, 'axes');
  const steps = byInputs && a.has(4) ? nums(a.ins[4]) ?? null : undefined;
  if (!starts || !ends || axesArg === null || steps === null) {
    return [t(elem(a), x.map(() => null))];
  }
  const axes = (axesArg ?? starts.map((_, i) => i)).map((v) => axis(v, x.length));
  const out: Dim[] = [...x];
  const v = a.ins[0]?.value;
  let value: Dim[] | undefined;
  axes.forEach((ax, i) => {
    const d = x[ax];
    if (typeof d !== 'number') { out[ax] = null; return; }
    const [lo, len, step] = sliceRange(starts[i]!, ends[i]!, steps?.[i] ?? 1, d);
    out[ax] = len;
    if (v && x.length === 1) value = Array.from({ length: len }, (_, k) => v[lo + k * step] ?? null);
  });
  return [t(elem(a), out, value)];
};

/** A Slice on one axis of size d: [first index, element count, step]. */
function sliceRange(start: number, end: number, step: number, d: number): [number, number, number] {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + d : start;
  let e = end < 0 ? end + d : end;
  if (step > 0) {
    s = clamp(s, 0, d);
    e = clamp(e, 0, d);
    return [s, Math.max(0, Math.ceil((e - s) / step)), step];
  }
  s = clamp(s, 0, d - 1);
  e = clamp(e, -1, d - 1);
  return [s, Math.max(0, Math.ceil((e - s) / step)), step];
}

const gather: Rule = (a) => {
  const x = shapeOf(a);
  const idx = shapeOf(a, 1);
  if (!x || !idx) return [t(elem(a), undefined)];
  const ax = axis(a.node.getInt('axis', 0), x.length);
  const shape = [...x.slice(0, ax), ...idx, ...x.slice(ax + 1)];
  const v = a.ins[0]?.value;
  const i = nums(a.ins[1]);
  const value = v && i && x.length === 1 ? i.map((k) => v[k < 0 ? k + v.length : k] ?? null) : undefined;
  return [t(elem(a), shape, value)];
};

const shapeRule: Rule = (a) => {
  const x = shapeOf(a);
  if (!x) return [t(DataType.INT64, [null])];
  const r = x.length;
  const clampAxis = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const start = clampAxis(a.node.getInt('start', 0));
  const end = clampAxis(a.node.getInt('end', r));
  const dims = x.slice(start, Math.max(start, end));
  return [t(DataType.INT64, [dims.length], dims)];
};

const size: Rule = (a) => {
  const x = shapeOf(a);
  const p = x ? product(x) : null;
  return [t(DataType.INT64, [], p === null ? undefined : [p])];
};

const cast: Rule = (a) => {
  const to = a.node.getInt('to') as DataType;
  const v = a.ins[0]?.value;
  const value = v && (to === DataType.BOOL
    ? v.map((d) => (typeof d === 'number' ? (d !== 0 ? 1 : 0) : null))
    : isIntegerType(to) ? v.map((d) => (typeof d === 'number' ? Math.trunc(d) : isIntegerType(elem(a)) ? d : null))
      : to === DataType.FLOAT || to === DataType.DOUBLE ? v.map((d) => (typeof d === 'number' ? (to === DataType.FLOAT ? Math.fround(d) : d) : null)) : undefined);
  return [t(to, shapeOf(a), value)];
};

const constant: Rule = (a) => {
  const n = a.node;
  const tensor = n.attribute('value');
  if (tensor?.type === 'tensor') return [tensorFacts(tensor.value)];
  if (n.attribute('value_float')) return [t(DataType.FLOAT, [], [n.getFloat('value_float')])];
  if (n.attribute('value_floats')) { const v = n.getFloats('value_floats'); return [t(DataType.FLOAT, [v.length], v.length <= MAX_VALUE_ELEMENTS ? v : undefined)]; }
  if (n.attribute('value_int')) return [t(DataType.INT64, [], [n.getInt('value_int')])];
  if (n.attribute('value_ints')) { const v = n.getInts('value_ints'); return [t(DataType.INT64, [v.length], v.length <= MAX_VALUE_ELEMENTS ? v : undefined)]; }
  if (n.attribute('value_string')) return [t(DataType.STRING, [])];
  if (n.attribute('value_strings')) return [t(DataType.STRING, [n.getStrings('value_strings').length])];
  return [];
};

const constantOfShape: Rule = (a) => {
  const shape = a.ins[0]?.value;
  const attrValue = a.node.attribute('value');
  const fill = attrValue?.type === 'tensor' ? attrValue.value : undefined;
  const type = fill?.dataType ?? DataType.FLOAT;
  if (!shape) {
    const rank = shapeOf(a)?.[0];
    return [t(type, typeof rank === 'number' ? Array.from({ length: rank }, () => null) : undefined)];
  }
  let value: Dim[] | undefined;
  if (shape.length <= 1 && shape.every((d) => typeof d === 'number')) {
    const count = shape.length === 0 ? 1 : (shape[0] as number);
    const v = fill ? tensorFacts(fill).value?.[0] : 0;
    if (count <= MAX_VALUE_ELEMENTS && v !== undefined) value = Array.from({ length: count }, () => v);
  }
  return [t(type, shape, value)];
};

const expand: Rule = (a) => {
  const target = a.ins[1]?.value;
  if (!target) return [t(elem(a), undefined)];
  return [t(elem(a), broadcastShapes([shapeOf(a), target]))];
};

const tile: Rule = (a) => {
  const x = shapeOf(a);
  const reps = nums(a.ins[1]);
  if (!x) return [t(elem(a), undefined)];
  return [t(elem(a), x.map((d, i) => (reps ? mulDim(d, reps[i]!) : null)))];
};

const pad: Rule = (a) => {
  const x = shapeOf(a);
  const pads = a.has(1) ? nums(a.ins[1]) : intAttrs(a.node, 'pads');
  if (!x) return [t(elem(a), undefined)];
  if (!pads) return [t(elem(a), x.map(() => null))];
  const axes = a.has(3) ? nums(a.ins[3]) : x.map((_, i) => i);
  if (!axes) return [t(elem(a), x.map(() => null))];
  const out = [...x];
  axes.forEach((ax0, i) => {
    const ax = axis(ax0, x.length);
    const d = x[ax];
    out[ax] = typeof d === 'number' ? d + pads[i]! + pads[i + axes.length]! : null;
  });
  return [t(elem(a), out)];
};

const resize: Rule = (a) => {
  const x = shapeOf(a);
  if (!x) return [t(elem(a), undefined)];
  const isUpsample = a.node.opType === 'Upsample';
  const scalesIndex = isUpsample || a.node.inputs.length === 2 ? 1 : 2;
  const sizes = !isUpsample && a.has(3) ? nums(a.ins[3]) : undefined;
  if (sizes && sizes.length === x.length) return [t(elem(a), sizes)];
  const scales = a.has(scalesIndex) && (a.ins[scalesIndex]?.shape?.[0] ?? 0) !== 0 ? nums(a.ins[scalesIndex]) : a.node.attribute('scales') ? a.node.getFloats('scales') : undefined;
  if (!scales || scales.length !== x.length) return [t(elem(a), x.map(() => null))];
  return [t(elem(a), x.map((d, i) => (scales[i] === 1 ? d : typeof d === 'number' ? Math.floor(Math.fround(d * Math.fround(scales[i]!))) : null)))];
};

const range: Rule = (a) => {
  const [s, l, d] = [nums(a.ins[0])?.[0], nums(a.ins[1])?.[0], nums(a.ins[2])?.[0]];
  if (s === undefined || l === undefined || d === undefined || d === 0) return [t(elem(a), [null])];
  const count = Math.max(0, Math.ceil((l - s) / d));
  const value = count <= MAX_VALUE_ELEMENTS ? Array.from({ length: count }, (_, i) => s + i * d) : undefined;
  return [t(elem(a), [count], value)];
};

const depthToSpace: Rule = (a) => {
  const x = shapeOf(a);
  const b = a.node.getInt('blocksize');
  if (!x || x.length !== 4) return [t(elem(a), undefined)];
  return [t(elem(a), [x[0]!, divDim(x[1]!, b * b), mulDim(x[2]!, b), mulDim(x[3]!, b)])];
};

const spaceToDepth: Rule = (a) => {
  const x = shapeOf(a);
  const b = a.node.getInt('blocksize');
  if (!x || x.length !== 4) return [t(elem(a), undefined)];
  return [t(elem(a), [x[0]!, mulDim(x[1]!, b * b), divDim(x[2]!, b), divDim(x[3]!, b)])];
};

const topK: Rule = (a) => {
  const x = shapeOf(a);
  if (!x) return [t(elem(a), undefined), t(DataType.INT64, undefined)];
  const ax = axis(a.node.getInt('axis', -1), x.length);
  const k = a.has(1) ? nums(a.ins[1])?.[0] ?? null : a.node.getInt('k', 0);
  const shape = x.map((d, i) => (i === ax ? k : d));
  return [t(elem(a), shape), t(DataType.INT64, shape)];
};

const where: Rule = (a) => {
  const shape = broadcastShapes([shapeOf(a, 0), shapeOf(a, 1), shapeOf(a, 2)]);
  const value = mapValues([a.ins[0], a.ins[1], a.ins[2]], (c, x, y) => (c ? x : y), (xs) => (typeof xs[0] === 'number' ? (xs[0] ? xs[1]! : xs[2]!) : null));
  return [t(elem(a, 1) ?? elem(a, 2), shape, value)];
};

const layerNorm: Rule = (a) => {
  const x = shapeOf(a);
  const ax = x ? axis(a.node.getInt('axis', -1), x.length) : 0;
  const stats = x && x.map((d, i) => (i < ax ? d : 1));
  return [t(elem(a), x), t(DataType.FLOAT, stats), t(DataType.FLOAT, stats)];
};

const dropout: Rule = (a) => [t(elem(a), shapeOf(a)), t(DataType.BOOL, shapeOf(a))];

const batchNorm: Rule = (a) => [t(elem(a), shapeOf(a)), ...[1, 2, 3, 4].map((i) => t(elem(a, i), shapeOf(a, i)))];

const quantize: Rule = (a) => [t(a.has(2) ? elem(a, 2) : DataType.UINT8, shapeOf(a))];
const dequantize: Rule = (a) => [t(elem(a, 1) ?? DataType.FLOAT, shapeOf(a))];

const gatherND: Rule = (a) => {
  const x = shapeOf(a);
  const idx = shapeOf(a, 1);
  if (!x || !idx || idx.length === 0) return [t(elem(a), undefined)];
  const k = idx[idx.length - 1];
  const b = a.node.getInt('batch_dims', 0);
  if (typeof k !== 'number') return [t(elem(a), undefined)];
  return [t(elem(a), [...idx.slice(0, -1), ...x.slice(b + k)])];
};

const oneHot: Rule = (a) => {
  const idx = shapeOf(a);
  const depth = nums(a.ins[1])?.[0] ?? null;
  if (!idx) return [t(elem(a, 2), undefined)];
  const rank = idx.length + 1;
  const ax = axis(a.node.getInt('axis', -1), rank);
  const out = [...idx];
  out.splice(ax, 0, depth);
  return [t(elem(a, 2), out)];
};

const isZero = (d: Dim) => d === 0;
const isOne = (d: Dim) => d === 1;
const add = binary((x, y) => x + y, (xs) => (isZero(xs[0]!) ? xs[1]! : isZero(xs[1]!) ? xs[0]! : null));
const sub = binary((x, y) => x - y, (xs) => (isZero(xs[1]!) ? xs[0]! : null));
const mul = binary((x, y) => x * y, (xs) => (isOne(xs[0]!) ? xs[1]! : isOne(xs[1]!) ? xs[0]! : null));
const div = binary((x, y) => (y === 0 ? undefined : x / y), (xs) => (isOne(xs[1]!) ? xs[0]! : null));
const cmp = (f: (x: number, y: number) => boolean) => binary((x, y) => (f(x, y) ? 1 : 0), (xs) => (f === eq && xs[0] === xs[1] ? 1 : null), true);
const eq = (x: number, y: number) => x === y;

const UNARY = [
  'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign', 'Gelu',
  'Mish', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Neg', 'Abs', 'Ceil', 'Floor', 'Round', 'Sign', 'Erf', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos',
  'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Identity', 'Clip', 'Softmax', 'LogSoftmax', 'Hardmax', 'LRN',
  'InstanceNormalization', 'GroupNormalization', 'MeanVarianceNormalization', 'Shrink', 'ThresholdedRelu', 'CumSum', 'Trilu',
  'ReverseSequence', 'BitShift', 'ScatterND', 'ScatterElements', 'Scatter', 'EyeLike', 'RandomNormalLike', 'RandomUniformLike',
  'Bernoulli', 'LpNormalization', 'BitwiseNot',
] as const;

const RULES: Record<string, Rule> = {
  ...Object.fromEntries(UNARY.map((op) => [op, same])),
  Identity: (a) => [t(elem(a), shapeOf(a), a.ins[0]?.value)],
  Neg: (a) => [t(elem(a), shapeOf(a), mapValues([a.ins[0]], (x) => -x!))],
  Abs: (a) => [t(elem(a), shapeOf(a), mapValues([a.ins[0]], (x) => Math.abs(x!)))],
  Not: (a) => [t(DataType.BOOL, shapeOf(a), mapValues([a.ins[0]], (x) => (x ? 0 : 1)))],
  IsNaN: sameBool,
  IsInf: sameBool,
  Dropout: dropout,
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  Cast: cast,
  CastLike: (a) => [t(elem(a, 1), shapeOf(a))],
  Constant: constant,
  QuantizeLinear: quantize,
  DequantizeLinear: dequantize,
  Add: add, Sub: sub, Mul: mul, Div: div,
  Pow: binary(), Mod: binary(), BitwiseAnd: binary(), BitwiseOr: binary(), BitwiseXor: binary(),
  Max: (a) => a.ins.length === 2 ? binary((x, y) => Math.max(x, y))(a) : variadic(a),
  Min: (a) => a.ins.length === 2 ? binary((x, y) => Math.min(x, y))(a) : variadic(a),
  Sum: variadic, Mean: variadic,
  And: binary((x, y) => (x && y ? 1 : 0), undefined, true),
  Or: binary((x, y) => (x || y ? 1 : 0), undefined, true),
  Xor: binary((x, y) => ((x ? 1 : 0) ^ (y ? 1 : 0)), undefined, true),
  Equal: cmp(eq),
  Less: cmp((x, y) => x < y), Greater: cmp((x, y) => x > y),
  LessOrEqual: cmp((x, y) => x <= y), GreaterOrEqual: cmp((x, y) => x >= y),
  Where: where,
  MatMul: matmul,
  MatMulInteger: (a) => [t(DataType.INT32, matmul(a)[0]?.shape)],
  Gemm: gemm,
  Conv: conv,
  ConvInteger: (a) => [t(DataType.INT32, conv(a)[0]?.shape)],
  ConvTranspose: convTranspose,
  MaxPool: pool, AveragePool: pool, LpPool: pool,
  GlobalAveragePool: globalPool, GlobalMaxPool: globalPool, GlobalLpPool: globalPool,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  GatherElements: (a) => [t(elem(a), shapeOf(a, 1))],
  GatherND: gatherND,
  Shape: shapeRule,
  Size: size,
  ConstantOfShape: constantOfShape,
  Expand: expand,
  Tile: tile,
  Pad: pad,
  Resize: resize,
  Upsample: resize,
  Range: range,
  DepthToSpace: depthToSpace,
  SpaceToDepth: spaceToDepth,
  TopK: topK,
  ArgMax: argReduce,
  ArgMin: argReduce,
  NonZero: (a) => [t(DataType.INT64, [shapeOf(a)?.length ?? null, null])],
  NonMaxSuppression: () => [t(DataType.INT64, [null, 3])],
  OneHot: oneHot,
  ...Object.fromEntries(['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']
    .map((op) => [op, reduce])),
};

/** The ops this module has rules for (for docs and tests). */
export const INFERRED_OPS: readonly string[] = Object.keys(RULES).sort();
