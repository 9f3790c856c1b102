/**
 * ONNX model -> ncnn net: the input dims are fixed (batch 1), `ferry simplify`'s passes fold the
 * constants, shapes and BatchNorms away, each node goes through its op converter (an op without
 * one is refused, naming the node), the net passes fuse what ncnnoptimize fuses, and blobs read
 * by several layers get Split layers.
 */
import { FerryError } from '../../errors.js';
import type { Model } from '../../onnx/ir/model.js';
import { describeNode } from '../../onnx/ir/node.js';
import { inferShapes, isStatic } from '../../onnx/shape-inference.js';
import type { InputShape } from '../../onnx/simplify.js';
import { fixInputShapes, simplifyModel } from '../../onnx/simplify.js';
import { ConvertContext, ncnnDims } from './context.js';
import type { Net } from './net.js';
import { NET_PASSES } from './optimize/registry.js';
import { converterFor } from './ops/registry.js';
import { insertSplits } from './split.js';

/** A graph input or output and the ncnn blob that holds it. */
export interface BlobBinding {
  /** The ONNX name. */
  readonly name: string;
  /** The ncnn blob name. */
  readonly blob: string;
  /** The ONNX dims (batch 1). */
  readonly shape: readonly number[];
  /** The ncnn dims, outer to inner. */
  readonly ncnnShape: readonly number[];
}

export interface BuildOptions {
  /** Dims of inputs with dynamic dims (a dynamic batch is 1 without it). @defaultValue none */
  readonly inputShapes?: readonly InputShape[];
  /** Net passes not to run, by name. @defaultValue [] */
  readonly skipPasses?: readonly string[];
}

export interface BuiltNet {
  readonly net: Net;
  readonly inputs: readonly BlobBinding[];
  readonly outputs: readonly BlobBinding[];
  /** The simplified model the net was made from (fixed dims): what int8 calibration runs. */
  readonly model: Model;
  /** Rewrites per net pass. */
  readonly passes: Readonly<Record<string, number>>;
  /** ONNX nodes converted (after simplification). */
  readonly nodes: number;
}

/** Builds the ncnn net of `model` (changed in place: dims fixed, simplified). */
export async function buildNet(model: Model, options: BuildOptions = {}): Promise<BuiltNet> {
  fixShapes(model, options.inputShapes ?? []);
  await simplifyModel(model);
  const g = model.graph;
  const facts = inferShapes(g);
  const opset = model.opsetImports.get('') ?? model.opsetImports.get('ai.onnx') ?? 13;
  const ctx = new ConvertContext(g, facts, opset);
  const feedable = g.inputs.filter((v) => !g.initializers.has(v.name));
  const inputs: BlobBinding[] = feedable.map((v) => {
    const shape = v.shape as number[];
    const blob = ctx.graphInput(v.name, shape);
    return { name: v.name, blob, shape, ncnnShape: ncnnDims(ctx.layout(v.name)) };
  });
  const nodes = g.nodes.filter((n) => !(n.opType === 'Constant' && (n.domain === '' || n.domain === 'ai.onnx')));
  for (const n of nodes) {
    if (n.domain !== '' && n.domain !== 'ai.onnx') throw new FerryError('UNSUPPORTED_OP', `${describeNode(n)}: operator ${n.domain}.${n.opType} has no ncnn equivalent in ferry`);
    const c = converterFor(n.opType);
    if (!c) throw new FerryError('UNSUPPORTED_OP', `${describeNode(n)}: operator ${n.opType} has no ncnn equivalent in ferry (supported: see \`ferry convert --help\`)`);
    c.convert(n, ctx);
  }
  const outputs: BlobBinding[] = g.outputs.map((v) => {
    const blob = ctx.blobOf(v.name);
    if (!blob) throw new FerryError('UNSUPPORTED_OP', `graph output "${v.name}" is a constant or an input; ncnn outputs come from layers`);
    const layout = ctx.layout(v.name);
    return { name: v.name, blob, shape: layout.shape, ncnnShape: ncnnDims(layout) };
  });
  const net = ctx.net;
  const outputBlobs = new Set(outputs.map((o) => o.blob));
  const passes: Record<string, number> = {};
  for (const pass of NET_PASSES) {
    if (options.skipPasses?.includes(pass.name)) continue;
    passes[pass.name] = pass.run(net, outputBlobs);
  }
  removeDeadLayers(net, outputBlobs);
  insertSplits(net);
  return { net, inputs, outputs, model, passes, nodes: nodes.length };
}

/** Every input's dims fixed: --input-shape where given, a dynamic first dim 1, other dynamic dims refused. */
function fixShapes(model: Model, given: readonly InputShape[]): void {
  const g = model.graph;
  const feedable = g.inputs.filter((v) => !g.initializers.has(v.name));
  const shapes: InputShape[] = [];
  feedable.forEach((v, i) => {
    const named = given.find((s) => s.name === v.name) ?? (given.every((s) => s.name === undefined) ? given[i] : undefined);
    if (named) {
      shapes.push({ name: v.name, shape: named.shape });
      return;
    }
    const dims = v.shape;
    if (!dims) throw new FerryError('BAD_SHAPE', `input "${v.name}" has no declared dims: give them with --input-shape ${v.name}:1,...`);
    const fixed = dims.map((d, k) => (typeof d === 'number' && d >= 0 ? d : k === 0 ? 1 : undefined));
    const open = fixed.findIndex((d) => d === undefined);
    if (open >= 0) throw new FerryError('BAD_SHAPE', `input "${v.name}" [${dims.join(',')}] has dynamic dim ${open}; ncnn export needs fixed dims: give --input-shape ${v.name}:${fixed.map((d) => d ?? 'N').join(',')}`);
    shapes.push({ name: v.name, shape: fixed as number[] });
  });
  fixInputShapes(model, shapes, true); // ncnn runs one sample: the batch axis is fixed at 1 too
  for (const v of model.graph.inputs) {
    if (!g.initializers.has(v.name) && !isStatic(v.shape)) throw new FerryError('BAD_SHAPE', `input "${v.name}" still has dynamic dims`);
  }
}

/** Drops layers whose tops nothing reads (orphaned MemoryData after a fusion ...). */
function removeDeadLayers(net: Net, outputs: ReadonlySet<string>): void {
  for (;;) {
    const read = new Set<string>(outputs);
    for (const l of net.layers) for (const b of l.bottoms) read.add(b);
    const live = net.layers.filter((l) => l.type === 'Input' || l.tops.some((t) => read.has(t)));
    if (live.length === net.layers.length) return;
    net.layers = live;
  }
}
