/**
 * Static quantization in QDQ form: rewrites a float model, as planned (plan.ts) and calibrated
 * (calibrate.ts), with QuantizeLinear / DequantizeLinear pairs that ONNX Runtime fuses into
 * integer kernels.
 *
 *  - each quantized activation: one QuantizeLinear after its producer, and one DequantizeLinear
 *    per quantized consumer (a node unit of its own, as ORT's fusions want); float consumers of a
 *    fused producer share one more DequantizeLinear;
 *  - weights: int8 initializers, symmetric, per output channel (Conv axis 0, ConvTranspose axis 1,
 *    Gemm/MatMul along N), each read through a DequantizeLinear;
 *  - biases: int32 initializers with scale x_scale * w_scale, one per consumer (a bias shared by two
 *    convolutions gets two: their input scales differ);
 *  - constants a quantized Add / Mul / Concat reads: 8-bit over their own range.
 * Opset 13+ uses ONNX's QuantizeLinear (per-axis needs 13); older models use com.microsoft's.
 */
import type { Model } from '../onnx/ir/model.js';
import type { Graph } from '../onnx/ir/graph.js';
import { Node } from '../onnx/ir/node.js';
import { Tensor } from '../onnx/ir/tensor.js';
import { attr } from '../onnx/ir/attribute.js';
import { DataType } from '../onnx/ir/data-type.js';
import type { QuantPlan } from './plan.js';
import { activationIndices, isConstant } from './plan.js';
import type { QuantParams, QuantType, Range, WeightRange } from './qparams.js';
import type { WeightLayout } from './pairs.js';
import { quantizeWeightPairSafe } from './pairs.js';
import { WEIGHT_QMAX_7BIT, WEIGHT_QMAX_8BIT, activationParams, constantParams, onnxType, quantizeBias, quantizeValues, quantizeWeight } from './qparams.js';
import { FerryError } from '../errors.js';

export interface QdqOptions {
  /** Element type of quantized activations (asymmetric). @defaultValue 'uint8' */
  readonly activationType?: QuantType;
  /** One weight scale per output channel; false: one per tensor. @defaultValue true */
  readonly perChannel?: boolean;
  /**
   * How far weights reach (qparams.ts WeightRange): 'full' [-127, 127]; 'pairs' [-127, 127] with
   * each pair x86's u8 x s8 kernels add in int16 kept within 128 (pairs.ts: for CPUs without
   * VNNI); 'reduced' [-64, 64] (ONNX Runtime's reduce_range). @defaultValue 'full'
   */
  readonly weightRange?: WeightRange;
  /**
   * Weight element type: 'int8' (zero point 0), or 'uint8' (the same values + 128, zero point 128),
   * which ONNX Runtime runs with its u8 x u8 kernels: they widen to int16 before adding, so 8-bit
   * weights do not saturate on x86 without VNNI, at some cost in speed. @defaultValue 'int8'
   */
  readonly weightType?: QuantType;
}

export interface QdqStats {
  /** Quantized nodes by op type. */
  readonly nodes: Record<string, number>;
  /** QuantizeLinear nodes added (one per quantized activation). */
  readonly quantizedTensors: number;
  /** Weight tensors stored as int8. */
  readonly weights: number;
  /** Relu / Clip nodes removed into the node before them. */
  readonly removedActivations: number;
  /** The domain of the Q/DQ nodes: '' (ONNX) or 'com.microsoft' (opset < 13). */
  readonly domain: string;
}

interface Stored {
  readonly params: QuantParams;
  readonly scale: string;
  readonly zeroPoint: string;
}

