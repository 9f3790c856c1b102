/** Helpers the passes share: constants, forwarding a value past a removed node, rewriting weights. */
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { DataType } from '../ir/data-type.js';

/** Nodes of the default ONNX domain with this op type. */
export function isOp(n: Node, ...opTypes: string[]): boolean {
  return (n.domain === '' || n.domain === 'ai.onnx') && opTypes.includes(n.opType);
}

/** The main graph and every subgraph in it (If branches, Loop and Scan bodies), outermost first. */
export function allGraphs(model: Model): Graph[] {
  const out: Graph[] = [];
  const visit = (g: Graph): void => {
    out.push(g);
    for (const n of g.nodes) for (const sub of n.subgraphs()) visit(sub);
  };
  visit(model.graph);
  return out;
}

/** The number of nodes in the model, subgraphs included. */
export function countNodes(model: Model): number {
  let n = 0;
  for (const g of allGraphs(model)) n += g.nodes.length;
  return n;
}

/** The tensor of a Constant node (value, value_float(s), value_int(s)); undefined for strings and sparse values. */
export function constantNodeTensor(n: Node): Tensor | undefined {
  const name = n.outputs[0] ?? '';
  const value = n.attribute('value');
  if (value?.type === 'tensor') return value.value.with({ name });
  if (n.attribute('value_float')) return Tensor.fromArray({ name, dims: [], data: new Float32Array([n.getFloat('value_float')]) });
  if (n.attribute('value_floats')) { const v = n.getFloats('value_floats'); return Tensor.fromArray({ name, dims: [v.length], data: Float32Array.from(v) }); }
  if (n.attribute('value_int')) return Tensor.fromArray({ name, dims: [], data: new BigInt64Array([n.getBigInt('value_int')]) });
  const ints = n.attribute('value_ints');
  if (ints?.type === 'ints') return Tensor.fromArray({ name, dims: [ints.value.length], data: BigInt64Array.from(ints.value) });
  return undefined;
}

/**
 * The constant value of `name` in `graph`: an initializer that is not also a graph input (those
 * can be overridden at run time), or the output of a Constant node. Undefined otherwise.
 */
export function constantTensor(graph: Graph, name: string): Tensor | undefined {
  if (!name) return undefined;
  const init = graph.initializers.get(name);
  if (init) return graph.isInput(name) ? undefined : init;
  const p = graph.producer(name);
  return p && isOp(p, 'Constant') ? constantNodeTensor(p) : undefined;
}

/** True when `node` is the only reader of `value` and `value` is not a graph output. */
export function soleConsumer(graph: Graph, value: string, node: Node): boolean {
  if (graph.isOutput(value)) return false;
  const c = graph.consumers(value);
  return c.length === 1 && c[0] === node;
}

/** True when every output of `node` but the first is omitted or unused. */
export function onlyFirstOutputUsed(graph: Graph, node: Node): boolean {
  return node.outputs.every((v, i) => i === 0 || !v || !graph.isUsed(v));
}

/**
 * Removes `node`, whose first output carries the same value as `source`, making its readers read
 * `source`. When that output is a graph output (whose name must stay), `source` is renamed to it
 * instead, which needs `source` to be made by a node of this graph and to be no graph output or
 * input itself. Returns false (and changes nothing) when neither is possible.
 */
export function forwardValue(graph: Graph, node: Node, source: string): boolean {
  const out = node.outputs[0];
  if (!out || !source || !onlyFirstOutputUsed(graph, node)) return false;
  if (!graph.isOutput(out)) {
    graph.replaceAllUses(out, source);
    graph.removeNode(node);
    return true;
  }
  if (graph.isOutput(source) || graph.isInput(source) || graph.initializers.has(source) || !graph.producer(source)) return false;
  graph.removeNode(node);
  graph.renameValue(source, out);
  return true;
}

/**
 * Makes input `index` of `node` read `tensor`: the initializer it reads is replaced in place when
 * `node` is its only reader, else a new initializer (named after `base`) is added.
 */
export function setConstantInput(graph: Graph, node: Node, index: number, tensor: Tensor, base: string): void {
  const current = node.inputs[index] ?? '';
  if (current && graph.initializers.has(current) && !graph.isInput(current) && soleConsumer(graph, current, node)) {
    graph.addInitializer(tensor.with({ name: current }), { replace: true });
    return;
  }
  const name = graph.uniqueName(base);
  graph.addInitializer(tensor.with({ name }));
  node.setInput(index, name);
}

/** Floating-point types whose elements passes may rewrite (read and written through float64). */
export function isFloatTensor(t: Tensor): boolean {
  return t.dataType === DataType.FLOAT || t.dataType === DataType.DOUBLE;
}

/** The elements of a FLOAT or DOUBLE tensor as float64 (a copy). */
export function toFloat64(t: Tensor): Float64Array {
  return Float64Array.from(t.data() as Float32Array);
}

/** A FLOAT or DOUBLE tensor (the type of `like`) over float64 values. */
export function fromFloat64(like: Tensor, dims: readonly number[], values: Float64Array, name = like.name): Tensor {
  const data = like.dataType === DataType.DOUBLE ? values : Float32Array.from(values);
  return Tensor.fromArray({ name, dims, data, dataType: like.dataType });
}

/** Some older models (IR < 4) must list initializers among the inputs; passes that add initializers raise the IR version. */
export function allowInitializers(model: Model): void {
  if (model.irVersion < 4) model.irVersion = 4;
}

/**
 * A convolution weight (FLOAT or DOUBLE) with output channel c multiplied by `scale[c]` (a
 * one-element scale applies to every channel). Conv weights are [Cout, Cin/group, k...];
 * ConvTranspose weights [Cin, Cout/group, k...], where row i feeds group floor(i / (Cin/group)).
 * Each product is rounded once, straight into the weight's type.
 */
export function scaleOutputChannels(w: Tensor, scale: Float64Array, transpose: boolean, group: number): Tensor {
  const src = w.data() as Float32Array | Float64Array;
  const dst = w.dataType === DataType.DOUBLE ? new Float64Array(src.length) : new Float32Array(src.length);
  const at = (c: number) => scale[scale.length === 1 ? 0 : c]!;
  if (!transpose) {
    const out = w.dims[0]!;
    const per = src.length / out;
    for (let o = 0; o < out; o++) {
      const s = at(o);
      for (let k = o * per, end = k + per; k < end; k++) dst[k] = src[k]! * s;
    }
  } else {
    const rows = w.dims[0]!;
    const outPerGroup = w.dims[1]!;
    const inner = src.length / (rows * outPerGroup);
    const inPerGroup = rows / group;
    for (let i = 0; i < rows; i++) {
      const base = Math.floor(i / inPerGroup) * outPerGroup;
      for (let j = 0; j < outPerGroup; j++) {
        const s = at(base + j);
        for (let k = (i * outPerGroup + j) * inner, end = k + inner; k < end; k++) dst[k] = src[k]! * s;
      }
    }
  }
  return Tensor.fromArray({ name: w.name, dims: w.dims, data: dst, dataType: w.dataType });
}
