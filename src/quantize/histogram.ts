/**
 * Range collectors for calibration: the running min/max of a tensor, and a histogram of its
 * absolute values from which the entropy (KL divergence, TensorRT's and ncnn2table's method)
 * and percentile thresholds are chosen.
 *
 * The histogram has a fixed number of bins over [0, width * bins). When a batch holds a value
 * beyond the top, the bin width doubles (pairs of bins merge) until it fits: one pass over the
 * data, bounded memory, and the same result whatever the batch order's maxima.
 */
import type { Range } from './qparams.js';

export type CalibrationMethod = 'minmax' | 'entropy' | 'percentile';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'entropy', 'percentile'];

/** Bins of the absolute-value histogram (TensorRT and ncnn use 2048). */
export const HISTOGRAM_BINS = 2048;

export class RangeCollector {
  min = Infinity;
  max = -Infinity;
  /** Elements seen, NaN excluded. */
  count = 0;
  readonly #hist: Float64Array | undefined;
  #width = 0;

  /** @param histogram also collect the absolute-value histogram (entropy, percentile). */
  constructor(histogram: boolean) {
    this.#hist = histogram ? new Float64Array(HISTOGRAM_BINS) : undefined;
  }

  /** Adds a batch of values. Hot loop: no allocation. */
  add(values: Float32Array): void {
    let lo = this.min;
    let hi = this.max;
    let absmax = 0;
    let n = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v !== v) continue; // NaN
      n++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      const a = v < 0 ? -v : v;
      if (a > absmax) absmax = a;
    }
    this.min = lo;
    this.max = hi;
    this.count += n;
    const hist = this.#hist;
    if (!hist || n === 0) return;
    if (this.#width === 0) {
      if (absmax === 0) {
        hist[0]! += n;
        return;
      }
      this.#width = (absmax * (1 + 1e-7)) / HISTOGRAM_BINS;
    }
    while (absmax >= this.#width * HISTOGRAM_BINS) this.#widen();
    const inv = 1 / this.#width;
    const last = HISTOGRAM_BINS - 1;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v !== v) continue;
      const b = ((v < 0 ? -v : v) * inv) | 0;
      hist[b > last ? last : b]! += 1;
    }
  }

  /** The range the method picks, widened to include 0. */
  range(method: CalibrationMethod, percentile: number): Range {
    if (this.count === 0) return { min: 0, max: 0 };
    const min = Math.min(this.min, 0);
    const max = Math.max(this.max, 0);
    if (method === 'minmax' || !this.#hist || this.#width === 0) return { min, max };
    const unsigned = this.min >= 0;
    const t = method === 'entropy'
      ? entropyThreshold(this.#hist, this.#width, unsigned ? 255 : 127)
      : percentileThreshold(this.#hist, this.#width, percentile);
    return { min: Math.max(min, -t), max: Math.min(max, t) };
  }

  #widen(): void {
    const h = this.#hist!;
    for (let i = 0; i < HISTOGRAM_BINS / 2; i++) h[i] = h[2 * i]! + h[2 * i + 1]!;
    h.fill(0, HISTOGRAM_BINS / 2);
    this.#width *= 2;
  }
}

/** The |x| below which `percentile` % of the values lie (upper edge of that bin). */
export function percentileThreshold(hist: Float64Array, width: number, percentile: number): number {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i]!;
  const target = (total * percentile) / 100;
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i]!;
    if (acc >= target) return (i + 1) * width;
  }
  return hist.length * width;
}

/**
 * TensorRT's entropy calibration (Migacz, "8-bit inference with TensorRT", GTC 2017; ncnn2table):
 * for each candidate threshold i (in bins, from `levels` to the last bin), P = the histogram
 * up to i with the tail folded into the last bin, Q = P squeezed into `levels` buckets and
 * spread back over P's non-empty bins; the threshold with the least KL(P || Q) wins.
 * `levels`: 127 for signed tensors (one side of int8), 255 for non-negative ones.
 */
export function entropyThreshold(hist: Float64Array, width: number, levels: number): number {
  const n = hist.length;
  let last = n - 1;
  while (last > 0 && hist[last] === 0) last--;
  if (last + 1 <= levels) return (last + 1) * width;
  let tail = 0;
  for (let i = n - 1; i >= levels; i--) tail += hist[i]!;
  let bestI = last + 1;
  let bestKl = Infinity;
  const p = new Float64Array(n);
  for (let i = levels; i <= last + 1; i++) {
    // tail = sum of hist[i..n)
    let pSum = 0;
    for (let k = 0; k < i; k++) {
      p[k] = hist[k]!;
      pSum += hist[k]!;
    }
    p[i - 1]! += tail;
    pSum += tail;
    if (pSum === 0) {
      tail -= hist[i] ?? 0;
      continue;
    }
    // Q: merge the i bins of hist[0..i) into `levels` buckets, then expand over non-zero bins.
    let kl = 0;
    const perBucket = i / levels;
    let qSum = 0;
    // First pass for Q's normaliser; second pass for KL. Buckets are [floor(j*per), floor((j+1)*per)).
    for (let j = 0; j < levels; j++) {
      const start = Math.floor(j * perBucket);
      const end = j === levels - 1 ? i : Math.floor((j + 1) * perBucket);
      for (let k = start; k < end; k++) qSum += hist[k]!;
    }
    if (qSum === 0) {
      tail -= hist[i] ?? 0;
      continue;
    }
    for (let j = 0; j < levels; j++) {
      const start = Math.floor(j * perBucket);
      const end = j === levels - 1 ? i : Math.floor((j + 1) * perBucket);
      let sum = 0;
      let nonzero = 0;
      for (let k = start; k < end; k++) {
        sum += hist[k]!;
        if (p[k]! !== 0) nonzero++;
      }
      if (nonzero === 0) continue;
      const q = sum / nonzero / qSum;
      for (let k = start; k < end; k++) {
        const pk = p[k]! / pSum;
        if (pk === 0) continue;
        kl += pk * Math.log(pk / (q > 0 ? q : 1e-12));
      }
    }
    if (kl < bestKl) {
      bestKl = kl;
      bestI = i;
    }
    tail -= hist[i] ?? 0;
  }
  return bestI * width;
}
