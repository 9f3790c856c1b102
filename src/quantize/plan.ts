/**
 * Which nodes of a float model to quantize, and which tensors get a QuantizeLinear: planned so
 * that ONNX Runtime fuses every quantized node into an integer kernel (QLinearConv, QGemm,
 * QLinearMatMul, QLinearAdd, QLinearConcat, QLinearGlobalAveragePool ...), and no tensor pays a
 * Quantize/Dequantize round trip it gains nothing from. A naive "QDQ around every op" graph
 * leaves DequantizeLinear -> float op -> QuantizeLinear chains that run slower than float.
 *
 * Roles:
 *  - weighted (Conv, ConvTranspose, Gemm, MatMul): int8 weights per channel, int32 bias, activation
 *    inputs quantized even where their producer runs in float (one Quantize at the boundary pays
 *    for an integer convolution). Conv's output is always quantized (QLinearConv needs it);
 *    Gemm's and MatMul's only when a quantized node reads it (QGemm / MatMulIntegerToFloat
 *    write float).
 *  - join (Add, Mul, Concat, AveragePool, GlobalAveragePool, ...): quantized only between
 *    quantized neighbours: every activation input comes quantized, a quantized node reads the output.
 *  - pass (Reshape, Transpose, MaxPool, Resize, ...): 8-bit in, 8-bit out with the input's scale
 *    (ONNX Runtime drops the Q/DQ around them), between quantized neighbours.
 *  - Relu / Clip after a quantized node are removed: the node's output takes their range, whose
 *    zero point is the type's minimum, so saturation does what they did.
 * The fixed point starts from every candidate and drops nodes whose conditions fail until none does.
 */
import type { Graph } from '../onnx/ir/graph.js';
import type { Node } from '../onnx/ir/node.js';
import type { Model } from '../onnx/ir/model.js';
import { DataType, dataTypeName } from '../onnx/ir/data-type.js';
import { subgraphNodes, whereInside } from './control-flow.js';
import { inferShapes } from '../onnx/shape-inference.js';
import type { ShapeTable } from '../onnx/shape-inference.js';

export type NodeRole = 'weighted' | 'join' | 'pass';

/**
 * ConvTranspose is not among them: onnxruntime-node 1.30's CPU provider does not fuse
 * DequantizeLinear -> ConvTranspose -> QuantizeLinear (measured), so quantizing it only adds work.
 */