export function applyQdq(model: Model, plan: QuantPlan, ranges: ReadonlyMap<string, Range>, options: QdqOptions = {}): QdqStats {
  const g = model.graph;
  const type = options.activationType ?? 'uint8';
  const perChannel = options.perChannel ?? true;
  const weightRange = options.weightRange ?? 'full';
  const domain = (model.opset('') ?? 0) >= 13 ? '' : 'com.microsoft';
  if (domain && !model.opsetImports.has(domain)) model.opsetImports.set(domain, 1);
  if (model.irVersion < 4) model.irVersion = 4;

  // Before anything changes: the activation inputs and the original input names of each quantized node.
  const actIdx = new Map([...plan.nodes.keys()].map((n) => [n, activationIndices(n, g)]));
  const originalInputs = new Map([...plan.nodes.keys()].map((n) => [n, [...n.inputs]]));
  const paramsFrom = new Map(plan.tensors.map((t) => [t.name, t.paramsFrom]));

  const dq = (input: string, scale: string, zeroPoint: string, base: string, axis?: number): Node => new Node({
    opType: 'DequantizeLinear', domain, name: g.uniqueName(`${base}_DequantizeLinear`),
    inputs: [input, scale, zeroPoint], outputs: [g.uniqueName(`${base}_dequantized`)],
    ...(axis !== undefined && axis >= 0 && { attributes: { axis: attr.int(axis) } }),
  });

  // Relu / Clip into the node before them.
  const replaced = new Set<string>();
  for (const [n, r] of plan.absorbed) {
    const out = r.outputs[0]!;
    g.removeNode(r);
    n.setOutput(0, out);
    for (const v of r.inputs.slice(1)) if (v) replaced.add(v); // Clip bounds
  }

  const stored = new Map<string, Stored>();
  const paramsOf = (source: string): Stored => {
    let s = stored.get(source);
    if (s) return s;
    const range = ranges.get(source);
    if (!range) throw new FerryError('QUANTIZE_FAILED', `no calibrated range for tensor "${source}" (a bug: please report it)`);
    const params = activationParams(range, type);
    s = { params, ...addScaleZero(g, source, params) };
    stored.set(source, s);
    return s;
  };

  // Activations.
  for (const t of plan.tensors) {
    const s = paramsOf(t.paramsFrom);
    const producer = g.producer(t.name);
    const consumers = g.consumers(t.name);
    const q = new Node({
      opType: 'QuantizeLinear', domain, name: g.uniqueName(`${t.name}_QuantizeLinear`),
      inputs: [t.name, s.scale, s.zeroPoint], outputs: [g.uniqueName(`${t.name}_quantized`)],
    });
    if (producer) g.addNode(q, { after: producer });
    else g.addNode(q, { before: g.nodes[0]! });
    const producerFused = producer !== undefined && plan.nodes.has(producer);
    let shared: string | undefined;
    for (const c of consumers) {
      if (actIdx.get(c)?.some((i) => c.inputs[i] === t.name)) {
        const d = dq(q.outputs[0]!, s.scale, s.zeroPoint, t.name);
        g.addNode(d, { before: c });
        c.replaceInput(t.name, d.outputs[0]!);
      } else if (producerFused) {
        if (shared === undefined) {
          const d = dq(q.outputs[0]!, s.scale, s.zeroPoint, t.name);
          g.addNode(d, { after: q });
          shared = d.outputs[0]!;
        }
        c.replaceInput(t.name, shared);
      }
    }
  }

  // Weights and biases.
  const weightCache = new Map<string, { q: string; scale: string; zeroPoint: string; scales: Float32Array; axis: number }>();
  let weights = 0;
  for (const [n, role] of plan.nodes) {
    if (role !== 'weighted') continue;
    const w = originalInputs.get(n)![1]!;
    if (!isConstant(g, w)) continue; // a MatMul of two activations: both quantized above
    const wt = g.initializers.get(w)!;
    let axis = -1;
    if (perChannel) {
      if (n.opType === 'Conv') axis = 0;
      else if (n.opType === 'ConvTranspose') axis = n.getInt('group', 1) === 1 ? 1 : -1;
      else if (n.opType === 'Gemm') axis = n.getInt('transB', 0) ? 0 : 1;
      else if (n.opType === 'MatMul') axis = wt.dims.length === 2 ? 1 : -1;
    }
    const key = `${w}\u0000${axis}\u0000${n.opType}\u0000${n.getInt('group', 1)}\u0000${n.getInt('transB', 0)}`;
    let qw = weightCache.get(key);
    if (!qw) {
      const values = wt.data() as Float32Array;
      const layout: WeightLayout = n.opType === 'Conv' ? { kind: 'conv', group: n.getInt('group', 1) } : n.opType === 'Gemm' && n.getInt('transB', 0) ? { kind: 'nk' } : { kind: 'kn' };
      const r = weightRange === 'pairs' && n.opType !== 'ConvTranspose' ? quantizeWeightPairSafe(values, wt.dims, axis, layout)
        : quantizeWeight(values, wt.dims, axis, weightRange === 'reduced' ? WEIGHT_QMAX_7BIT : WEIGHT_QMAX_8BIT);
      const dims = axis < 0 ? [] : [r.scales.length];
      const zeros = axis < 0 ? 1 : r.scales.length;
      const unsigned = options.weightType === 'uint8';
      const qName = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${w}_quantized`), dims: wt.dims, data: unsigned ? toUint8(r.data) : r.data, dataType: unsigned ? DataType.UINT8 : DataType.INT8 })).name;
      const scale = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${w}_scale`), dims, data: axis < 0 ? Float32Array.of(r.scales[0]!) : r.scales })).name;
      const zeroPoint = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${w}_zero_point`), dims, data: unsigned ? new Uint8Array(zeros).fill(128) : new Int8Array(zeros), dataType: unsigned ? DataType.UINT8 : DataType.INT8 })).name;
      qw = { q: qName, scale, zeroPoint, scales: r.scales, axis };
      weightCache.set(key, qw);
      weights++;
    }
    const d = dq(qw.q, qw.scale, qw.zeroPoint, w, qw.axis);
    g.addNode(d, { before: n });
    n.setInput(1, d.outputs[0]!);
    replaced.add(w);

    const b = originalInputs.get(n)![2];
    if (b && n.opType !== 'MatMul' && isConstant(g, b)) {
      const x = originalInputs.get(n)![0]!;
      const xs = paramsOf(paramsFrom.get(x) ?? x).params.scale;
      const bt = g.initializers.get(b)!;
      const { data, scales } = quantizeBias(bt.data() as Float32Array, xs, qw.scales);
      const vector = qw.axis >= 0;
      const dims = vector ? [data.length] : [];
      const bq = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${b}_quantized`), dims: [data.length], data, dataType: DataType.INT32 })).name;
      const bs = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${b}_quantized_scale`), dims, data: vector ? scales : Float32Array.of(scales[0] ?? 1) })).name;
      const bz = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${b}_quantized_zero_point`), dims, data: new Int32Array(vector ? data.length : 1), dataType: DataType.INT32 })).name;
      const bd = dq(bq, bs, bz, b, vector ? 0 : undefined);
      g.addNode(bd, { before: n });
      n.setInput(2, bd.outputs[0]!);
      replaced.add(b);
    }
  }

  // Constants read by quantized Add / Mul / Concat.
  for (const { node, index } of plan.constantInputs) {
    const c = node.inputs[index]!;
    const ct = g.initializers.get(c);
    if (!ct || ct.dataType !== DataType.FLOAT) continue;
    const values = ct.data() as Float32Array;
    const params = constantParams(values, type);
    const qc = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${c}_quantized`), dims: ct.dims, data: quantizeValues(values, params), dataType: onnxType(type) })).name;
    const sz = addScaleZero(g, c, params);
    const d = dq(qc, sz.scale, sz.zeroPoint, c);
    g.addNode(d, { before: node });
    node.setInput(index, d.outputs[0]!);
    replaced.add(c);
  }

  for (const name of replaced) if (!g.isUsed(name) && !g.isInput(name)) g.removeInitializer(name);
  g.topologicalSort();

  const nodes: Record<string, number> = {};
  for (const n of plan.nodes.keys()) nodes[n.opType] = (nodes[n.opType] ?? 0) + 1;
  return { nodes, quantizedTensors: plan.tensors.length, weights, removedActivations: plan.absorbed.size, domain };
}

/** Symmetric int8 values as uint8 with zero point 128. */
export function toUint8(data: Int8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! + 128;
  return out;
}

/** Adds the scalar scale and zero point initializers of one set of parameters. */
function addScaleZero(g: Graph, base: string, p: QuantParams): { scale: string; zeroPoint: string } {
  const scale = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${base}_scale`), dims: [], data: Float32Array.of(p.scale) })).name;
  const zp = p.type === 'uint8' ? Uint8Array.of(p.zeroPoint) : Int8Array.of(p.zeroPoint);
  const zeroPoint = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${base}_zero_point`), dims: [], data: zp, dataType: onnxType(p.type) })).name;
  return { scale, zeroPoint };
}
