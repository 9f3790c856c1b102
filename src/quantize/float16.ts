/**
 * float32 -> float16 conversion, after onnxconverter-common's `convert_float_to_float16` (also
 * onnxruntime.transformers.float16): float initializers, constants and value types become
 * float16; ops on a block list stay float32, with Cast nodes at every float16/float32 boundary;
 * graph inputs and outputs stay float32 by default (keepIoTypes), behind Casts.
 *
 * Each float value gets one "home" precision (its producer's: float16 for converted nodes,
 * float32 for blocked ones and kept graph inputs); every node input whose home differs from what
 * the node runs in reads a Cast, one per value and direction, shared by the nodes that need it.
 * Initializer values beyond float16's range are clamped to +-65504, and non-zero values closer to
 * zero than its smallest subnormal to +-5.96e-8 (as onnxconverter-common does), not flushed to
 * infinity or zero.
 */
import type { Model } from '../onnx/ir/model.js';
import { Node } from '../onnx/ir/node.js';
import { Tensor } from '../onnx/ir/tensor.js';
import { attr } from '../onnx/ir/attribute.js';
import { DataType } from '../onnx/ir/data-type.js';
import { ValueInfo } from '../onnx/ir/value-info.js';
import { inferShapes } from '../onnx/shape-inference.js';
import { constantToInitializer } from '../onnx/passes/constant-to-initializer.js';
import { toHalfBits } from '../tensors/dtype.js';

/**
 * Ops kept in float32 by default: onnxconverter-common's DEFAULT_OP_BLOCK_LIST (the ai.onnx.ml
 * classic-ML ops, and ops whose ONNX Runtime kernels have no float16 version or lose too much in
 * it: NonMaxSuppression, TopK, RoiAlign, Range, CumSum, Min, Max, Upsample, RandomUniformLike),
 * plus ops known to break or drift in float16 on ONNX Runtime's CPU provider: Resize (float32
 * scales, no float16 CPU kernel), BatchNormalization (wrong results), the random generators, and
 * quantization ops.
 */
export const DEFAULT_FP16_BLOCK_OPS: readonly string[] = Object.freeze([
  // onnxconverter-common DEFAULT_OP_BLOCK_LIST
  'ArrayFeatureExtractor', 'Binarizer', 'CastMap', 'CategoryMapper', 'DictVectorizer', 'FeatureVectorizer', 'Imputer',
  'LabelEncoder', 'LinearClassifier', 'LinearRegressor', 'Normalizer', 'OneHotEncoder', 'RandomUniformLike', 'SVMClassifier',
  'SVMRegressor', 'Scaler', 'TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'TreeEnsemble', 'ZipMap', 'NonMaxSuppression',
  'TopK', 'RoiAlign', 'Range', 'CumSum', 'Min', 'Max', 'Upsample',
  // ferry's additions. BatchNormalization: onnxruntime-node 1.30's CPU kernel computes wrong values in
  // float16 (PP-OCRv4 det: cosine 0.47 after the first one); preprocessing folds most into Conv anyway.
  'Resize', 'BatchNormalization', 'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'Multinomial', 'Bernoulli',
  'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear',
]);

/** Inputs that stay float32 even when their node runs in float16 (opset 11+; Resize takes scales as input 1 in opset 10). */
const ALWAYS_FLOAT_INPUTS: Readonly<Record<string, readonly number[]>> = { Resize: [2] };

export const FP16_MAX = 65504;
export const FP16_MIN_POSITIVE = 5.96e-8;

export interface Float16Options {
  /** Keep float32 graph inputs and outputs (Casts inside). @defaultValue true */
  readonly keepIoTypes?: boolean;
  /** Op types kept in float32. @defaultValue DEFAULT_FP16_BLOCK_OPS */
  readonly blockOps?: readonly string[];
  /** Node names kept in float32. @defaultValue [] */
  readonly blockNodes?: readonly string[];
}

export interface Float16Stats {
  /** Initializers converted to float16. */
  readonly initializers: number;
  /** Nodes kept in float32 (blocked by op type or name, or with values of unknown type). */
  readonly blockedNodes: number;
  /** Op types of the nodes kept in float32, with counts. */
  readonly blockedOps: Record<string, number>;
  /** Cast nodes inserted. */
  readonly casts: number;
  /** Initializer elements clamped into float16's range. */
  readonly clamped: number;
}

