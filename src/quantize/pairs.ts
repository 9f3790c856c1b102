/**
 * int8 weights that x86 CPUs without VNNI multiply exactly.
 *
 * ONNX Runtime's u8 x s8 kernels for AVX2 and AVX-512BW (MLAS QgemmU8S8, ConvSym) multiply with
 * VPMADDUBSW: each pair of adjacent products along the reduction axis K is added into an int16
 * that saturates. A uint8 activation reaches 255, so a pair of weights whose magnitudes add up to
 * more than 128 can clip (255 x 127 x 2 = 64770 > 32767). ONNX Runtime's quantizer answers with
 * `reduce_range` (every weight in [-64, 64]: 7 bits). Only the pairs matter, though: keeping
 * |q_a| + |q_b| <= 128 for each pair the kernel adds (255 x 128 = 32640 fits) leaves most weights
 * their 8 bits: per output channel, the scale with the least error between absmax / 127 and
 * largest pair sum / 128, the few pairs still over the limit clipped to it.
 *
 * Which weights the kernels pair (onnxruntime/core/mlas, read for 1.20-1.30):
 *  - MatMul / Gemm / MatMulInteger / DynamicQuantizeMatMul: B is packed along K four at a time,
 *    and VPMADDUBSW adds (k, k+1) for even k.
 *  - Conv (QLinearConv): the filter is reordered to [kernel position][input channel][output], so
 *    K = position-major, channel-minor: the GEMM path pairs (f, f+1) for even f in that order; the
 *    ConvSym path pads each position's channels to four and pairs (c, c+1) for even c. Both are
 *    kept (they are the same when the channels per group are even).
 *  - Depthwise Conv (one input and one output channel per group): widened to 32 bits before it
 *    multiplies (VPMOVSXBD + VPMADDWD): no pairs, full 8 bits.
 */
import type { QuantizedWeight } from './qparams.js';
import { WEIGHT_QMAX_8BIT, roundHalfEven } from './qparams.js';

/** How a weight tensor lies against the kernel's reduction axis K. */
export type WeightLayout =
  /** Conv [M, C/group, k1, k2, ...]. */
  | { readonly kind: 'conv'; readonly group: number }
  /** MatMul / Gemm B as [..., K, N] (N: output channels). */
  | { readonly kind: 'kn' }
  /** Gemm B with transB=1: [N, K]. */
  | { readonly kind: 'nk' };

/** The largest |q_a| + |q_b| of a pair VPMADDUBSW adds: 255 x 128 = 32640 <= 32767. */
export const PAIR_LIMIT = 128;

/** Calls `f(i, j)` with the flat indices of each pair of weights the kernel adds in one int16. */
export function forEachKernelPair(dims: readonly number[], layout: WeightLayout, f: (i: number, j: number) => void): void {
  if (layout.kind === 'conv') {
    const m = dims[0]!;
    const cg = dims[1]!;
    const taps = dims.slice(2).reduce((a, b) => a * b, 1);
    if (cg === 1 && m === layout.group) return; // depthwise: widened to 32 bits, no pairs
    const k = cg * taps;
    // The flat index of K position f (position-major, channel-minor) in [M, C, taps] storage, relative to channel base.
    const at = (fk: number): number => (fk % cg) * taps + Math.floor(fk / cg);
    for (let o = 0; o < m; o++) {
      const base = o * k;
      for (let fk = 0; fk + 1 < k; fk += 2) f(base + at(fk), base + at(fk + 1));
      if (cg % 2 === 1) {
        for (let t = 0; t < taps; t++) for (let c = 0; c + 1 < cg; c += 2) f(base + c * taps + t, base + (c + 1) * taps + t);
      }
    }
    return;
  }
  const rank = dims.length;
  if (layout.kind === 'nk') {
    const n = dims[rank - 2]!;
    const k = dims[rank - 1]!;
    for (let o = 0; o < n; o++) for (let kk = 0; kk + 1 < k; kk += 2) f(o * k + kk, o * k + kk + 1);
    return;
  }
  const k = dims[rank - 2] ?? 1;
  const n = dims[rank - 1]!;
  const batches = dims.slice(0, -2).reduce((a, b) => a * b, 1);
  for (let b = 0; b < batches; b++) {
    const base = b * k * n;
    for (let kk = 0; kk + 1 < k; kk += 2) for (let o = 0; o < n; o++) f(base + kk * n + o, base + (kk + 1) * n + o);
  }
}

