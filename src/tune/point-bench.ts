/**
 * One point of the sweep: the real server started in this process on 127.0.0.1 (any free port)
 * with the point's overrides, a closed loop of clients (on the load worker's thread) for the
 * warm-up, then for the measured window, the model's statistics read around the window (mean
 * batch), and the server closed again.
 */
import { startServer } from '../server/start.js';
import type { RunningServer } from '../server/start.js';
import type { ConfigOverrides } from '../repository/config.js';
import type { LoadProgress, LoadResult } from '../bench/load.js';
import type { RequestSpec } from '../bench/payload.js';
import { TargetError, buildRequests, probe } from '../bench/target.js';
import { FerryError } from '../errors.js';
import { NOISY_OTHER_CPU_PCT, otherCpu, waitQuiet } from '../measure/other-cpu.js';
import { LoadClient } from './load-client.js';
import type { TunePoint } from './grid.js';
import type { Measurement } from './search.js';

/** The settings a started server runs the model with. */
export interface ServedSettings {
  readonly instances: number;
  /** intra_op_threads when the config sets it; undefined = the engine's default. */
  readonly threads?: number;
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
}

export interface PointBenchOptions {
  /** The model folder or file the server is started on. */
  readonly servePath: string;
  readonly model: string;
  /** Clients, each with one request of one row in flight. */
  readonly concurrency: number;
  /** Measured window, s. */
  readonly durationS: number;
  /** Load before the window, not counted, s. */
  readonly warmupS: number;
  /** A request slower than this counts as an error, ms. */
  readonly timeoutMs: number;
  /** Dims of dynamic inputs after the batch axis. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  readonly seed: number;
  readonly onProgress?: (phase: 'warmup' | 'measure', p: LoadProgress) => void;
  /**
   * A point measured while other processes used more than NOISY_OTHER_CPU_PCT of a core is
   * measured again up to this many times, after waiting up to `quietWaitS` for the machine to
   * quieten; the quietest measurement is kept. @defaultValue 0
   */
  readonly noisyRetries?: number;
  /** @defaultValue 10 */
  readonly quietWaitS?: number;
  /** Told before each measurement again, with the other processes' share of a core. */
  readonly onNoisy?: (otherCpuPct: number) => void;
}

export interface PointResult {
  readonly measurement: Measurement;
  readonly served: ServedSettings;
}

/** The configuration a grid point asks of the server. */
export function overridesFor(p: TunePoint): ConfigOverrides {
  return {
    instances: p.instances,
    parameters: { intra_op_threads: p.threads },
    ...(p.maxBatchSize > 0 && { maxBatchSize: p.maxBatchSize, maxQueueDelayMs: p.maxQueueDelayMs }),
  };
}

function served(server: RunningServer, model: string): ServedSettings {
  const v = server.repository.get(model);
  const t = v.config.parameters.intra_op_threads;
  const threads = typeof t === 'object' && t !== null && 'string_value' in t ? Number((t as { string_value: unknown }).string_value) : t;
  return {
    instances: v.engine.instances,
    ...(typeof threads === 'number' && Number.isInteger(threads) && threads > 0 && { threads }),
    maxBatchSize: v.io.maxBatchSize,
    maxQueueDelayMs: v.config.batching.maxQueueDelayMs ?? 0,
  };
}

/** Rows run and model runs so far, over the model's loaded versions (Triton's statistics). */
function counts(server: RunningServer, model: string): { inferences: number; executions: number } {
  let inferences = 0;
  let executions = 0;
  for (const v of server.repository.versions(model)) {
    const s = v.stats.toJSON() as { inference_count: number; execution_count: number };
    inferences += s.inference_count;
    executions += s.execution_count;
  }
  return { inferences, executions };
}

function measurement(r: LoadResult, meanBatch: number | null, otherCpuPct: number | undefined): Measurement {
  return {
    inferencesPerS: r.inferencesPerS,
    requestsPerS: r.requestsPerS,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    ok: r.ok,
    errors: Object.values(r.errors).reduce((a, b) => a + b, 0),
    errorsByStatus: r.errors,
    meanBatch,
    otherCpuPct: otherCpuPct ?? null,
  };
}

export class PointBench {
  readonly options: PointBenchOptions;
  readonly #client = new LoadClient();
  #requests: RequestSpec[] | undefined;

  constructor(options: PointBenchOptions) {
    this.options = options;
  }

  /**
   * Measures the model served with `overrides` (undefined = as its config says), again while the
   * machine was busy with other work (`noisyRetries`). `check` sees the settings the server runs
   * with before any load is sent, and may throw.
   */
  async measure(overrides: ConfigOverrides | undefined, check?: (s: ServedSettings) => void): Promise<PointResult> {
    let kept: PointResult | undefined;
    for (let attempt = 0; ; attempt++) {
      const r = await this.#measureOnce(overrides, check);
      const other = r.measurement.otherCpuPct ?? 0;
      if (!kept || other < (kept.measurement.otherCpuPct ?? 0)) kept = r;
      if (other <= NOISY_OTHER_CPU_PCT || attempt >= (this.options.noisyRetries ?? 0)) return kept;
      this.options.onNoisy?.(other);
      await waitQuiet(NOISY_OTHER_CPU_PCT, this.options.quietWaitS ?? 10);
    }
  }

  async #measureOnce(overrides: ConfigOverrides | undefined, check?: (s: ServedSettings) => void): Promise<PointResult> {
    const o = this.options;
    const server = await startServer({ modelPath: o.servePath, port: 0, host: '127.0.0.1', logLevel: 'silent', ...(overrides && { overrides }) });
    try {
      const settings = served(server, o.model);
      check?.(settings);
      const requests = this.#requests ?? (this.#requests = await this.#build(server.url));
      const step = { kind: 'concurrency', concurrency: o.concurrency } as const;
      const common = { url: server.url, timeoutMs: o.timeoutMs, seed: o.seed };
      if (o.warmupS > 0) await this.#client.run(step, requests, { ...common, durationS: o.warmupS }, (p) => o.onProgress?.('warmup', p));
      const before = counts(server, o.model);
      const others = otherCpu();
      const result = await this.#client.run(step, requests, { ...common, durationS: o.durationS }, (p) => o.onProgress?.('measure', p));
      const otherPct = others.stop();
      const after = counts(server, o.model);
      const runs = after.executions - before.executions;
      return { measurement: measurement(result, runs > 0 ? (after.inferences - before.inferences) / runs : null, otherPct), served: settings };
    } finally {
      await server.close();
    }
  }

  /** The requests (one row each, seeded random tensors), built once from the model's metadata and checked by one probe. */
  async #build(url: string): Promise<RequestSpec[]> {
    const o = this.options;
    try {
      const requests = await buildRequests({ url, protocol: 'binary', model: o.model, batch: 1, shapes: o.shapes, seed: o.seed });
      await probe(url, requests[0]!, o.timeoutMs);
      return requests;
    } catch (err) {
      if (err instanceof TargetError) throw new FerryError('TUNE_FAILED', `model "${o.model}" cannot be loaded with requests: ${err.message}`, { cause: err });
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