type Home = 'fp16' | 'fp32';

/** Converts the model's main graph to float16, in place. */
export function convertToFloat16(model: Model, options: Float16Options = {}): Float16Stats {
  const g = model.graph;
  constantToInitializer.run(model, { facts: () => new Map(), foldSizeLimitBytes: 0 });
  const keepIo = options.keepIoTypes ?? true;
  const blockOps = new Set(options.blockOps ?? DEFAULT_FP16_BLOCK_OPS);
  const blockNodes = new Set(options.blockNodes ?? []);
  const opset = model.opset('') ?? 13;
  const facts = inferShapes(g);
  const typeOf = (v: string): DataType | undefined => (v ? facts.get(v)?.elemType ?? g.typeOf(v)?.elemType : undefined);
  const isFloat = (v: string) => typeOf(v) === DataType.FLOAT;
  const alwaysFloat = (n: Node, i: number): boolean => (n.opType === 'Resize' && opset < 11 ? [1] : ALWAYS_FLOAT_INPUTS[n.opType] ?? []).includes(i);

  // Which nodes run in float16.
  const nodes = g.nodes;
  const fp16Node = new Set<Node>();
  const blockedOps: Record<string, number> = {};
  for (const n of nodes) {
    const unknownTypes = [...n.inputs, ...n.outputs].some((v) => v && typeOf(v) === undefined);
    const touchesFloat = [...n.inputs, ...n.outputs].some((v) => v && isFloat(v));
    const blocked = blockOps.has(n.opType) || blockNodes.has(n.name) || n.hasSubgraphs || !(n.domain === '' || n.domain === 'ai.onnx') || unknownTypes;
    if (!blocked) fp16Node.add(n);
    else if (touchesFloat || unknownTypes) blockedOps[n.opType] = (blockedOps[n.opType] ?? 0) + 1;
  }

  // The home precision of every float value.
  const home = new Map<string, Home>();
  for (const v of g.inputs) if (!g.initializers.has(v.name) && isFloat(v.name)) home.set(v.name, keepIo ? 'fp32' : 'fp16');
  for (const n of nodes) for (const o of n.outputs) if (o && isFloat(o)) home.set(o, fp16Node.has(n) ? 'fp16' : 'fp32');
  let initializers = 0;
  let clamped = 0;
  for (const [name, t] of g.initializers) {
    if (t.dataType !== DataType.FLOAT || g.isInput(name)) continue;
    const wanted = g.consumers(name).some((c) => fp16Node.has(c) && c.inputs.some((v, i) => v === name && !alwaysFloat(c, i)));
    if (!wanted) {
      home.set(name, 'fp32');
      continue;
    }
    const r = toFloat16Tensor(t);
    clamped += r.clamped;
    g.addInitializer(r.tensor, { replace: true });
    home.set(name, 'fp16');
    initializers++;
  }

  // Casts where a node reads a value in the other precision.
  let casts = 0;
  const castCache = new Map<string, string>();
  const castTo = (v: string, to: Home, before: Node): string => {
    const key = `${v}\u0000${to}`;
    let out = castCache.get(key);
    if (!out) {
      out = g.uniqueName(`${v}_cast_to_${to}`);
      g.addNode(new Node({ opType: 'Cast', name: g.uniqueName(`${v}_Cast_${to}`), inputs: [v], outputs: [out], attributes: { to: attr.int(to === 'fp16' ? DataType.FLOAT16 : DataType.FLOAT) } }), { before });
      castCache.set(key, out);
      casts++;
    }
    return out;
  };
  for (const n of nodes) {
    const runs16 = fp16Node.has(n);
    n.inputs.forEach((v, i) => {
      const h = home.get(v);
      if (!h) return;
      const need: Home = runs16 && !alwaysFloat(n, i) ? 'fp16' : 'fp32';
      if (h !== need) n.setInput(i, castTo(v, need, n));
    });
    if (runs16) retypeFloatAttributes(n);
    // Values a blocked node's subgraphs capture are read in float32.
    if (!runs16 && n.hasSubgraphs) {
      for (const v of n.implicitInputs) {
        if (home.get(v) !== 'fp16') continue;
        const c = castTo(v, 'fp32', n);
        for (const sub of n.subgraphs()) sub.replaceAllUses(v, c);
      }
    }
  }

  // Graph outputs in the precision asked for.
  g.outputs = g.outputs.map((o) => {
    const h = home.get(o.name);
    if (!h) return o;
    const need: Home = keepIo ? 'fp32' : 'fp16';
    const p = g.producer(o.name);
    if (h === need || !p) return o;
    const inner = g.uniqueName(`${o.name}_${h}`);
    for (const c of g.consumers(o.name)) c.replaceInput(o.name, inner);
    p.setOutputs(p.outputs.map((v) => (v === o.name ? inner : v)));
    home.set(inner, h);
    g.addNode(new Node({ opType: 'Cast', name: g.uniqueName(`${o.name}_Cast_${need}`), inputs: [inner], outputs: [o.name], attributes: { to: attr.int(need === 'fp16' ? DataType.FLOAT16 : DataType.FLOAT) } }), { after: p });
    casts++;
    home.set(o.name, need);
    return o;
  });
  const retype = (v: ValueInfo): ValueInfo => (home.get(v.name) === 'fp16' && v.elemType === DataType.FLOAT ? v.with({ type: { ...v.type!, elemType: DataType.FLOAT16 } as ValueInfo['type'] }) : v);
  g.inputs = g.inputs.map(retype);
  g.outputs = g.outputs.map(retype);
  for (const [k, v] of g.valueInfo) g.valueInfo.set(k, retype(v));
  for (const [k, v] of home) if (v === 'fp16' && !g.valueInfo.has(k) && !g.isOutput(k) && !g.isInput(k) && !g.initializers.has(k)) g.valueInfo.set(k, ValueInfo.tensor(k, DataType.FLOAT16, facts.get(k)?.shape));
  g.topologicalSort();
  const blockedNodes = Object.values(blockedOps).reduce((a, b) => a + b, 0);
  return { initializers, blockedNodes, blockedOps, casts, clamped };
}