export const WEIGHTED_OPS: readonly string[] = ['Conv', 'Gemm', 'MatMul'];
/** Ops ONNX Runtime's CPU provider runs as QLinear* (com.microsoft) kernels in QDQ form. */
export const JOIN_OPS: readonly string[] = ['Add', 'Mul', 'Concat', 'AveragePool', 'GlobalAveragePool', 'Sigmoid', 'LeakyRelu'];
/** Ops whose 8-bit output has the input's scale: ONNX Runtime drops their Q/DQ pairs. */
export const PASS_OPS: readonly string[] = ['Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'MaxPool', 'Resize', 'Slice', 'Gather', 'DepthToSpace', 'SpaceToDepth'];

export interface PlanOptions {
  /** Nodes to leave in float: their names, or their first output's name (for unnamed nodes). @defaultValue [] */
  readonly exclude?: readonly string[];
  /** Leave the first and last weighted nodes (in graph order) in float. @defaultValue false */
  readonly keepFirstLast?: boolean;
  /** Quantize MatMuls of two activations (attention scores). @defaultValue true */
  readonly activationMatMul?: boolean;
  /** Tensors to keep in float: every node that would quantize one (as input or output) stays float. @defaultValue none */
  readonly floatTensors?: ReadonlySet<string>;
  /**
   * A convolution whose input must be quantized on its own (its producer runs in float) or whose
   * output feeds float nodes pays a QuantizeLinear or DequantizeLinear per element there; it stays
   * float when it does fewer multiply-adds than this per such element (a depthwise 3x3 between
   * float activations does 9 per 2: int8 would be slower). 0 quantizes every candidate. 32 was
   * measured best of 0/16/32/64 on PP-OCRv4 det and rec (speed and accuracy). @defaultValue 32
   */
  readonly minMacsPerBoundary?: number;
  /** Weighted op types to quantize. @defaultValue WEIGHTED_OPS */
  readonly weightedOps?: readonly string[];
}

/** A tensor that gets a QuantizeLinear: its parameters are its own (calibrated) or another tensor's. */
export interface PlannedTensor {
  readonly name: string;
  /** The tensor whose calibrated range gives the parameters (itself, or the input of a pass op chain). */
  readonly paramsFrom: string;
}

export interface QuantPlan {
  /** Quantized nodes and their roles. */
  readonly nodes: ReadonlyMap<Node, NodeRole>;
  /** Relu/Clip nodes removed, by the node whose output takes their place. */
  readonly absorbed: ReadonlyMap<Node, Node>;
  /** Tensors quantized, in graph order, named as after the removals. */
  readonly tensors: readonly PlannedTensor[];
  /** Tensors whose ranges calibration must measure (names of the float model). */
  readonly calibrate: readonly string[];
  /** Constant inputs of join nodes quantized from their own values: node and input index. */
  readonly constantInputs: readonly { node: Node; index: number }[];
  /** Candidate nodes left in float, with why (for the report). */
  readonly skipped: readonly { node: string; opType: string; reason: string }[];
}

const isDefaultDomain = (n: Node): boolean => n.domain === '' || n.domain === 'ai.onnx';

/** Input indices of a node that carry activations (quantized with Q/DQ), for a quantizable op. */
export function activationIndices(n: Node, graph: Graph): number[] {
  switch (n.opType) {
    case 'Conv':
    case 'ConvTranspose':
      return [0];
    case 'Gemm':
    case 'MatMul':
      return isConstant(graph, n.inputs[1] ?? '') ? [0] : [0, 1];
    case 'Add':
    case 'Mul':
    case 'Concat':
      return n.inputs.map((v, i) => (v && !isConstant(graph, v) ? i : -1)).filter((i) => i >= 0);
    default:
      return [0];
  }
}

export function isConstant(graph: Graph, name: string): boolean {
  return name !== '' && graph.initializers.has(name) && !graph.isInput(name);
}

function constantValues(graph: Graph, name: string): number[] | undefined {
  const t = graph.initializers.get(name);
  if (!t || graph.isInput(name)) return undefined;
  try {
    return t.numbers();
  } catch {
    return undefined;
  }
}

/** Why a node cannot be quantized at all, or undefined when it is a candidate. */
function ineligible(n: Node, graph: Graph, facts: ShapeTable, options: PlanOptions): string | undefined {
  const isFloat = (v: string | undefined) => !!v && facts.get(v)?.elemType === DataType.FLOAT;
  // Which input is not float32, and what it is: "the type of "y" is unknown", ""ids" is INT64".
  const notFloat = (vs: readonly (string | undefined)[]): string => {
    const v = vs.find((x) => x && !isFloat(x));
    if (!v) return '';
    const t = facts.get(v)?.elemType;
    return t === undefined ? ` (the type of "${v}" is unknown)` : ` ("${v}" is ${dataTypeName(t)})`;
  };
  const constFloat = (v: string | undefined) => !!v && isConstant(graph, v) && graph.initializers.get(v)!.dataType === DataType.FLOAT;
  if (!isFloat(n.outputs[0])) return 'output is not float32';
  if (n.outputs.slice(1).some((o) => o && graph.isUsed(o))) return 'uses a second output';
  switch (n.opType) {
    case 'Conv':
    case 'ConvTranspose': {
      if (!isFloat(n.inputs[0])) return `input is not float32${notFloat([n.inputs[0]])}`;
      if (!constFloat(n.inputs[1])) return 'weight is not a float32 constant';
      if (n.inputs[2] && (!constFloat(n.inputs[2]) || graph.initializers.get(n.inputs[2])!.dims.length !== 1)) return 'bias is not a 1-D float32 constant';
      return undefined;
    }
    case 'Gemm': {
      if (n.getInt('transA', 0) !== 0) return 'transA=1';
      if (!isFloat(n.inputs[0]) || !(constFloat(n.inputs[1]) || isFloat(n.inputs[1]))) return `inputs are not float32${notFloat(n.inputs.slice(0, 2))}`;
      if (!constFloat(n.inputs[1])) return 'weight is not a constant';
      const c = n.inputs[2];
      if (c) {
        const t = graph.initializers.get(c);
        const b = graph.initializers.get(n.inputs[1]!)!;
        const nOut = n.getInt('transB', 0) ? b.dims[0] : b.dims[1];
        if (!constFloat(c) || !t || t.elementCount !== nOut || (t.dims.length === 2 && t.dims[0] !== 1) || t.dims.length > 2) return 'C is not a float32 bias of N values';
        if (n.getFloat('beta', 1) !== 1) return 'beta != 1';
      }
      return undefined;
    }
    case 'MatMul': {
      if (!isFloat(n.inputs[0]) || !(constFloat(n.inputs[1]) || isFloat(n.inputs[1]))) return `inputs are not float32${notFloat(n.inputs.slice(0, 2))}`;
      if (isConstant(graph, n.inputs[0]!)) return 'A is a constant';
      if (!isConstant(graph, n.inputs[1]!) && options.activationMatMul === false) return 'MatMul of two activations (activationMatMul off)';
      return undefined;
    }
    case 'Add':
    case 'Mul': {
      if (!isFloat(n.inputs[0]) || !isFloat(n.inputs[1])) return 'inputs are not float32';
      if (isConstant(graph, n.inputs[0]!) && isConstant(graph, n.inputs[1]!)) return 'both inputs constant';
      return undefined;
    }
    case 'Concat':
      return n.inputs.every((v) => isFloat(v)) && n.inputs.some((v) => !isConstant(graph, v)) ? undefined : 'inputs are not float32';
    default:
      return isFloat(n.inputs[0]) && !isConstant(graph, n.inputs[0]!) ? undefined : 'input is not a float32 activation';
  }
}

/** A Relu, or a Clip whose bounds hold 0 (so a range that starts at 0 does what it did). */
function isAbsorbable(n: Node, graph: Graph, opset: number): boolean {
  if (!isDefaultDomain(n)) return false;
  if (n.opType === 'Relu') return true;
  if (n.opType !== 'Clip') return false;
  let lo = -Infinity;
  let hi = Infinity;
  if (opset < 11) {
    lo = n.getFloat('min', -3.4028234663852886e38);
    hi = n.getFloat('max', 3.4028234663852886e38);
  } else {
    if (n.inputs[1]) {
      const v = constantValues(graph, n.inputs[1]);
      if (!v || v.length !== 1) return false;
      lo = v[0]!;
    }
    if (n.inputs[2]) {
      const v = constantValues(graph, n.inputs[2]);
      if (!v || v.length !== 1) return false;
      hi = v[0]!;
    }
  }
  return lo <= 0 && hi >= 0;
}

export function planQuantization(model: Model, options: PlanOptions = {}): QuantPlan {
  const graph = model.graph;
  const facts = inferShapes(graph);
  const opset = model.opset('') ?? 13;
  const exclude = new Set(options.exclude ?? []);
  const weightedOps = new Set(options.weightedOps ?? WEIGHTED_OPS);
  const roleOf = (op: string): NodeRole | undefined =>
    weightedOps.has(op) ? 'weighted' : JOIN_OPS.includes(op) ? 'join' : PASS_OPS.includes(op) ? 'pass' : undefined;

  const skipped: { node: string; opType: string; reason: string }[] = [];
  const q = new Map<Node, NodeRole>();
  const nodes = graph.nodes;
  for (const n of nodes) {
    const role = isDefaultDomain(n) && !n.hasSubgraphs ? roleOf(n.opType) : undefined;
    if (!role) continue;
    if (exclude.has(n.name) || exclude.has(n.outputs[0]!)) {
      skipped.push({ node: n.name, opType: n.opType, reason: 'excluded' });
      continue;
    }
    const why = ineligible(n, graph, facts, options);
    if (why) {
      if (role === 'weighted') skipped.push({ node: n.name, opType: n.opType, reason: why });
      continue;
    }
    q.set(n, role);
  }
  // Weighted nodes inside If / Loop / Scan subgraphs: calibration fetches main-graph values only.
  for (const sub of subgraphNodes(graph, [...weightedOps])) {
    skipped.push({ node: sub.node.name || sub.node.outputs[0]!, opType: sub.node.opType, reason: `${whereInside(sub)}: static int8 calibrates the main graph's values only, so it stays float32 (--dynamic quantizes it)` });
  }
  if (options.keepFirstLast) {
    const weighted = nodes.filter((n) => q.get(n) === 'weighted');
    for (const n of [weighted[0], weighted[weighted.length - 1]]) {
      if (n && q.delete(n)) skipped.push({ node: n.name, opType: n.opType, reason: 'first or last (--keep-first-last)' });
    }
  }

  // Relu / Clip that a quantized node's output feeds alone.
  const absorbCandidate = new Map<Node, Node>();
  const absorbedBy = new Map<Node, Node>();
  for (const [n, role] of q) {
    if (role === 'pass') continue;
    const out = n.outputs[0]!;
    if (graph.isOutput(out)) continue;
    const cs = graph.consumers(out);
    if (cs.length === 1 && isAbsorbable(cs[0]!, graph, opset) && cs[0]!.inputs[0] === out) {
      absorbCandidate.set(n, cs[0]!);
      absorbedBy.set(cs[0]!, n);
    }
  }
  const effOut = (n: Node): string => (absorbCandidate.get(n) ?? n).outputs[0]!;
  const readsAsActivation = (c: Node, v: string): boolean => activationIndices(c, graph).some((i) => c.inputs[i] === v);
  const hasQConsumer = (v: string): boolean => graph.consumers(v).some((c) => q.has(c) && readsAsActivation(c, v));
  const outputQuantized = (n: Node): boolean => {
    const out = effOut(n);
    if (graph.isOutput(out)) return false;
    if (q.get(n) === 'weighted' && (n.opType === 'Gemm' || n.opType === 'MatMul')) return hasQConsumer(out);
    return true;
  };
  const available = (v: string): boolean => {
    let p = graph.producer(v);
    if (p && absorbedBy.has(p)) p = absorbedBy.get(p)!;
    return !!p && q.has(p) && effOut(p) === v && outputQuantized(p);
  };

  const floatTensors = options.floatTensors ?? new Set<string>();
  const minMacs = options.minMacsPerBoundary ?? 32;
  for (let changed = true; changed;) {
    changed = false;
    for (const [n, role] of q) {
      const out = effOut(n);
      let why: string | undefined;
      if (floatTensors.size && (activationIndices(n, graph).some((i) => floatTensors.has(n.inputs[i]!)) || (floatTensors.has(out) && outputQuantized(n)))) {
        why = 'reads or writes a tensor kept in float';
      } else if (role === 'weighted') {
        if ((n.opType === 'Conv' || n.opType === 'ConvTranspose') && graph.isOutput(out)) why = 'its output is a graph output (QLinearConv writes 8-bit)';
        else if (n.opType === 'Conv' && minMacs > 0) {
          const w = graph.initializers.get(n.inputs[1]!)!.dims;
          const macs = w.slice(1).reduce((a, b) => a * b, 1); // per output element
          const strides = n.getInts('strides', []).reduce((a, b) => a * b, 1);
          const cin = w[1]! * n.getInt('group', 1);
          const boundary = (available(n.inputs[0]!) ? 0 : (cin / w[0]!) * strides) + (graph.consumers(out).some((c) => !(q.has(c) && readsAsActivation(c, out))) ? 1 : 0);
          if (boundary > 0 && macs / boundary < minMacs) why = `${macs} multiply-adds per output for ${boundary.toFixed(2)} elements to (de)quantize between float neighbours: int8 would not pay`;
        }
      } else if (graph.isOutput(out)) {
        why = 'its output is a graph output';
      } else if (!hasQConsumer(out)) {
        why = 'no quantized node reads its output';
      } else if (!activationIndices(n, graph).every((i) => available(n.inputs[i]!))) {
        why = 'an input comes from a float node';
      }
      if (why) {
        q.delete(n);
        if (role === 'weighted') skipped.push({ node: n.name, opType: n.opType, reason: why });
        changed = true;
      }
    }
  }

  const absorbed = new Map<Node, Node>();
  for (const [n, r] of absorbCandidate) if (q.has(n) && outputQuantized(n)) absorbed.set(n, r);
  const finalOut = (n: Node): string => (absorbed.get(n) ?? n).outputs[0]!;

  // Tensors: activation inputs and quantized outputs of quantized nodes, in graph order.
  const paramsSource = (v: string): string => {
    let p = graph.producer(v);
    while (p && q.get(p) === 'pass') {
      v = p.inputs[0]!;
      p = graph.producer(v);
    }
    return v;
  };
  const tensors = new Map<string, PlannedTensor>();
  const constantInputs: { node: Node; index: number }[] = [];
  const add = (v: string): void => {
    if (!tensors.has(v)) tensors.set(v, { name: v, paramsFrom: paramsSource(v) });
  };
  for (const n of nodes) {
    const role = q.get(n);
    if (!role) continue;
    for (const i of activationIndices(n, graph)) add(n.inputs[i]!);
    if (role === 'join' && (n.opType === 'Add' || n.opType === 'Mul' || n.opType === 'Concat')) {
      n.inputs.forEach((v, i) => { if (v && isConstant(graph, v)) constantInputs.push({ node: n, index: i }); });
    }
    if (outputQuantized(n)) add(finalOut(n));
  }
  // A pass op's output takes its input's parameters, so its input must be quantized too (it is: the pass conditions).
  const calibrate = [...new Set([...tensors.values()].map((t) => t.paramsFrom))];
  return { nodes: q, absorbed, tensors: [...tensors.values()], calibrate, constantInputs, skipped };
}
