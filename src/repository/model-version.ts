/**
 * One loaded model version: its config, its engine, its batcher and its statistics. `infer` checks
 * a request against the model, queues it, and resolves with that request's slice of the batch.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Engine } from '../engines/engine.js';
import { EngineRunError } from '../engines/engine.js';
import type { ModelConfig } from './config.js';
import type { InputSource } from '../tensors/source.js';
import type { Tensor, TensorSpec } from '../tensors/tensor.js';
import { shapeMismatch } from '../tensors/tensor.js';
import { DynamicBatcher } from '../batching/dynamic-batcher.js';
import type { Entry, Job } from '../batching/dynamic-batcher.js';
import { BufferPool, assembleBatch, sliceOutputs } from '../batching/assemble.js';
import { FerryError } from '../errors.js';
import { ModelStats } from './stats.js';

export interface InferOptions {
  /** Output names to compute; undefined = all. */
  outputs?: readonly string[];
  priority?: number;
  timeoutMs?: number;
  /** Aborting drops the request if it has not started running. An AbortSignal, or anything with its `aborted` and `addEventListener('abort')`. */
  signal?: CancelSignal;
}

/**
 * What `infer` needs of an AbortSignal. AbortSignal fits; so does the server's lighter
 * per-request one (an AbortController per request survives into the old generation, since Node
 * tracks its signals weakly, and costs a scavenge's worth of copying).
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
}

export interface InferResult {
  readonly outputs: Readonly<Record<string, Tensor>>;
  readonly queueMs: number;
  readonly computeMs: number;
  readonly batchSize: number;
}

/** Hooks for Prometheus metrics; all optional. */
export interface ModelObserver {
  request?(model: string, outcome: string, ms: number): void;
  batch?(model: string, size: number, computeMs: number): void;
  queued?(model: string, ms: number): void;
}

interface InferJob extends Job {
  readonly sources: InputSource[];
  readonly outputs: readonly string[] | undefined;
  resolve(r: InferResult): void;
}

export interface ResolvedIo {
  readonly maxBatchSize: number;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** Merges the config's declared inputs/outputs with what the model file says, checking they agree. */
export function resolveIo(config: ModelConfig, engine: Engine): ResolvedIo {
  const file = config.source ?? `model "${config.name}"`;
  const fail = (msg: string): never => { throw new FerryError('CONFIG_INVALID', `${file}: ${msg}`); };
  const meta = engine.metadata;
  const batchable = meta.inputs.every((i) => i.dims.length > 0 && i.dims[0] === -1);
  const maxBatchSize = config.maxBatchSizeOverride !== undefined
    ? (batchable ? config.maxBatchSizeOverride : 0)
    : config.maxBatchSize ?? (batchable ? config.defaultMaxBatchSize ?? 32 : 0);
  if (maxBatchSize > 0 && !batchable) {
    const fixed = meta.inputs.find((i) => i.dims[0] !== -1)!;
    fail(`max_batch_size is ${maxBatchSize} but input "${fixed.name}" has a fixed first axis [${fixed.dims.join(',')}]; set max_batch_size: 0 or export with a dynamic batch axis`);
  }
  const merge = (kind: 'input' | 'output', model: readonly TensorSpec[], declared: ModelConfig['inputs']): TensorSpec[] => {
    for (const d of declared ?? []) {
      if (!model.some((m) => m.name === d.name)) fail(`${kind} "${d.name}" is not in the model, whose ${kind}s are ${model.map((m) => `"${m.name}"`).join(', ')}`);
    }
    return model.map((m) => {
      const dims = maxBatchSize > 0 ? m.dims.slice(1) : [...m.dims];
      const d = declared?.find((x) => x.name === m.name);
      if (!d) return { name: m.name, datatype: m.datatype, dims };
      if (d.datatype && d.datatype !== m.datatype) fail(`${kind} "${m.name}" is declared TYPE_${d.datatype} but the model has TYPE_${m.datatype}`);
      if (d.dims) {
        const ok = d.dims.length === dims.length && d.dims.every((x, i) => dims[i] === -1 || x === dims[i]);
        if (!ok) fail(`${kind} "${m.name}" is declared with dims [${d.dims.join(',')}] but the model has [${dims.join(',')}]${maxBatchSize > 0 ? ' (after the batch axis)' : ''}`);
        return { name: m.name, datatype: m.datatype, dims: d.dims };
      }
      return { name: m.name, datatype: m.datatype, dims };
    });
  };
  return { maxBatchSize, inputs: merge('input', meta.inputs, config.inputs), outputs: merge('output', meta.outputs, config.outputs) };
}

export class ModelVersion {
  readonly name: string;
  readonly version: string;
  readonly config: ModelConfig;
  readonly io: ResolvedIo;
  readonly engine: Engine;
  readonly stats: ModelStats;
  /** Labels of classifier outputs, by output name. */
  readonly labels: ReadonlyMap<string, readonly string[]>;
  readonly #batcher: DynamicBatcher<InferJob>;
  #queueFull: FerryError | undefined;
  readonly #pool = new BufferPool();
  readonly #observer: ModelObserver;
  readonly #batched: boolean;

