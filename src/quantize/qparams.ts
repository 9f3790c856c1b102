/**
 * Linear quantization arithmetic, as ONNX QuantizeLinear / DequantizeLinear define it:
 * `q = saturate(round_half_even(x / scale) + zero_point)`, `x ≈ (q - zero_point) * scale`.
 * Activation parameters from a calibrated range, per-channel symmetric int8 weights, and int32
 * biases whose scale is `x_scale * w_scale` (what QLinearConv / QGemm expect).
 */
import { DataType } from '../onnx/ir/data-type.js';

/** The 8-bit element type of a quantized tensor. */
export type QuantType = 'uint8' | 'int8';

/** One scale and zero point (per tensor). */
export interface QuantParams {
  readonly type: QuantType;
  /** A float32 value, > 0. */
  readonly scale: number;
  readonly zeroPoint: number;
}

/** A weight quantized per channel (or per tensor: one channel). */
export interface QuantizedWeight {
  readonly data: Int8Array;
  /** One float32 scale per channel. */
  readonly scales: Float32Array;
  /** The channel axis; -1 for one scale for the whole tensor. */
  readonly axis: number;
}

/** A calibrated range of an activation, in its float units. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

export function qmin(type: QuantType): number {
  return type === 'uint8' ? 0 : -128;
}

export function qmax(type: QuantType): number {
  return type === 'uint8' ? 255 : 127;
}

export function onnxType(type: QuantType): DataType {
  return type === 'uint8' ? DataType.UINT8 : DataType.INT8;
}

/** Round half to even, as QuantizeLinear rounds. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Asymmetric parameters covering `range` (widened to include 0, so that zero, padding and ReLU's
 * floor are exact). A range of one point gets scale 1.
 */
export function activationParams(range: Range, type: QuantType): QuantParams {
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  const qlo = qmin(type);
  const qhi = qmax(type);
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return { type, scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / (qhi - qlo));
  const zeroPoint = Math.min(qhi, Math.max(qlo, roundHalfEven(qlo - lo / scale)));
  return { type, scale, zeroPoint };
}

/** Parameters for a constant quantized as an activation (the scalar of a Mul, the bias of an Add): its own range. */
export function constantParams(values: Float32Array, type: QuantType): QuantParams {
  let min = 0;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return activationParams({ min, max }, type);
}

/** Quantizes float values with one scale and zero point. */
export function quantizeValues(values: Float32Array, p: QuantParams): Uint8Array | Int8Array {
  const out = p.type === 'uint8' ? new Uint8Array(values.length) : new Int8Array(values.length);
  const lo = qmin(p.type);
  const hi = qmax(p.type);
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.min(hi, Math.max(lo, roundHalfEven(values[i]! / p.scale) + p.zeroPoint));
  }
  return out;
}

/**
 * How far int8 weights reach: 'full' [-127, 127]; 'pairs' [-127, 127] with each pair that x86's
 * u8 x s8 kernels add in int16 within 128 (pairs.ts); 'reduced' [-64, 64], ONNX Runtime's reduce_range.
 */
export type WeightRange = 'full' | 'pairs' | 'reduced';

/** The largest |q| of weights: 127 for 8 bits, 64 for ONNX Runtime's reduce_range (7 bits, [-64, 64]). */
export const WEIGHT_QMAX_8BIT = 127;
export const WEIGHT_QMAX_7BIT = 64;

/**
 * Symmetric int8 weight quantization in [-limit, limit] (zero point 0), one scale per slice along
 * `axis` (or one for the whole tensor when `axis` is -1). An all-zero channel gets scale 1.
 * `limit` 64 is ONNX Runtime's reduce_range: u8 x s8 products of adjacent pairs then fit the int16
 * that x86 CPUs without VNNI sum them in (VPMADDUBSW saturates: 2 x 255 x 127 > 32767).
 */
export function quantizeWeight(values: Float32Array, dims: readonly number[], axis: number, limit: number = WEIGHT_QMAX_8BIT): QuantizedWeight {
  const channels = axis < 0 ? 1 : dims[axis]!;
  const inner = axis < 0 ? values.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = axis < 0 ? 1 : dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const absmax = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      let m = absmax[c]!;
      for (let k = 0; k < inner; k++) {
        const v = Math.abs(values[base + k]!);
        if (v > m) m = v;
      }
      absmax[c] = m;
    }
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = absmax[c]! > 0 ? absmax[c]! / limit : 1;
  const data = new Int8Array(values.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      const s = scales[c]!;
      for (let k = 0; k < inner; k++) data[base + k] = Math.min(limit, Math.max(-limit, roundHalfEven(values[base + k]! / s)));
    }
  }
  return { data, scales, axis };
}

/**
 * An int32 bias for a quantized Conv / Gemm: `round(b[c] / (xScale * wScale[c]))`, and the
 * float32 scales used. Values beyond int32 saturate (they mean a broken calibration).
 */
export function quantizeBias(values: Float32Array, xScale: number, wScales: Float32Array): { data: Int32Array; scales: Float32Array } {
  const n = values.length;
  const scales = new Float32Array(n);
  const data = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const s = Math.fround(xScale * wScales[wScales.length === 1 ? 0 : c]!);
    scales[c] = s;
    const q = s > 0 ? roundHalfEven(values[c]! / s) : 0;
    data[c] = Math.min(2147483647, Math.max(-2147483648, q));
  }
  return { data, scales };
}
