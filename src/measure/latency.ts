/**
 * Latency samples and their summary. Samples go into a growing Float64Array (no per-sample
 * object, no boxed number in a JS array); percentiles are taken once, after sorting a copy.
 */

/** Milliseconds, one per completed request. */
export class LatencyRecorder {
  #data: Float64Array;
  #length = 0;

  /** @param capacity initial number of samples held before the buffer doubles. @defaultValue 4096 */
  constructor(capacity = 4096) {
    this.#data = new Float64Array(Math.max(1, capacity));
  }

  get count(): number {
    return this.#length;
  }

  add(ms: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = ms;
  }

  /** The samples so far, sorted ascending (a copy). */
  sorted(): Float64Array {
    return this.#data.slice(0, this.#length).sort();
  }

  summary(): LatencySummary {
    return summarize(this.sorted());
  }
}

/**
 * The p-th percentile (0..100) of ascending `sorted` samples, by the nearest-rank method (the
 * smallest sample with at least p% of the samples at or below it — what perf_analyzer and wrk
 * report). NaN when there are no samples.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not within 0..100`);
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[rank - 1]!;
}

export interface LatencySummary {
  readonly count: number;
  /** All in ms; NaN when count is 0. */
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Summary of ascending samples. */
export function summarize(sorted: ArrayLike<number>): LatencySummary {
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    count: n,
    min: n ? sorted[0]! : NaN,
    mean: n ? sum / n : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1]! : NaN,
  };
}

/** Rounds for JSON output: ms to 3 decimals, NaN to null. */
export function roundMs(ms: number): number | null {
  return Number.isFinite(ms) ? Math.round(ms * 1000) / 1000 : null;
}

/** A summary with every field rounded (NaN as null), ready for JSON. */
export function summaryJson(s: LatencySummary): Record<keyof LatencySummary, number | null> {
  return { count: s.count, min: roundMs(s.min), mean: roundMs(s.mean), p50: roundMs(s.p50), p90: roundMs(s.p90), p99: roundMs(s.p99), max: roundMs(s.max) };
}
