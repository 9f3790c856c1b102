/**
 * What an op converter works with: the (simplified, shape-fixed) ONNX graph, the constants, the
 * static shape of every value and where its batch axis is, and the ncnn net being built.
 *
 * Layout. ncnn blobs have no batch axis: an ONNX value [1, C, H, W] is the 3-D mat [C, H, W].
 * Each value records which of its axes the ncnn blob keeps (`keep`): all but the batch, as a
 * rule; after a Transpose the dropped axis may sit elsewhere, and ncnn's global pooling makes
 * [1, C, 1, 1] the 1-D [C]. Dropped axes are size 1, so the elements are in the same order
 * either way, and an ONNX axis maps to the ncnn axis of the same position among the kept ones
 * (ncnn numbers axes outer to inner too: 0 = c of a 3-D mat). An op that needs an axis its
 * input dropped asks for a layout that keeps it, and gets a Reshape.
 */
import { FerryError } from '../../errors.js';
import type { Graph } from '../../onnx/ir/graph.js';
import type { Node } from '../../onnx/ir/node.js';
import { describeNode } from '../../onnx/ir/node.js';
import type { Tensor } from '../../onnx/ir/tensor.js';
import { DataType } from '../../onnx/ir/data-type.js';
import type { ShapeTable } from '../../onnx/shape-inference.js';
import { isStatic } from '../../onnx/shape-inference.js';
import { constantTensor } from '../../onnx/passes/util.js';
import type { Layer, LayerInit, Param } from './net.js';
import { Net, floatWeight, layer, p } from './net.js';

export interface ValueLayout {
  /** The ONNX dims (static). */
  readonly shape: readonly number[];
  /** Which ONNX axes the ncnn blob has (the others are size 1 and dropped: the batch, squeezed axes). */
  readonly keep: readonly boolean[];
}

/** ncnn's mats have at most 4 dims (w, h, d, c). */
export const MAX_NCNN_RANK = 4;

/** The ncnn dims (outer to inner) of a layout. */
export function ncnnDims(l: ValueLayout): number[] {
  return l.shape.filter((_, i) => l.keep[i]);
}

/**
 * The usual layout of a value of these dims: every axis but a leading size-1 one (the batch),
 * and, past 4 dims, size-1 axes from the left dropped too; at least one axis is kept.
 */
export function defaultKeep(shape: readonly number[]): boolean[] {
  const keep = shape.map((d, i) => !(i === 0 && d === 1 && shape.length > 1));
  for (let i = 0, n = keep.filter(Boolean).length; n > MAX_NCNN_RANK && i < shape.length; i++) {
    if (keep[i] && shape[i] === 1) {
      keep[i] = false;
      n--;
    }
  }
  return keep;
}

const keyOf = (keep: readonly boolean[]): string => keep.map((k) => (k ? '1' : '0')).join('');

export class ConvertContext {
  readonly graph: Graph;
  readonly net = new Net();
  readonly #facts: ShapeTable;
  readonly #layouts = new Map<string, ValueLayout>();
  /** ONNX value name -> the blob holding it (its own name made unique, or the blob an alias points at). */
  readonly #blobs = new Map<string, string>();
  /** Reshaped copies of values: `${value}|${keep}` -> blob. */
  readonly #reshaped = new Map<string, string>();
  readonly #names = new Set<string>();
  readonly #blobNames = new Set<string>();

  /** The model's default-domain opset (some ops changed meaning between opsets). */
  readonly opset: number;

  constructor(graph: Graph, facts: ShapeTable, opset: number) {
    this.graph = graph;
    this.#facts = facts;
    this.opset = opset;
  }

  // ---- constants ------------------------------------------------------------------------------

  /** The constant tensor of a value (initializer or Constant output), or undefined. */
  constant(name: string): Tensor | undefined {
    return name ? constantTensor(this.graph, name) : undefined;
  }

  /** A constant input's values as float32; throws UNSUPPORTED_OP naming the node when it is not constant. */
  floats(node: Node, index: number, what: string): Float32Array {
    const t = this.constant(node.inputs[index] ?? '');
    if (!t) throw this.unsupported(node, `takes its ${what} (input ${index}) from a value computed at run time; ncnn needs it constant`);
    return floatData(t);
  }

  /** A constant input's values as integers; undefined when the input is absent. */
  ints(node: Node, index: number, what: string): number[] | undefined {
    const name = node.inputs[index];
    if (!name) return undefined;
    const t = this.constant(name);
    if (!t) throw this.unsupported(node, `takes its ${what} (input ${index}) from a value computed at run time; ncnn needs it constant`);
    return t.numbers().map(Number);
  }

  // ---- layouts --------------------------------------------------------------------------------

