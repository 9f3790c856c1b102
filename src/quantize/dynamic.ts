/**
 * Dynamic quantization of MatMul and Gemm weights, for models whose activation ranges vary from
 * input to input (transformers, recurrent nets): weights become int8 once (symmetric, one scale
 * per output column), activations are quantized at run time by DynamicQuantizeLinear (uint8,
 * scale and zero point from each input's own min and max). The pattern is onnxruntime
 * quantize_dynamic's, which ONNX Runtime fuses into DynamicQuantizeMatMul / MatMulIntegerToFloat:
 *
 *   A -> DynamicQuantizeLinear -> (A_q, A_scale, A_zp)
 *   MatMulInteger(A_q, W_q, A_zp, W_zp) -> Cast(float) -> Mul(A_scale * W_scale) [-> Add(bias)]
 *
 * A Gemm becomes that MatMul (its weight transposed first when transB=1) plus an Add of its bias.
 */
import type { Model } from '../onnx/ir/model.js';
import { Node } from '../onnx/ir/node.js';
import { Tensor } from '../onnx/ir/tensor.js';
import { attr } from '../onnx/ir/attribute.js';
import { DataType } from '../onnx/ir/data-type.js';
import { inferShapes } from '../onnx/shape-inference.js';
import { isConstant } from './plan.js';
import type { QuantType, WeightRange } from './qparams.js';
import { toUint8 } from './qdq.js';
import { WEIGHT_QMAX_7BIT, WEIGHT_QMAX_8BIT, quantizeWeight } from './qparams.js';
import { quantizeWeightPairSafe } from './pairs.js';

export interface DynamicOptions {
  /** Node names to leave in float. @defaultValue [] */
  readonly exclude?: readonly string[];
  /** One weight scale per output column; false: one per tensor. @defaultValue true */
  readonly perChannel?: boolean;
  /** How far weights reach: see QdqOptions.weightRange. @defaultValue 'full' */
  readonly weightRange?: WeightRange;
  /** Weight element type: see QdqOptions.weightType. @defaultValue 'int8' */
  readonly weightType?: QuantType;
}

export interface DynamicStats {
  /** Quantized nodes by op type. */
  readonly nodes: Record<string, number>;
  readonly weights: number;
  readonly skipped: readonly { node: string; opType: string; reason: string }[];
}

