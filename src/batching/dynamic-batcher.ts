/**
 * The dynamic batcher: Triton's dynamic_batch_scheduler semantics on Node's event loop.
 *
 * Explicit state (one queue per priority level, the number of batches in flight, one delay timer)
 * and one decision function, `#decide`, which runs whenever something changes: a request arrives,
 * a batch finishes, the delay timer fires. It sends a batch when an instance is free and
 *  - the batch is full (max_batch_size, or the largest preferred size), or
 *  - the next request would overflow it or has another shape (shapes are never mixed), or
 *  - the oldest request in it has waited max_queue_delay_ms (0 = send whatever is queued),
 * and otherwise sets one timer for the moment the oldest request's delay runs out.
 * Requests whose timeout passes while queued, or whose client goes away, are dropped and never run.
 */
import { FerryError } from '../errors.js';
import { RingQueue } from './ring-queue.js';

export interface BatcherOptions {
  /** Largest sum of job sizes in one batch; 0 = the model does not batch: one job per run. @defaultValue 0 */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for a fuller batch, in ms. @defaultValue 0 */
  maxQueueDelayMs: number;
  /** Batch sizes to prefer (Triton's preferred_batch_size). @defaultValue [] */
  preferredBatchSizes: readonly number[];
  /** Requests held in the queue before new ones get QUEUE_FULL (503); 0 = unbounded. */
  maxQueueSize: number;
  /** Queue timeout for requests that set none, in ms; 0 = none. */
  defaultTimeoutMs: number;
  /** Number of priority levels; level 1 is served first. @defaultValue 1 */
  priorityLevels: number;
  /** Level of requests that name none. @defaultValue 1 */
  defaultPriorityLevel: number;
  /** Batches that may run at once (model instances). @defaultValue 1 */
  instances: number;
}

export interface Job {
  /** Samples this request adds to a batch (its batch axis); 1 when the model does not batch. */
  readonly size: number;
  /** Requests with different keys (shapes in dynamic dims) never share a batch. */
  readonly shapeKey: string;
  /** Called when the job leaves the queue without running (timeout, cancel, shutdown). */
  reject(err: FerryError): void;
}

export interface EnqueueOptions {
  priority?: number;
  timeoutMs?: number;
}

type State = 'queued' | 'running' | 'dead';

/** A queued job; also the ticket `cancel` takes. */
export interface Entry<J extends Job> {
  readonly job: J;
  readonly enqueuedAt: number;
  /** ms since enqueue the job waited, set when it is dispatched. */
  queueMs: number;
  state: State;
  timer: NodeJS.Timeout | undefined;
}

type Decision<J extends Job> = { send: Entry<J>[]; size: number } | { waitUntil: number } | undefined;

/**
 * Runs a batch and settles each entry's job. `release` frees the instance for the next batch; the
 * executor may call it as soon as the engine is done with the batch (before answering the jobs),
 * so that the next batch starts while the answers are written. It is called for it otherwise.
 */
export type Execute<J extends Job> = (entries: Entry<J>[], batchSize: number, release: () => void) => Promise<void>;

export class DynamicBatcher<J extends Job> {
  readonly options: Readonly<BatcherOptions>;
  #execute: Execute<J>;
  #levels: RingQueue<Entry<J>>[];
  #queued = 0;
  #inFlight = 0;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  #maxPreferred: number;
  #idleWaiters: (() => void)[] = [];

  constructor(options: BatcherOptions, execute: Execute<J>) {
    this.options = options;
    this.#execute = execute;
    this.#levels = Array.from({ length: Math.max(1, options.priorityLevels) }, () => new RingQueue<Entry<J>>());
    this.#maxPreferred = options.preferredBatchSizes.length ? Math.max(...options.preferredBatchSizes) : 0;
  }

  /** Requests waiting for an instance. */
  get queued(): number {
    return this.#queued;
  }