  /** The layout of a value; its dims must be static. Constants keep every axis. */
  layout(name: string, node?: Node): ValueLayout {
    const known = this.#layouts.get(name);
    if (known) return known;
    const t = this.constant(name);
    if (t) return { shape: t.dims, keep: t.dims.map(() => true) };
    return { shape: this.#inferred(name, node), keep: [] };
  }

  /** The inferred ONNX dims of a value. */
  shape(name: string, node?: Node): readonly number[] {
    const t = this.constant(name);
    return t ? t.dims : this.#inferred(name, node);
  }

  #inferred(name: string, node?: Node): readonly number[] {
    const f = this.#facts.get(name);
    if (!f || !isStatic(f.shape)) {
      throw new FerryError('UNSUPPORTED_OP', `${node ? `${describeNode(node)}: ` : ''}the dims of "${name}" are not known statically (${f?.shape ? `[${f.shape.join(',')}]` : 'unknown rank'}); give the input dims with --input-shape NAME:D1,D2,...`);
    }
    return f.shape;
  }

  /** The ncnn axis of ONNX axis `axis` (negative counts from the end) in `layout`; throws when that axis is dropped. */
  axis(node: Node, layout: ValueLayout, axis: number): number {
    const a = axis < 0 ? axis + layout.shape.length : axis;
    if (a < 0 || a >= layout.shape.length) throw this.unsupported(node, `has axis ${axis}, out of range for [${layout.shape.join(',')}]`);
    if (!layout.keep[a]) throw this.unsupported(node, `works along axis ${axis} of [${layout.shape.join(',')}], the batch axis; ncnn blobs have no batch axis`);
    let n = 0;
    for (let i = 0; i < a; i++) if (layout.keep[i]) n++;
    return n;
  }

