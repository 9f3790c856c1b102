/**
 * Paces refusals (503 QUEUE_FULL) once they come faster than a budget: a token bucket of
 * `rate` refusals a second — a number, or a function the bucket asks as it refills (the adaptive
 * RefusalBudget, ./refusal-budget.ts) — with bursts up to 50 ms worth; a refusal within budget is
 * answered at once, one beyond it waits in a FIFO for its token.
 *
 * Why: a 503 still costs an HTTP exchange, and clients that ignore Retry-After and retry at once
 * turn every 503 into another request, as fast as the server answers them. On a machine whose
 * cores the model also needs, such a retry storm takes the CPU from the requests being served:
 * with 4x the saturating clients, completed throughput fell to under half of saturated even with
 * refusals at ~20 µs each. Holding the answer of a refusal past the budget holds that client's
 * next request too (HTTP/1.1 has one request in flight per connection), so the storm slows to the
 * budget while every refused client still gets its 503, in arrival order, after a wait of about
 * (clients refused) / ratePerS. Refusals within budget — any ordinary overload with clients that
 * back off — are not delayed at all.
 */
export class RefusalPacer {
  readonly #rate: () => number;
  #ratePerMs: number;
  readonly #fixedBurst: number | undefined;
  #burst: number;
  #tokens: number;
  #last = performance.now();
  readonly #held: Array<() => void> = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Refusals that had to wait for the budget, in all. */
  paced = 0;

  /**
   * @param rate refusals a second answered at once, or a function giving it as it changes; 0 or
   * Infinity = never pace. @param burst tokens at most. @defaultValue rate / 20 (50 ms worth), at least 1
   */
  constructor(rate: number | (() => number), burst?: number) {
    this.#rate = typeof rate === 'number' ? () => rate : rate;
    this.#fixedBurst = burst;
    this.#ratePerMs = 0;
    this.#burst = 1;
    this.#update();
    this.#tokens = this.#burst;
  }

  #update(): void {
    const ratePerS = this.#rate();
    this.#ratePerMs = ratePerS > 0 && Number.isFinite(ratePerS) ? ratePerS / 1000 : Infinity;
    this.#burst = this.#fixedBurst ?? Math.max(1, ratePerS / 20);
  }

  /** Refusals waiting for their turn now. */
  get held(): number {
    return this.#held.length - this.#head;
  }

  /** Runs `answer` now when within budget, else once its turn comes. */
  submit(answer: () => void): void {
    this.#update();
    if (this.#ratePerMs === Infinity) {
      answer();
      return;
    }
    this.#refill();
    if (this.held === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      answer();
      return;
    }
    this.paced++;
    this.#held.push(answer);
    this.#schedule();
  }

  /** Answers every held refusal now (shutdown). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.held > 0) this.#next()();
  }

  #refill(): void {
    const now = performance.now();
    if (this.#ratePerMs === Infinity) { this.#tokens = this.#burst; this.#last = now; return; }
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#ratePerMs);
    this.#last = now;
  }

  #next(): () => void {
    const answer = this.#held[this.#head]!;
    this.#held[this.#head++] = undefined as unknown as () => void;
    if (this.#head > 1024 && this.#head * 2 > this.#held.length) {
      this.#held.splice(0, this.#head);
      this.#head = 0;
    }
    return answer;
  }

  #schedule(): void {
    if (this.#timer) return;
    const wait = Math.max(1, (1 - this.#tokens) / this.#ratePerMs);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#update();
      if (this.#ratePerMs === Infinity) { // pacing was turned off meanwhile
        while (this.held > 0) this.#next()();
        return;
      }
      this.#refill();
      while (this.held > 0 && this.#tokens >= 1) {
        this.#tokens -= 1;
        this.#next()();
      }
      if (this.held > 0) this.#schedule();
    }, wait);
  }
}
