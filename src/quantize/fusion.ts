/**
 * What ONNX Runtime made of a quantized model: the graph after its optimizations (written with
 * `optimizedModelFilePath`), counted. A QDQ model pays only when the Q/DQ pairs fuse into integer
 * kernels; QuantizeLinear / DequantizeLinear nodes left over, and float Conv / Gemm / MatMul, run
 * in float and cost time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { loadModel } from '../onnx/io/load.js';

export interface FusionReport {
  /** Node counts of the optimized graph (and its If / Loop subgraphs) by op type. */
  readonly ops: Record<string, number>;
  /** QuantizeLinear + DequantizeLinear nodes left (each runs on its own, in float). */
  readonly unfusedQdq: number;
  /** Integer kernels: QLinear*, QGemm, MatMulIntegerToFloat, DynamicQuantizeMatMul, ConvInteger ... */
  readonly integerOps: number;
  /** Conv / ConvTranspose / Gemm / MatMul left in float. */
  readonly floatHeavyOps: number;
}

const INTEGER = /^(QLinear|QGemm|MatMulInteger|DynamicQuantize(MatMul|LSTM)|ConvInteger|QAttention|QEmbed)/;

/** True for ONNX Runtime's integer kernels (QLinearConv, QGemm, MatMulIntegerToFloat, DynamicQuantizeMatMul ...). */
export function isIntegerOp(op: string): boolean {
  return INTEGER.test(op);
}
const HEAVY = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'FusedConv', 'FusedGemm', 'FusedMatMul', 'NchwcConv']);

/** Loads the model in ONNX Runtime (graph optimization 'all', CPU) and counts the optimized graph. */
export async function inspectFusion(modelPath: string): Promise<FusionReport> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-fusion-'));
  try {
    const optimized = join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized, logSeverityLevel: 3 });
    await session.release();
    const model = await loadModel(optimized);
    const ops: Record<string, number> = {};
    for (const n of model.graph.walk()) ops[n.opType] = (ops[n.opType] ?? 0) + 1; // subgraphs (If, Loop) included
    const count = (f: (op: string) => boolean) => Object.entries(ops).filter(([op]) => f(op)).reduce((s, [, c]) => s + c, 0);
    return {
      ops,
      unfusedQdq: (ops.QuantizeLinear ?? 0) + (ops.DequantizeLinear ?? 0),
      integerOps: count((op) => INTEGER.test(op)),
      floatHeavyOps: count((op) => HEAVY.has(op)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
