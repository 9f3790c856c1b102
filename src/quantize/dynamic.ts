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
import type { Graph } from '../onnx/ir/graph.js';
import { Node } from '../onnx/ir/node.js';
import { Tensor } from '../onnx/ir/tensor.js';
import { attr } from '../onnx/ir/attribute.js';
import { DataType, dataTypeName } from '../onnx/ir/data-type.js';
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

/**
 * Rewrites the model's MatMul / Gemm nodes with constant 2-D weights, in place, inside If / Loop /
 * Scan subgraphs too (their weights are usually the main graph's initializers, read from the
 * enclosing scope; the int8 copies are added there).
 */
export function applyDynamic(model: Model, options: DynamicOptions = {}): DynamicStats {
  const root = model.graph;
  const exclude = new Set(options.exclude ?? []);
  const perChannel = options.perChannel ?? true;
  const nodes: Record<string, number> = {};
  const skipped: { node: string; opType: string; reason: string }[] = [];
  const replaced = new Set<string>();
  let weights = 0;
  // DynamicQuantizeLinear is opset 11: older models get ONNX Runtime's fused op instead (com.microsoft).
  const contrib = (model.opset('') ?? 0) < 11;
  if (contrib && !model.opsetImports.has('com.microsoft')) model.opsetImports.set('com.microsoft', 1);
  const constant = (g: Graph, v: string): Tensor | undefined => {
    if (!v) return undefined;
    if (g !== root && g.initializers.has(v)) return g.initializers.get(v);
    return isConstant(root, v) ? root.initializers.get(v) : undefined;
  };

  const visit = (g: Graph, typeOf: (v: string) => DataType | undefined, where: string): void => {
    const quantizedInputs = new Map<string, [string, string, string]>(); // per graph: a subgraph cannot read another's
    for (const n of g.nodes) {
      if (n.hasSubgraphs) {
        for (const [key, at] of n.attributes) {
          for (const sub of at.type === 'graph' ? [at.value] : at.type === 'graphs' ? at.value : []) {
            const facts = inferShapes(sub);
            visit(sub, (v) => facts.get(v)?.elemType ?? sub.typeOf(v)?.elemType ?? typeOf(v), ` inside ${n.opType} "${n.name || n.outputs[0]}" (${key})`);
          }
        }
        continue;
      }
      if (!(n.domain === '' || n.domain === 'ai.onnx') || (n.opType !== 'MatMul' && n.opType !== 'Gemm')) continue;
      const [a, w, c] = [n.inputs[0]!, n.inputs[1] ?? '', n.inputs[2] ?? ''];
      const wt0 = constant(g, w);
      const why = exclude.has(n.name) ? 'excluded'
        : typeOf(a) !== DataType.FLOAT ? `input is not float32 (${typeOf(a) === undefined ? 'its type is unknown' : dataTypeName(typeOf(a)!)})`
        : !wt0 || wt0.dataType !== DataType.FLOAT || wt0.dims.length !== 2 ? 'weight is not a 2-D float32 constant'
        : n.opType === 'Gemm' && (n.getInt('transA', 0) !== 0 || n.getFloat('alpha', 1) !== 1 || (c !== '' && (n.getFloat('beta', 1) !== 1 || !constant(g, c)))) ? 'Gemm with transA, alpha, beta or a computed C'
        : undefined;
      if (why) {
        skipped.push({ node: n.name, opType: n.opType, reason: `${why}${where}` });
        continue;
      }
      let wt = wt0!;
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
      const wq = root.addInitializer(Tensor.fromArray({ name: root.uniqueName(`${w}_quantized`), dims, data: unsigned ? toUint8(qw.data) : qw.data, dataType: unsigned ? DataType.UINT8 : DataType.INT8 })).name;
      const ws = root.addInitializer(Tensor.fromArray({ name: root.uniqueName(`${w}_scale`), dims: sDims, data: perChannel ? qw.scales : Float32Array.of(qw.scales[0]!) })).name;
      const wz = root.addInitializer(Tensor.fromArray({ name: root.uniqueName(`${w}_zero_point`), dims: sDims, data: unsigned ? new Uint8Array(zeros).fill(128) : new Int8Array(zeros), dataType: unsigned ? DataType.UINT8 : DataType.INT8 })).name;
      weights++;
      replaced.add(w);

      if (contrib) {
        const fuseBias = c !== '' && constant(g, c)!.dims.length === 1;
        const y = c && !fuseBias ? root.uniqueName(`${n.outputs[0]}_matmul`) : n.outputs[0]!;
        g.replaceNode(n, [
          new Node({
            opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', name: root.uniqueName(`${n.name || n.outputs[0]}_DynamicQuantizeMatMul`),
            inputs: fuseBias ? [a, wq, ws, wz, c] : [a, wq, ws, wz], outputs: [y],
          }),
          ...(c && !fuseBias ? [new Node({ opType: 'Add', name: root.uniqueName(`${n.name || n.outputs[0]}_bias_add`), inputs: [y, c], outputs: [n.outputs[0]!] })] : []),
        ]);
        nodes[n.opType] = (nodes[n.opType] ?? 0) + 1;
        continue;
      }
      let qa = quantizedInputs.get(a);
      const added: Node[] = [];
      if (!qa) {
        qa = [root.uniqueName(`${a}_quantized`), root.uniqueName(`${a}_scale`), root.uniqueName(`${a}_zero_point`)];
        added.push(new Node({ opType: 'DynamicQuantizeLinear', name: root.uniqueName(`${a}_DynamicQuantizeLinear`), inputs: [a], outputs: qa }));
        quantizedInputs.set(a, qa);
      }
      const base = n.name || n.outputs[0]!;
      const out = n.outputs[0]!;
      const mmi = root.uniqueName(`${base}_MatMulInteger_output`);
      const cast = root.uniqueName(`${base}_cast_output`);
      const scales = root.uniqueName(`${base}_scales`);
      const scaled = c ? root.uniqueName(`${base}_scaled`) : out;
      added.push(
        new Node({ opType: 'MatMulInteger', name: root.uniqueName(`${base}_MatMulInteger`), inputs: [qa[0], wq, qa[2], wz], outputs: [mmi] }),
        new Node({ opType: 'Cast', name: root.uniqueName(`${base}_Cast`), inputs: [mmi], outputs: [cast], attributes: { to: attr.int(DataType.FLOAT) } }),
        new Node({ opType: 'Mul', name: root.uniqueName(`${base}_scales_mul`), inputs: [qa[1], ws], outputs: [scales] }),
        new Node({ opType: 'Mul', name: root.uniqueName(`${base}_output_scale_mul`), inputs: [cast, scales], outputs: [scaled] }),
      );
      if (c) added.push(new Node({ opType: 'Add', name: root.uniqueName(`${base}_bias_add`), inputs: [scaled, c], outputs: [out] }));
      g.replaceNode(n, added);
      nodes[n.opType] = (nodes[n.opType] ?? 0) + 1;
    }
  };
  const facts = inferShapes(root);
  visit(root, (v) => facts.get(v)?.elemType ?? root.typeOf(v)?.elemType, '');
  for (const name of replaced) if (!root.isUsed(name) && !root.isInput(name)) root.removeInitializer(name);
  root.topologicalSort();
  return { nodes, weights, skipped };
}