/** A FLOAT tensor as FLOAT16, clamped into range (NaN and zero kept). */
export function toFloat16Tensor(t: Tensor): { tensor: Tensor; clamped: number } {
  const src = t.data() as Float32Array;
  const bits = new Uint16Array(src.length);
  let clamped = 0;
  for (let i = 0; i < src.length; i++) {
    let v = src[i]!;
    const a = Math.abs(v);
    if (a > FP16_MAX && a !== Infinity) {
      v = Math.sign(v) * FP16_MAX;
      clamped++;
    } else if (a > 0 && a < FP16_MIN_POSITIVE) {
      v = Math.sign(v) * FP16_MIN_POSITIVE;
      clamped++;
    }
    bits[i] = toHalfBits(v);
  }
  return { tensor: Tensor.fromArray({ name: t.name, dims: t.dims, data: bits, dataType: DataType.FLOAT16, docString: t.docString }), clamped };
}

/** A node that now runs in float16: Cast-to-float casts to float16, float tensor and dtype attributes follow. */
function retypeFloatAttributes(n: Node): void {
  if (n.opType === 'Cast' && n.getInt('to', 0) === DataType.FLOAT) n.setAttribute('to', attr.int(DataType.FLOAT16));
  for (const key of ['dtype']) {
    const a = n.attribute(key);
    if (a?.type === 'int' && Number(a.value) === DataType.FLOAT) n.setAttribute(key, attr.int(DataType.FLOAT16));
  }
  for (const [key, a] of n.attributes) {
    if (a.type === 'tensor' && a.value.dataType === DataType.FLOAT) n.setAttribute(key, attr.tensor(toFloat16Tensor(a.value).tensor));
  }
  if (n.opType === 'ConstantOfShape' && !n.attribute('value')) {
    n.setAttribute('value', attr.tensor(Tensor.fromArray({ name: 'value', dims: [1], data: Uint16Array.of(0), dataType: DataType.FLOAT16 })));
  }
}