  /** Batches running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Queues a job; throws QUEUE_FULL, SHUTTING_DOWN or BAD_PARAMETER at once. */
  enqueue(job: J, opts: EnqueueOptions = {}): Entry<J> {
    if (this.#closed) throw new FerryError('SHUTTING_DOWN', 'the model is being unloaded or the server is shutting down');
    const { maxQueueSize, priorityLevels, defaultPriorityLevel, defaultTimeoutMs } = this.options;
    // Triton's rule: priority 0, or one past the model's levels, means the default level.
    let level = opts.priority ?? defaultPriorityLevel;
    if (!Number.isInteger(level) || level < 0) throw new FerryError('BAD_PARAMETER', `priority ${level} must be a non-negative integer`);
    if (level === 0 || level > priorityLevels) level = defaultPriorityLevel;
    if (maxQueueSize > 0 && this.#queued >= maxQueueSize) {
      throw new FerryError('QUEUE_FULL', `the queue is full (max_queue_size ${maxQueueSize}): too busy, retry later`, { headers: { 'retry-after': '1' } });
    }
    const entry: Entry<J> = { job, enqueuedAt: performance.now(), queueMs: 0, state: 'queued', timer: undefined };
    const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
    if (timeoutMs > 0) {
      entry.timer = setTimeout(() => this.#drop(entry, new FerryError('REQUEST_TIMEOUT', `the request waited ${timeoutMs} ms in the queue (its timeout) and was not run`)), timeoutMs);
    }
    this.#levels[level - 1]!.push(entry);
    this.#queued++;
    this.#schedule();
    return entry;
  }

  /** Drops a job that has not started (its client went away). Returns false if it already runs or ended. */
  cancel(entry: Entry<J>, reason = 'the client closed the connection before the request ran'): boolean {
    return this.#drop(entry, new FerryError('CANCELLED', reason));
  }

  /** Takes no new jobs; resolves when every queued job has run or been dropped and no batch is in flight. */
  close(): Promise<void> {
    this.#closed = true;
    return this.idle();
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.#queued === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #drop(entry: Entry<J>, err: FerryError): boolean {
    if (entry.state !== 'queued') return false;
    entry.state = 'dead';
    if (entry.timer) clearTimeout(entry.timer);
    this.#queued--;
    entry.job.reject(err);
    this.#schedule(); // the head may have changed, and idle waiters may be due
    return true;
  }

  #schedule(): void {
    while (this.#inFlight < this.options.instances && this.#queued > 0) {
      const now = performance.now();
      const decision = this.#decide(now);
      if (!decision) break;
      if ('waitUntil' in decision) {
        this.#armTimer(decision.waitUntil, now);
        return;
      }
      this.#dispatch(decision.send, decision.size, now);
    }
    this.#clearTimer();
    if (this.#queued === 0 && this.#inFlight === 0 && this.#idleWaiters.length) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  /** The decision function (Triton's GetDynamicBatch). */
  #decide(now: number): Decision<J> {
    const { maxBatchSize, maxQueueDelayMs } = this.options;
    const batch: Entry<J>[] = [];
    let size = 0;
    let shapeKey: string | undefined;
    let full = false;
    let oldest = Infinity;
    for (const queue of this.#levels) {
      while (queue.length && queue.at(0)!.state !== 'queued') queue.shift();
      for (let i = 0; i < queue.length; i++) {
        const e = queue.at(i)!;
        if (e.state !== 'queued') continue;
        if (shapeKey === undefined) shapeKey = e.job.shapeKey;
        else if (e.job.shapeKey !== shapeKey) { full = true; break; }
        if (maxBatchSize === 0 ? batch.length === 1 : size + e.job.size > maxBatchSize) { full = true; break; }
        batch.push(e);
        size += e.job.size;
        if (e.enqueuedAt < oldest) oldest = e.enqueuedAt;
        if (size === maxBatchSize || (this.#maxPreferred > 0 && size >= this.#maxPreferred)) { full = true; break; }
      }
      if (full) break;
    }
    if (batch.length === 0) return undefined;
    const expired = now - oldest >= maxQueueDelayMs;
    if (!full && !expired) return { waitUntil: oldest + maxQueueDelayMs };
    if (this.#maxPreferred > 0) return this.#preferredPrefix(batch, size);
    return { send: batch, size };
  }

  /** The longest prefix whose size is a preferred batch size (or the whole batch when none is). */
  #preferredPrefix(batch: Entry<J>[], size: number): { send: Entry<J>[]; size: number } {
    const preferred = this.options.preferredBatchSizes;
    let best = -1;
    let bestSize = 0;
    let sum = 0;
    for (let i = 0; i < batch.length; i++) {
      sum += batch[i]!.job.size;
      if (preferred.includes(sum)) { best = i; bestSize = sum; }
    }
    return best < 0 ? { send: batch, size } : { send: batch.slice(0, best + 1), size: bestSize };
  }

  #dispatch(entries: Entry<J>[], size: number, now: number): void {
    for (const e of entries) {
      e.state = 'running';
      e.queueMs = now - e.enqueuedAt;
      if (e.timer) clearTimeout(e.timer);
    }
    this.#queued -= entries.length;
    this.#inFlight++;
    let released = false;
    const done = (): void => {
      if (released) return;
      released = true;
      this.#inFlight--;
      this.#schedule();
    };
    // The executor settles each job itself; a throw here is a bug in it, never an unhandled rejection.
    this.#execute(entries, size, done).then(done, (err: unknown) => {
      for (const e of entries) e.job.reject(new FerryError('INFERENCE_FAILED', `batch failed: ${(err as Error).message}`, { cause: err }));
      done();
    });
  }

  #armTimer(at: number, now: number): void {
    if (this.#timer && this.#timerAt === at) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#schedule();
    }, Math.max(0, at - now));
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