/**
 * Symmetric int8 weights in [-127, 127], one scale per slice along `axis` (-1: one for the whole
 * tensor), with every pair of `layout` adding up to at most PAIR_LIMIT in magnitude.
 *
 * Per channel the scale is searched between the 8-bit one (absmax / 127) and the one under which
 * no pair needs clipping (largest pair sum / 128): 17 candidates, and the one with the least
 * squared error wins, pairs that still exceed the limit clipped to it (both weights shortened by
 * the same amount, the closest point within the limit). Most channels have a few heavy pairs:
 * clipping them costs less than coarsening every weight. Returns the weights and `fullChannels`,
 * how many channels kept the 8-bit scale.
 */
export function quantizeWeightPairSafe(values: Float32Array, dims: readonly number[], axis: number, layout: WeightLayout): QuantizedWeight & { readonly fullChannels: number } {
  const channels = axis < 0 ? 1 : dims[axis]!;
  const inner = axis < 0 ? values.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = axis < 0 ? () => 0 : (i: number) => Math.floor(i / inner) % channels;
  const absmax = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i);
    const v = Math.abs(values[i]!);
    if (v > absmax[c]!) absmax[c] = v;
  }
  const pairMax = new Float64Array(channels);
  const pairs: number[] = [];
  forEachKernelPair(dims, layout, (i, j) => {
    pairs.push(i, j);
    const c = channelOf(i);
    const s = Math.abs(values[i]!) + Math.abs(values[j]!);
    if (s > pairMax[c]!) pairMax[c] = s;
  });
  const lo = new Float64Array(channels);
  const hi = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    lo[c] = absmax[c]! > 0 ? absmax[c]! / WEIGHT_QMAX_8BIT : 1;
    hi[c] = Math.max(lo[c]!, pairMax[c]! / PAIR_LIMIT);
  }
  const STEPS = 16;
  const candidate = (c: number, k: number): number => Math.fround(lo[c]! * (hi[c]! / lo[c]!) ** (k / STEPS));
  const data = new Int8Array(values.length);
  const quantizeAll = (scaleOf: (c: number) => number): void => {
    for (let i = 0; i < values.length; i++) data[i] = Math.min(WEIGHT_QMAX_8BIT, Math.max(-WEIGHT_QMAX_8BIT, roundHalfEven(values[i]! / scaleOf(channelOf(i)))));
    for (let p = 0; p < pairs.length; p += 2) {
      const i = pairs[p]!;
      const j = pairs[p + 1]!;
      let a = Math.abs(data[i]!);
      let b = Math.abs(data[j]!);
      if (a + b <= PAIR_LIMIT) continue;
      // the closest point of |a| + |b| <= limit: shorten both by half the excess (not below zero)
      const s = scaleOf(channelOf(i));
      const x = Math.abs(values[i]!) / s;
      const y = Math.abs(values[j]!) / s;
      const e = (x + y - PAIR_LIMIT) / 2;
      let xa = x - e;
      let yb = y - e;
      if (yb < 0) { xa = PAIR_LIMIT; yb = 0; } else if (xa < 0) { yb = PAIR_LIMIT; xa = 0; }
      a = Math.min(WEIGHT_QMAX_8BIT, Math.round(xa));
      b = Math.min(WEIGHT_QMAX_8BIT, PAIR_LIMIT - a, Math.round(yb));
      if (a + b > PAIR_LIMIT) a = PAIR_LIMIT - b;
      data[i] = Math.sign(values[i]!) * a;
      data[j] = Math.sign(values[j]!) * b;
    }
  };
  const error = (scaleOf: (c: number) => number): Float64Array => {
    const e = new Float64Array(channels);
    for (let i = 0; i < values.length; i++) {
      const c = channelOf(i);
      const d = data[i]! * scaleOf(c) - values[i]!;
      e[c]! += d * d;
    }
    return e;
  };
  const best = new Int32Array(channels);
  const bestErr = new Float64Array(channels).fill(Infinity);
  for (let k = 0; k <= STEPS; k++) {
    const scaleOf = (c: number): number => candidate(c, k);
    quantizeAll(scaleOf);
    const e = error(scaleOf);
    for (let c = 0; c < channels; c++) if (e[c]! < bestErr[c]!) { bestErr[c] = e[c]!; best[c] = k; }
  }
  const scales = new Float32Array(channels);
  let fullChannels = 0;
  for (let c = 0; c < channels; c++) {
    scales[c] = candidate(c, best[c]!);
    if (best[c] === 0) fullChannels++;
  }
  quantizeAll((c) => scales[c]!);
  return { data, scales, axis, fullChannels };
}

/** The largest |q_a| + |q_b| over the kernel's pairs of quantized weights (for tests and reports). */
export function largestPairSum(data: Int8Array | Uint8Array, dims: readonly number[], layout: WeightLayout, zeroPoint = 0): number {
  let m = 0;
  forEachKernelPair(dims, layout, (i, j) => {
    const s = Math.abs(data[i]! - zeroPoint) + Math.abs(data[j]! - zeroPoint);
    if (s > m) m = s;
  });
  return m;
}
