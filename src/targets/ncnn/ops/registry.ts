/**
 * The op converters, by ONNX op type. Adding an op is one file in this folder and one line here.
 */
import type { OpConverter } from './op.js';
import { activation } from './activation.js';
import { batchNorm } from './batch-norm.js';
import { binary } from './binary.js';
import { concat } from './concat.js';
import { conv } from './conv.js';
import { convTranspose } from './conv-transpose.js';
import { gemm } from './gemm.js';
import { identity } from './identity.js';
import { matmul } from './matmul.js';
import { pad } from './pad.js';
import { pool } from './pool.js';
import { reduce } from './reduce.js';
import { reshape } from './reshape.js';
import { resize } from './resize.js';
import { slice } from './slice.js';
import { softmax } from './softmax.js';
import { split } from './split.js';
import { transpose } from './transpose.js';
import { unary } from './unary.js';

export const CONVERTERS: readonly OpConverter[] = Object.freeze([
  conv, convTranspose, gemm, matmul, batchNorm, pool, activation, unary, binary, concat, split, slice, reshape, transpose, pad, resize, softmax, reduce, identity,
]);

const BY_OP = new Map<string, OpConverter>();
for (const c of CONVERTERS) for (const op of c.ops) BY_OP.set(op, c);

/** The converter of an ONNX op (default domain); undefined when ncnn export does not support it. */
export function converterFor(opType: string): OpConverter | undefined {
  return BY_OP.get(opType);
}

/** Every ONNX op type ferry converts to ncnn, sorted. */
export function supportedOps(): string[] {
  return [...BY_OP.keys()].sort();
}
