/**
 * How much 8-bit quantization loses on each tensor: the float model runs on a few calibration
 * samples with the planned tensors fetched, each is quantized with its calibrated parameters, and
 * the error is the mean over channels of ||dequant(quant(x_c)) - x_c|| / ||x_c||. Per channel,
 * because one scale per tensor crushes the small channels of a tensor whose other channels are
 * large (an FPN Concat, an activation with outliers) while its overall cosine still reads 0.999.
 *
 * `ferry quantize --auto-exclude` keeps the worst tensors in float, round after round, until the
 * model's outputs agree with float (mixed precision).
 */
import type ort from 'onnxruntime-node';
import type { Model } from '../onnx/ir/model.js';
import { ValueInfo } from '../onnx/ir/value-info.js';
import { encodeModel } from '../onnx/io/save.js';
import { toOrtTensor } from '../engines/onnxruntime/tensors.js';
import type { Dataset } from './data.js';
import type { QuantType, Range } from './qparams.js';
import { activationParams, qmax, qmin, roundHalfEven } from './qparams.js';
import { openSession } from './session.js';

export interface TensorError {
  readonly tensor: string;
  /** Mean over channels (and samples) of the relative RMS error of 8-bit quantization. */
  readonly error: number;
}

/** The channel axis of an activation: 1 for NCHW (rank >= 4), the last axis for [batch, features] and [batch, tokens, features]. */
function channelAxis(rank: number): number {
  return rank >= 4 ? 1 : rank - 1;
}

/** Mean per-channel relative RMS error of quantizing `x` (dims) with one scale and zero point. */
export function quantizationError(x: Float32Array, dims: readonly number[], range: Range, type: QuantType): number {
  const p = activationParams(range, type);
  const lo = qmin(type);
  const hi = qmax(type);
  const axis = channelAxis(dims.length);
  const channels = dims[axis] ?? 1;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const err = new Float64Array(channels);
  const norm = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const v = x[i]!;
    const q = Math.min(hi, Math.max(lo, roundHalfEven(v / p.scale) + p.zeroPoint));
    const d = (q - p.zeroPoint) * p.scale - v;
    err[c]! += d * d;
    norm[c]! += v * v;
  }
  let sum = 0;
  let n = 0;
  for (let c = 0; c < channels; c++) {
    if (norm[c]! === 0) continue;
    sum += Math.sqrt(err[c]! / norm[c]!);
    n++;
  }
  return n ? sum / n : 0;
}

/** Quantization error of each tensor over samples [0, count) of `data`, worst first. */
export async function tensorErrors(
  model: Model, ranges: ReadonlyMap<string, Range>, type: QuantType, data: Dataset, options: { count: number; batchSize: number },
): Promise<TensorError[]> {
  const names = [...ranges.keys()];
  const m = model.clone();
  const g = m.graph;
  g.outputs = [...g.outputs, ...names.filter((n) => !g.isOutput(n)).map((n) => new ValueInfo({ name: n }))];
  const session = await openSession(encodeModel(m), 'the float model (quantization error)', { optimization: 'basic' });
  const sums = new Map<string, { sum: number; n: number }>();
  try {
    const total = Math.min(options.count, data.size);
    for (let start = 0; start < total; start += options.batchSize) {
      const batch = await data.batch(start, Math.min(options.batchSize, total - start));
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of session.inputNames) feeds[name] = toOrtTensor(batch.get(name)!);
      const out = await session.run(feeds, names);
      for (const name of names) {
        const t = out[name];
        if (!t || t.type !== 'float32') continue;
        const e = quantizationError(t.data as Float32Array, t.dims, ranges.get(name)!, type);
        const s = sums.get(name) ?? { sum: 0, n: 0 };
        sums.set(name, { sum: s.sum + e, n: s.n + 1 });
      }
    }
  } finally {
    await session.release();
  }
  return [...sums].map(([tensor, s]) => ({ tensor, error: s.sum / s.n })).sort((a, b) => b.error - a.error);
}
