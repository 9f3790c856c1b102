/**
 * The activation statistics ncnn2table keeps per blob: the absolute maximum, and a 2048-bin
 * histogram of |x| for the non-zero values (ncnn2table skips zeros: a ReLU's many zeros would
 * otherwise pull the KL threshold down). One pass: when a batch holds a larger |x| the bin
 * width doubles, pairs of bins merging, as src/quantize/histogram.ts's collector does.
 * Thresholds come from the shared calibrator math (entropyThreshold, percentileThreshold).
 */
import { HISTOGRAM_BINS, entropyThreshold, percentileThreshold } from '../../../quantize/histogram.js';

/** ncnn's calibration methods: KL divergence (ncnn2table's default), absolute max, percentile. */
export type NcnnCalibrationMethod = 'kl' | 'minmax' | 'percentile';
export const NCNN_CALIBRATION_METHODS: readonly NcnnCalibrationMethod[] = ['kl', 'minmax', 'percentile'];

/** ncnn2table's KL search starts at 128 bins: int8 is symmetric, 127 levels a side. */
const KL_LEVELS = 128;

export class AbsHistogram {
  absmax = 0;
  readonly #hist = new Float64Array(HISTOGRAM_BINS);
  #width = 0;

  /** Adds values. Hot loop: no allocation. */
  add(values: Float32Array): void {
    let m = 0;
    for (let i = 0; i < values.length; i++) {
      const a = Math.abs(values[i]!);
      if (a > m) m = a;
    }
    if (m > this.absmax) this.absmax = m;
    if (m === 0) return;
    if (this.#width === 0) this.#width = (m * (1 + 1e-7)) / HISTOGRAM_BINS;
    while (m >= this.#width * HISTOGRAM_BINS) this.#widen();
    const inv = 1 / this.#width;
    const last = HISTOGRAM_BINS - 1;
    const h = this.#hist;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v === 0 || v !== v) continue;
      const b = ((v < 0 ? -v : v) * inv) | 0;
      h[b > last ? last : b]! += 1;
    }
  }

  /** The |x| threshold the method picks (values beyond it saturate). */
  threshold(method: NcnnCalibrationMethod, percentile = 99.99): number {
    if (this.absmax === 0 || this.#width === 0 || method === 'minmax') return this.absmax;
    const t = method === 'kl' ? entropyThreshold(this.#hist, this.#width, KL_LEVELS) : percentileThreshold(this.#hist, this.#width, percentile);
    return Math.min(t, this.absmax);
  }

  #widen(): void {
    const h = this.#hist;
    for (let i = 0; i < HISTOGRAM_BINS / 2; i++) h[i] = h[2 * i]! + h[2 * i + 1]!;
    h.fill(0, HISTOGRAM_BINS / 2);
    this.#width *= 2;
  }
}
