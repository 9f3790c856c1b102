/**
 * How many refusals (503 QUEUE_FULL) a second the server can afford, from what it measures: the
 * rate at which it completes requests (the engine's load) and what one refusal costs the event
 * loop. Clients that retry at once turn each 503 into another request; what they get answered at
 * once is bounded by
 *
 *   min(perServed x requests completed a second,  cpuShare / seconds of CPU one refusal takes)
 *
 * so the refusals stay in proportion to the useful work on a fast machine and a slow one alike,
 * and never take more than `cpuShare` of a core. A ResNet-18 that completes 50 requests a second
 * admits ~50 refusals a second (each drains a 600 KB body); the 0.1 ms Fashion model, thousands.
 */
export interface RefusalBudgetOptions {
  /** Requests completed so far, a running count. */
  readonly served: () => number;
  /** Refusals answered at once per request completed. @defaultValue 1 */
  readonly perServed?: number;
  /** Share of one core that refusals may take, by their measured cost. @defaultValue 0.1 */
  readonly cpuShare?: number;
  /** Refusals a second always allowed. @defaultValue 20 */
  readonly minRatePerS?: number;
  /** Refusals a second never exceeded (--max-refusal-rate). @defaultValue Infinity */
  readonly maxRatePerS?: number;
}

/** Samples kept for the completion rate: 10 of at least 100 ms, about the last second. */
const WINDOW = 10;
const SAMPLE_MS = 100;

export class RefusalBudget {
  readonly #o: Required<RefusalBudgetOptions>;
  readonly #times: number[] = [];
  readonly #counts: number[] = [];
  /** EWMA of one refusal's cost on the event loop, in ms. */
  #costMs = 0.02;
  #rate: number;

  constructor(options: RefusalBudgetOptions) {
    this.#o = { perServed: 1, cpuShare: 0.1, minRatePerS: 20, maxRatePerS: Infinity, ...options };
    this.#rate = this.#o.minRatePerS;
    this.#sample(performance.now());
  }

  /** Records what answering one refusal took on the event loop, in ms. */
  noteCost(ms: number): void {
    this.#costMs += 0.05 * (ms - this.#costMs);
  }

  get costMs(): number {
    return this.#costMs;
  }

  /** Requests completed a second over about the last second. */
  get servedPerS(): number {
    const n = this.#times.length;
    if (n < 2) return 0;
    const dt = this.#times[n - 1]! - this.#times[0]!;
    return dt > 0 ? ((this.#counts[n - 1]! - this.#counts[0]!) * 1000) / dt : 0;
  }

  /** Refusals a second answered at once, now. */
  ratePerS(now = performance.now()): number {
    if (now - this.#times[this.#times.length - 1]! >= SAMPLE_MS) {
      this.#sample(now);
      const byLoad = this.#o.perServed * this.servedPerS;
      const byCost = (this.#o.cpuShare * 1000) / Math.max(this.#costMs, 1e-4);
      this.#rate = Math.min(this.#o.maxRatePerS, Math.max(this.#o.minRatePerS, Math.min(byLoad, byCost)));
    }
    return this.#rate;
  }

  #sample(now: number): void {
    this.#times.push(now);
    this.#counts.push(this.#o.served());
    if (this.#times.length > WINDOW) {
      this.#times.shift();
      this.#counts.shift();
    }
  }
}