  /** Normalizes a possibly negative ONNX axis. */
  onnxAxis(node: Node, rank: number, axis: number): number {
    const a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) throw this.unsupported(node, `has axis ${axis}, out of range for rank ${rank}`);
    return a;
  }

  // ---- blobs and layers -----------------------------------------------------------------------

  /**
   * The blob of input `index` of `node`. With `keep`, in exactly that layout: a Reshape is
   * inserted (once per value and layout) when the value has another, and a constant becomes a
   * MemoryData of those dims.
   */
  input(node: Node, index: number, keep?: readonly boolean[]): string {
    const name = node.inputs[index];
    if (!name) throw this.unsupported(node, `lacks input ${index}`);
    const t = this.constant(name);
    if (t) return this.constantBlob(name, keep ? t.dims.filter((_, i) => keep[i]) : t.dims.length ? [...t.dims] : [1]);
    const blob = this.#blobs.get(name);
    if (!blob) throw this.unsupported(node, `reads "${name}" before anything produces it`);
    const l = this.layout(name, node);
    if (!keep || keyOf(keep) === keyOf(l.keep)) return blob;
    if (keep.length !== l.shape.length || l.shape.some((d, i) => !keep[i] && d !== 1)) throw new Error(`layout [${keyOf(keep)}] does not fit "${name}" [${l.shape.join(',')}]`);
    const key = `${name}|${keyOf(keep)}`;
    const known = this.#reshaped.get(key);
    if (known) return known;
    const dims = l.shape.filter((_, i) => keep[i]);
    const top = this.blobName(`${blob}_reshape`);
    this.add({ type: 'Reshape', name: this.layerName(`${blob}_reshape`), bottoms: [blob], tops: [top], params: reshapeParams(dims) });
    this.net.shapes.set(top, dims);
    this.net.sources.set(top, name);
    this.#reshaped.set(key, top);
    return top;
  }

  /** A MemoryData layer holding constant `name` as an ncnn blob of `dims` (same element count). */
  constantBlob(name: string, dims: readonly number[]): string {
    const t = this.constant(name)!;
    const key = `${name}|const|${dims.join(',')}`;
    const known = this.#reshaped.get(key);
    if (known) return known;
    if (dims.length === 0) dims = [1];
    if (dims.length > MAX_NCNN_RANK) throw new FerryError('UNSUPPORTED_OP', `constant "${name}" [${t.dims.join(',')}] needs more than ${MAX_NCNN_RANK} dims`);
    const top = this.blobName(name);
    const [w, h, d, c] = [...dims].reverse();
    const params: [number, Param][] = [[0, p.int(w!)]];
    if (h !== undefined) params.push([1, p.int(h)]);
    if (c !== undefined) params.push([11, p.int(d!)], [2, p.int(c)]);
    else if (d !== undefined) params.push([2, p.int(d)]);
    this.add({ type: 'MemoryData', name: this.layerName(top), tops: [top], params, weights: [floatWeight(floatData(t), false)] });
    this.net.shapes.set(top, [...dims]);
    this.#reshaped.set(key, top);
    return top;
  }

  /**
   * Declares output `index` of `node` with layout `keep` (default: defaultKeep of its dims) and
   * returns its blob. Dropped axes must be size 1; at most 4 kept.
   */
  top(node: Node, index = 0, keep?: readonly boolean[]): string {
    const name = node.outputs[index];
    if (!name) throw this.unsupported(node, `lacks output ${index}`);
    const shape = this.#inferred(name, node);
    const k = keep ? [...keep] : defaultKeep(shape);
    if (k.length !== shape.length || shape.some((d, i) => !k[i] && d !== 1)) throw new Error(`layout [${keyOf(k)}] does not fit output "${name}" [${shape.join(',')}]`);
    if (!k.some(Boolean) && k.length) k[k.length - 1] = true;
    const rank = k.filter(Boolean).length;
    if (rank > MAX_NCNN_RANK) throw this.unsupported(node, `has an output "${name}" [${shape.join(',')}] with ${rank} dims besides the batch; ncnn blobs have at most ${MAX_NCNN_RANK}`);
    const layout = { shape, keep: k };
    this.#layouts.set(name, layout);
    const blob = this.blobName(name);
    this.#blobs.set(name, blob);
    this.net.shapes.set(blob, ncnnDims(layout));
    this.net.sources.set(blob, name);
    return blob;
  }

  /** Declares a graph input: an Input layer. */
  graphInput(name: string, shape: readonly number[]): string {
    const keep = defaultKeep(shape);
    if (shape.length && shape[0] !== 1) throw new FerryError('BAD_SHAPE', `input "${name}" has batch ${shape[0]}; ncnn runs one sample at a time: give --input-shape ${name}:1,...`);
    const layout = { shape, keep };
    this.#layouts.set(name, layout);
    const blob = this.blobName(name);
    this.#blobs.set(name, blob);
    const dims = ncnnDims(layout);
    this.net.shapes.set(blob, dims);
    this.net.sources.set(blob, name);
    this.add({ type: 'Input', name: this.layerName(name), tops: [blob], params: inputParams(dims) });
    return blob;
  }

  /** Makes output `index` of `node` the same blob and layout as input `from` (no layer: Identity, Dropout, no-op Reshape ...). */
  alias(node: Node, index: number, from: number): void {
    const out = node.outputs[index]!;
    const inName = node.inputs[from]!;
    const l = this.layout(inName, node);
    const blob = this.input(node, from);
    this.#layouts.set(out, { shape: this.#inferred(out, node), keep: l.keep.length === this.#inferred(out, node).length ? l.keep : defaultKeep(this.#inferred(out, node)) });
    this.#blobs.set(out, blob);
  }

  /** The blob holding an ONNX value (for graph outputs and reports). */
  blobOf(name: string): string | undefined {
    return this.#blobs.get(name);
  }

  /** A fresh blob name from `base`. */
  blobName(base: string): string {
    return unique(this.#blobNames, sanitize(base));
  }

  /** A fresh layer name from `base`. */
  layerName(base: string): string {
    return unique(this.#names, sanitize(base));
  }

  /** The layer name for a node: its name, else its first output. */
  nodeLayerName(node: Node, suffix = ''): string {
    return this.layerName(`${node.name || node.outputs[0] || node.opType}${suffix}`);
  }

  add(init: LayerInit): Layer {
    const l = layer(init);
    this.#names.add(l.name);
    this.net.layers.push(l);
    return l;
  }

  /** FerryError UNSUPPORTED_OP naming the node and its op. */
  unsupported(node: Node, why: string): FerryError {
    return new FerryError('UNSUPPORTED_OP', `${describeNode(node)}: ${node.opType} ${why}`);
  }
}

/** A tensor's elements as a fresh Float32Array. */
export function floatData(t: Tensor): Float32Array {
  return t.dataType === DataType.FLOAT ? new Float32Array(t.data() as Float32Array) : Float32Array.from(t.numbers());
}

/** Reshape params for ncnn dims (outer to inner): 0=w 1=h 11=d 2=c. */
export function reshapeParams(dims: readonly number[]): [number, Param][] {
  const [w, h, d, c] = [...dims].reverse();
  const out: [number, Param][] = [[0, p.int(w!)]];
  if (h !== undefined) out.push([1, p.int(h)]);
  if (c !== undefined) out.push([11, p.int(d!)], [2, p.int(c)]);
  else if (d !== undefined) out.push([2, p.int(d)]);
  return out;
}

/** Input params for ncnn dims: 0=w 1=h 11=d 2=c. */
function inputParams(dims: readonly number[]): [number, Param][] {
  return reshapeParams(dims);
}

function sanitize(name: string): string {
  const s = name.replace(/[\s=,]+/g, '_');
  return s.length > 200 ? s.slice(0, 200) : s || 'blob';
}

function unique(set: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; set.has(name); i++) name = `${base}_${i}`;
  set.add(name);
  return name;
}