  private constructor(config: ModelConfig, version: string, engine: Engine, io: ResolvedIo, labels: Map<string, string[]>, observer: ModelObserver) {
    this.name = config.name;
    this.version = version;
    this.config = config;
    this.engine = engine;
    this.io = io;
    this.labels = labels;
    this.stats = new ModelStats(config.name, version);
    this.#observer = observer;
    this.#batched = io.maxBatchSize > 0;
    this.#batcher = new DynamicBatcher<InferJob>({
      ...config.batching,
      maxQueueDelayMs: config.batching.maxQueueDelayMs ?? 0,
      maxBatchSize: io.maxBatchSize,
      instances: engine.instances,
    }, (entries, size, release) => this.#execute(entries, size, release));
  }

  /** Wraps a loaded engine; reads label files. Disposes the engine if the config does not fit it. */
  static async create(config: ModelConfig, version: string, engine: Engine, modelDir: string | undefined, observer: ModelObserver = {}): Promise<ModelVersion> {
    try {
      const io = resolveIo(config, engine);
      const labels = new Map<string, string[]>();
      for (const o of config.outputs ?? []) {
        if (!o.labelFile) continue;
        const file = join(modelDir ?? dirname(config.source ?? '.'), o.labelFile);
        try {
          labels.set(o.name, (await readFile(file, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== ''));
        } catch (err) {
          throw new FerryError('CONFIG_INVALID', `${config.source ?? config.name}: output "${o.name}" label_filename ${file} cannot be read`, { cause: err });
        }
      }
      if (config.image) {
        const input = config.image.input ?? io.inputs[0]?.name;
        if (!io.inputs.some((i) => i.name === input)) throw new FerryError('CONFIG_INVALID', `${config.source ?? config.name}: image.input "${input}" is not an input of the model`);
      }
      return new ModelVersion(config, version, engine, io, labels, observer);
    } catch (err) {
      await engine.dispose();
      throw err;
    }
  }

  get batched(): boolean {
    return this.#batched;
  }

  /** Requests waiting in this version's queue. */
  get queueDepth(): number {
    return this.#batcher.queued;
  }

  /** True when the queue holds max_queue_size requests, so a new one would be refused. */
  get full(): boolean {
    const { maxQueueSize } = this.config.batching;
    return maxQueueSize > 0 && this.#batcher.queued >= maxQueueSize;
  }

  /**
   * Counts a refused request (rejected) and returns the QUEUE_FULL error to answer it with. One
   * error object per version, made once without a stack trace: under overload there are many
   * thousands a second, and a stack trace each cost 7 % of the event loop.
   */
  reject(): FerryError {
    this.#observer.request?.(this.name, 'rejected', 0);
    this.stats.fail(0);
    return (this.#queueFull ??= stackless(() => new FerryError('QUEUE_FULL', `model "${this.name}": the queue is full (max_queue_size ${this.config.batching.maxQueueSize}): too busy, retry later`, { headers: { 'retry-after': '1' } })));
  }

  /**
   * Refuses a request before its body is read when the queue is already full (QUEUE_FULL, counted
   * as rejected): under overload, parsing bodies only to answer 503 would eat the CPU the model needs.
   */
  admit(): void {
    if (this.full) throw this.reject();
  }

  /** Batches running on this version's instances now. */
  get inFlight(): number {
    return this.#batcher.inFlight;
  }

  /** Checks request inputs against the model and orders them as the model's inputs. */
  validate(inputs: readonly InputSource[]): { sources: InputSource[]; rows: number; shapeKey: string } {
    const byName = new Map(inputs.map((s) => [s.name, s]));
    for (const s of inputs) {
      if (!this.io.inputs.some((i) => i.name === s.name)) {
        throw new FerryError('UNKNOWN_INPUT', `model "${this.name}" has no input "${s.name}"; its inputs are ${this.io.inputs.map((i) => `"${i.name}"`).join(', ')}`);
      }
    }
    let rows = 1;
    let shapeKey = '';
    const sources = this.io.inputs.map((spec, i) => {
      const s = byName.get(spec.name);
      if (!s) throw new FerryError('MISSING_INPUT', `model "${this.name}" needs input "${spec.name}" (${spec.datatype} [${this.#batched ? '-1,' : ''}${spec.dims.join(',')}])`);
      if (s.datatype !== spec.datatype) throw new FerryError('BAD_DATATYPE', `input "${spec.name}": datatype ${s.datatype}, but model "${this.name}" takes ${spec.datatype}`);
      const mismatch = shapeMismatch(spec, s.shape, this.#batched);
      if (mismatch) throw new FerryError('BAD_SHAPE', mismatch);
      if (this.#batched) {
        const b = s.shape[0]!;
        if (i === 0) rows = b;
        else if (b !== rows) throw new FerryError('BAD_SHAPE', `input "${spec.name}" has batch ${b} but input "${this.io.inputs[0]!.name}" has ${rows}`);
      }
      shapeKey += `${s.shape.slice(this.#batched ? 1 : 0).join(',')};`;
      return s;
    });
    if (this.#batched && (rows < 1 || rows > this.io.maxBatchSize)) {
      throw new FerryError(rows < 1 ? 'BAD_SHAPE' : 'BATCH_TOO_LARGE', `batch of ${rows}: model "${this.name}" takes 1 to ${this.io.maxBatchSize} (max_batch_size) per request`);
    }
    return { sources, rows, shapeKey };
  }

  /** Validates, queues and runs one request. Rejects with a FerryError. */
  infer(inputs: readonly InputSource[], opts: InferOptions = {}): Promise<InferResult> {
    const start = performance.now();
    const settle = (outcome: string): void => {
      const ms = performance.now() - start;
      this.#observer.request?.(this.name, outcome, ms);
      if (outcome === 'success') this.stats.success(ms);
      else if (outcome !== 'cancelled') this.stats.fail(ms);
    };
    let checked: ReturnType<ModelVersion['validate']>;
    try {
      checked = this.validate(inputs);
      for (const o of opts.outputs ?? []) {
        if (!this.io.outputs.some((x) => x.name === o)) {
          throw new FerryError('UNKNOWN_OUTPUT', `model "${this.name}" has no output "${o}"; its outputs are ${this.io.outputs.map((x) => `"${x.name}"`).join(', ')}`);
        }
      }
    } catch (err) {
      settle('fail');
      return Promise.reject(err);
    }
    const { sources, rows, shapeKey } = checked;
    return new Promise<InferResult>((resolve, reject) => {
      const job: InferJob = {
        size: this.#batched ? rows : 1,
        shapeKey,
        sources,
        outputs: opts.outputs,
        resolve: (r) => { settle('success'); resolve(r); },
        reject: (e) => { settle(e.code === 'CANCELLED' ? 'cancelled' : e.code === 'QUEUE_FULL' ? 'rejected' : 'fail'); reject(e); },
      };
      let entry: Entry<InferJob>;
      try {
        entry = this.#batcher.enqueue(job, { ...(opts.priority !== undefined && { priority: opts.priority }), ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }) });
      } catch (err) {
        job.reject(err as FerryError);
        return;
      }
      if (opts.signal) {
        const onAbort = (): void => { this.#batcher.cancel(entry); };
        if (opts.signal.aborted) onAbort();
        else opts.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  async #execute(entries: Entry<InferJob>[], size: number, release: () => void): Promise<void> {
    const assembleStart = performance.now();
    let feeds: Record<string, Tensor>;
    try {
      feeds = assembleBatch(this.io.inputs, entries.map((e) => e.job.sources), this.#batched, this.#pool);
    } catch (err) {
      for (const e of entries) e.job.reject(new FerryError('INFERENCE_FAILED', `could not assemble the batch: ${(err as Error).message}`, { cause: err }));
      return;
    }
    const inputMs = performance.now() - assembleStart;
    // Compute the union of what the batch's requests asked for (all outputs if any asked for all).
    let wanted: Set<string> | undefined = new Set<string>();
    for (const e of entries) {
      if (!e.job.outputs) { wanted = undefined; break; }
      for (const o of e.job.outputs) wanted.add(o);
    }
    let result;
    try {
      result = await this.engine.run(feeds, wanted && [...wanted]);
    } catch (err) {
      if (err instanceof EngineRunError) this.#pool.give(err.released);
      const fe = err instanceof FerryError ? err : new FerryError('INFERENCE_FAILED', `the engine failed: ${(err as Error).message}`, { cause: err });
      for (const e of entries) e.job.reject(fe);
      return;
    }
    this.#pool.give(result.released);
    // The instance is free: let the next batch start before these answers are written.
    release();
    const outputStart = performance.now();
    let row = 0;
    for (const e of entries) {
      try {
        let outputs = sliceOutputs(result.outputs, row, e.job.size, size, this.#batched);
        if (e.job.outputs) outputs = Object.fromEntries(e.job.outputs.map((n) => [n, outputs[n]!]));
        e.job.resolve({ outputs, queueMs: e.queueMs, computeMs: result.computeMs, batchSize: size });
      } catch (err) {
        e.job.reject(err as FerryError);
      }
      row += e.job.size;
      this.#observer.queued?.(this.name, e.queueMs);
    }
    const outputMs = performance.now() - outputStart;
    this.stats.batch(size, entries.map((e) => e.queueMs), inputMs, result.computeMs, outputMs);
    this.#observer.batch?.(this.name, size, result.computeMs);
  }

  /** Stops taking requests, lets queued and running ones finish, then frees the engine. */
  async unload(): Promise<void> {
    await this.#batcher.close();
    await this.engine.dispose();
  }
}

/** Makes an error without capturing a stack trace (for errors made once and answered many times). */
function stackless<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