/** Rewrites the model's MatMul / Gemm nodes with constant 2-D weights, in place. */
export function applyDynamic(model: Model, options: DynamicOptions = {}): DynamicStats {
  const g = model.graph;
  const facts = inferShapes(g);
  const exclude = new Set(options.exclude ?? []);
  const perChannel = options.perChannel ?? true;
  const nodes: Record<string, number> = {};
  const skipped: { node: string; opType: string; reason: string }[] = [];
  const quantizedInputs = new Map<string, [string, string, string]>();
  const replaced = new Set<string>();
  let weights = 0;
  // DynamicQuantizeLinear is opset 11: older models get ONNX Runtime's fused op instead (com.microsoft).
  const contrib = (model.opset('') ?? 0) < 11;
  if (contrib && !model.opsetImports.has('com.microsoft')) model.opsetImports.set('com.microsoft', 1);
  for (const n of g.nodes) {
    if (!(n.domain === '' || n.domain === 'ai.onnx') || (n.opType !== 'MatMul' && n.opType !== 'Gemm')) continue;
    const [a, w, c] = [n.inputs[0]!, n.inputs[1] ?? '', n.inputs[2] ?? ''];
    const why = exclude.has(n.name) ? 'excluded'
      : facts.get(a)?.elemType !== DataType.FLOAT ? 'input is not float32'
      : !isConstant(g, w) || g.initializers.get(w)!.dataType !== DataType.FLOAT || g.initializers.get(w)!.dims.length !== 2 ? 'weight is not a 2-D float32 constant'
      : n.opType === 'Gemm' && (n.getInt('transA', 0) !== 0 || n.getFloat('alpha', 1) !== 1 || (c !== '' && (n.getFloat('beta', 1) !== 1 || !isConstant(g, c)))) ? 'Gemm with transA, alpha, beta or a computed C'
      : undefined;
    if (why) {
      skipped.push({ node: n.name, opType: n.opType, reason: why });
      continue;
    }
    let wt = g.initializers.get(w)!;
    let values = wt.data() as Float32Array;
    let dims = [...wt.dims];
    if (n.opType === 'Gemm' && n.getInt('transB', 0)) {
      const [rows, cols] = dims as [number, number];
      const t = new Float32Array(values.length);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = values[i * cols + j]!;
      values = t;
      dims = [cols, rows];
    }
    const axis = perChannel ? 1 : -1;
    const qw = options.weightRange === 'pairs' ? quantizeWeightPairSafe(values, dims, axis, { kind: 'kn' })
      : quantizeWeight(values, dims, axis, options.weightRange === 'reduced' ? WEIGHT_QMAX_7BIT : WEIGHT_QMAX_8BIT);
    const sDims = perChannel ? [dims[1]!] : [];
    const unsigned = options.weightType === 'uint8';
    const zeros = perChannel ? dims[1]! : 1;
    const wq = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${w}_quantized`), dims, data: unsigned ? toUint8(qw.data) : qw.data, dataType: unsigned ? DataType.UINT8 : DataType.INT8 })).name;
    const ws = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${w}_scale`), dims: sDims, data: perChannel ? qw.scales : Float32Array.of(qw.scales[0]!) })).name;
    const wz = g.addInitializer(Tensor.fromArray({ name: g.uniqueName(`${w}_zero_point`), dims: sDims, data: unsigned ? new Uint8Array(zeros).fill(128) : new Int8Array(zeros), dataType: unsigned ? DataType.UINT8 : DataType.INT8 })).name;
    weights++;
    replaced.add(w);

    if (contrib) {
      const fuseBias = c !== '' && g.initializers.get(c)!.dims.length === 1;
      const y = c && !fuseBias ? g.uniqueName(`${n.outputs[0]}_matmul`) : n.outputs[0]!;
      g.replaceNode(n, [
        new Node({
          opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', name: g.uniqueName(`${n.name || n.outputs[0]}_DynamicQuantizeMatMul`),
          inputs: fuseBias ? [a, wq, ws, wz, c] : [a, wq, ws, wz], outputs: [y],
        }),
        ...(c && !fuseBias ? [new Node({ opType: 'Add', name: g.uniqueName(`${n.name || n.outputs[0]}_bias_add`), inputs: [y, c], outputs: [n.outputs[0]!] })] : []),
      ]);
      nodes[n.opType] = (nodes[n.opType] ?? 0) + 1;
      continue;
    }
    let qa = quantizedInputs.get(a);
    const added: Node[] = [];
    if (!qa) {
      qa = [g.uniqueName(`${a}_quantized`), g.uniqueName(`${a}_scale`), g.uniqueName(`${a}_zero_point`)];
      added.push(new Node({ opType: 'DynamicQuantizeLinear', name: g.uniqueName(`${a}_DynamicQuantizeLinear`), inputs: [a], outputs: qa }));
      quantizedInputs.set(a, qa);
    }
    const base = n.name || n.outputs[0]!;
    const out = n.outputs[0]!;
    const mmi = g.uniqueName(`${base}_MatMulInteger_output`);
    const cast = g.uniqueName(`${base}_cast_output`);
    const scales = g.uniqueName(`${base}_scales`);
    const scaled = c ? g.uniqueName(`${base}_scaled`) : out;
    added.push(
      new Node({ opType: 'MatMulInteger', name: g.uniqueName(`${base}_MatMulInteger`), inputs: [qa[0], wq, qa[2], wz], outputs: [mmi] }),
      new Node({ opType: 'Cast', name: g.uniqueName(`${base}_Cast`), inputs: [mmi], outputs: [cast], attributes: { to: attr.int(DataType.FLOAT) } }),
      new Node({ opType: 'Mul', name: g.uniqueName(`${base}_scales_mul`), inputs: [qa[1], ws], outputs: [scales] }),
      new Node({ opType: 'Mul', name: g.uniqueName(`${base}_output_scale_mul`), inputs: [cast, scales], outputs: [scaled] }),
    );
    if (c) added.push(new Node({ opType: 'Add', name: g.uniqueName(`${base}_bias_add`), inputs: [scaled, c], outputs: [out] }));
    g.replaceNode(n, added);
    nodes[n.opType] = (nodes[n.opType] ?? 0) + 1;
  }
  for (const name of replaced) if (!g.isUsed(name) && !g.isInput(name)) g.removeInitializer(name);
  g.topologicalSort();
  return { nodes, weights, skipped };
}
