/**
 * Per-version statistics in the shape of Triton's statistics extension
 * (GET /v2/models/{m}/stats): counts and cumulative nanoseconds, overall and per batch size.
 */
interface Duration { count: number; ns: number }

const ns = (ms: number): number => Math.round(ms * 1e6);
const zero = (): Duration => ({ count: 0, ns: 0 });

export class ModelStats {
  readonly name: string;
  readonly version: string;
  #lastInference = 0;
  #inferenceCount = 0;
  #executionCount = 0;
  #success = zero();
  #fail = zero();
  #queue = zero();
  #input = zero();
  #infer = zero();
  #output = zero();
  #byBatch = new Map<number, { input: Duration; infer: Duration; output: Duration }>();

  constructor(name: string, version: string) {
    this.name = name;
    this.version = version;
  }

  success(ms: number): void {
    this.#success.count++;
    this.#success.ns += ns(ms);
  }

  fail(ms: number): void {
    this.#fail.count++;
    this.#fail.ns += ns(ms);
  }

  /** One executed batch of `size` samples from requests that waited `queueMs` each. */
  batch(size: number, queueMs: readonly number[], inputMs: number, computeMs: number, outputMs: number): void {
    this.#lastInference = Date.now();
    this.#inferenceCount += size;
    this.#executionCount++;
    for (const q of queueMs) {
      this.#queue.count++;
      this.#queue.ns += ns(q);
    }
    const n = queueMs.length;
    this.#input.count += n; this.#input.ns += ns(inputMs) * n;
    this.#infer.count += n; this.#infer.ns += ns(computeMs) * n;
    this.#output.count += n; this.#output.ns += ns(outputMs) * n;
    let b = this.#byBatch.get(size);
    if (!b) this.#byBatch.set(size, (b = { input: zero(), infer: zero(), output: zero() }));
    b.input.count++; b.input.ns += ns(inputMs);
    b.infer.count++; b.infer.ns += ns(computeMs);
    b.output.count++; b.output.ns += ns(outputMs);
  }

  get executionCount(): number {
    return this.#executionCount;
  }

  toJSON(): Record<string, unknown> {
    const copy = (d: Duration): Duration => ({ ...d });
    return {
      name: this.name,
      version: this.version,
      last_inference: this.#lastInference,
      inference_count: this.#inferenceCount,
      execution_count: this.#executionCount,
      inference_stats: {
        success: copy(this.#success),
        fail: copy(this.#fail),
        queue: copy(this.#queue),
        compute_input: copy(this.#input),
        compute_infer: copy(this.#infer),
        compute_output: copy(this.#output),
        cache_hit: zero(),
        cache_miss: zero(),
      },
      batch_stats: [...this.#byBatch.entries()].sort((a, b) => a[0] - b[0]).map(([size, d]) => ({
        batch_size: size,
        compute_input: copy(d.input),
        compute_infer: copy(d.infer),
        compute_output: copy(d.output),
      })),
    };
  }
}
