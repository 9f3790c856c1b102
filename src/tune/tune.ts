/**
 * `ferry tune`, like Triton's Model Analyzer: measures the model as configured, the in-process
 * ceiling (one ONNX Runtime session back to back at each batch size), then sweeps instances x
 * intra-op threads x max batch size x queue delay under a closed loop of clients, each point a
 * real server started in this process, and picks the best point by the objective.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { benchEngine } from '../measure/engine-bench.js';
import { FerryError } from '../errors.js';
import { fmt } from '../report/table.js';
import { otherCpu } from '../measure/other-cpu.js';
import type { Grid, TunePoint } from './grid.js';
import { buildGrid, defaultDelays, describePoint, powersUpTo, sortedUnique } from './grid.js';
import type { Measurement, Objective, Stage, SweepRow } from './search.js';
import { pickBest, search } from './search.js';
import type { ServedSettings } from './point-bench.js';
import { PointBench, overridesFor } from './point-bench.js';
import type { TuneTarget } from './target.js';
import { resolveTarget } from './target.js';
import { TUNE_DEFAULTS } from './defaults.js';
import type { TunedValues } from './config-file.js';
import { tunedConfigText } from './config-file.js';

export interface TuneOptions {
  /** An .onnx file, a model folder, or a repository folder (then `model` names the model). */
  readonly modelPath: string;
  readonly model?: string;
  /** Clients of the closed loop, each with one request of one row in flight. @defaultValue 16 */
  readonly concurrency?: number;
  /** Measured seconds per point (and per batch size of the ceiling). @defaultValue 5 */
  readonly durationS?: number;
  /** Seconds of load before each point's window. @defaultValue 2 */
  readonly warmupS?: number;
  /** Instance counts. @defaultValue 1, 2, 4, ... up to the cores */
  readonly instances?: readonly number[];
  /** Intra-op threads per instance. @defaultValue 1, 2, 4, ... up to the cores */
  readonly threads?: readonly number[];
  /** @defaultValue 1, 2, 4, ... up to `concurrency` (0 alone for a model without a batch axis) */
  readonly maxBatchSizes?: readonly number[];
  /** @defaultValue 0 and 1/16, 1/8, 1/4, 1/2 of the in-process run time at the best batch */
  readonly delaysMs?: readonly number[];
  /** @defaultValue 'throughput' */
  readonly objective?: Objective;
  /** Points whose p99 exceeds this (ms) are not chosen. @defaultValue no limit */
  readonly maxP99Ms?: number;
  /** Measure every point rather than prune. @defaultValue false */
  readonly exhaustive?: boolean;
  /** Dims of dynamic inputs after the batch axis. */
  readonly shapes?: ReadonlyMap<string, readonly number[]>;
  /** @defaultValue 1 */
  readonly seed?: number;
  /** A request slower than this counts as an error, ms. @defaultValue 30000 */
  readonly timeoutMs?: number;
  /**
   * A point measured while other processes used more than 25 % of a core is measured again, up to
   * this many times (after waiting up to 10 s for the machine to quieten), and its quietest
   * measurement kept. @defaultValue 2
   */
  readonly noisyRetries?: number;
  /** Longest wait for a quiet machine before measuring a noisy point again, s. @defaultValue 10 */
  readonly quietWaitS?: number;
  /** Measure the in-process ceiling. @defaultValue true */
  readonly ceiling?: boolean;
  /** Cores the placements must fit. @defaultValue os.availableParallelism() */
  readonly cores?: number;
  /** The progress line (what runs now). */
  readonly onProgress?: (text: string) => void;
  /** Each point as it is measured: one finished line. */
  readonly onPoint?: (text: string) => void;
}

export interface Ceiling {
  /** The batch size with the most inferences per second, and that rate. */
  readonly batch: number;
  readonly inferencesPerS: number;
  /** One run at that batch, median ms. */
  readonly runMs: number;
  readonly intraOpThreads: number;
  /** CPU other processes used meanwhile, % of one core; null when unknown. */
  readonly otherCpuPct: number | null;
  readonly results: ReadonlyArray<{ batch: number; inferencesPerS: number; p50Ms: number; p99Ms: number }>;
}

export interface Baseline {
  /** What the server runs the model with when nothing is overridden. */
  readonly served: ServedSettings;
  readonly result: Measurement;
}

export interface TuneBest {
  /** 'baseline': the model as configured did best. */
  readonly from: 'grid' | 'baseline';
  readonly values: TunedValues;
  readonly result: Measurement;
}

export interface TuneReport {
  readonly target: TuneTarget;
  readonly cpu: string;
  readonly cores: number;
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly startedAt: string;
  readonly elapsedS: number;
  readonly concurrency: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly objective: Objective;
  readonly maxP99Ms?: number;
  readonly exhaustive: boolean;
  /** How many times a noisy point could be measured again. */
  readonly noisyRetries: number;
  readonly grid: Grid;
  readonly ceiling?: Ceiling;
  /** Why there is no ceiling. */
  readonly ceilingNote?: string;
  readonly baseline: Baseline;
  /** One per grid point, in grid order. */
  readonly rows: readonly SweepRow[];
  readonly best?: TuneBest;
  /** The model's config with the best values set; undefined when nothing was eligible. */
  readonly config?: string;
}

function resultText(m: Measurement): string {
  const errors = m.errors ? `, ${m.errors} errors (${Object.entries(m.errorsByStatus).map(([k, v]) => `${k}: ${v}`).join(', ')})` : '';
  return `${fmt(m.inferencesPerS)} infer/s, p50 ${fmt(m.p50Ms, 2)} ms, p99 ${fmt(m.p99Ms, 2)} ms${m.meanBatch !== null ? `, mean batch ${fmt(m.meanBatch, 2)}` : ''}${errors}${m.otherCpuPct !== null ? `, other processes ${fmt(m.otherCpuPct, 0)}% of a core` : ''}`;
}

function positiveList(values: readonly number[] | undefined, what: string, min: number): number[] | undefined {
  if (values === undefined) return undefined;
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < min)) throw new FerryError('BAD_FLAG', `${what} must be a list of numbers >= ${min} (got ${values.join(',') || 'none'})`);
  return sortedUnique(values);
}

export async function tuneModel(options: TuneOptions): Promise<TuneReport> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const loadStart = loadavg();
  const cores = options.cores ?? availableParallelism();
  const concurrency = options.concurrency ?? TUNE_DEFAULTS.concurrency;
  const durationS = options.durationS ?? TUNE_DEFAULTS.durationS;
  const warmupS = options.warmupS ?? TUNE_DEFAULTS.warmupS;
  const objective = options.objective ?? TUNE_DEFAULTS.objective;
  const seed = options.seed ?? 1;
  const shapes = options.shapes ?? new Map<string, readonly number[]>();
  const progress = options.onProgress ?? (() => undefined);
  const instances = positiveList(options.instances, '--instances', 1) ?? powersUpTo(cores);
  const threads = positiveList(options.threads, '--threads', 1) ?? powersUpTo(cores);
  const givenBatches = positiveList(options.maxBatchSizes, '--max-batch-sizes', 1);
  const givenDelays = positiveList(options.delaysMs, '--delays-ms', 0);
  if (!instances.some((i) => threads.some((t) => i * t <= cores))) {
    throw new FerryError('BAD_FLAG', `no pair of --instances ${instances.join(',')} and --threads ${threads.join(',')} fits the ${cores} cores (instances x threads <= ${cores}): give smaller counts`);
  }

  const target = await resolveTarget(options.modelPath, options.model);
  let label = 'as configured';
  const bench = new PointBench({
    servePath: target.servePath, model: target.name, concurrency, durationS, warmupS, seed, shapes,
    timeoutMs: options.timeoutMs ?? TUNE_DEFAULTS.timeoutMs,
    onProgress: (phase, p) => progress(`${label}: ${phase} ${p.elapsedS.toFixed(0)}/${p.totalS.toFixed(0)} s, ${p.recentRate.toFixed(0)} req/s`),
    noisyRetries: options.noisyRetries ?? 2,
    ...(options.quietWaitS !== undefined && { quietWaitS: options.quietWaitS }),
    onNoisy: (other) => options.onPoint?.(`  other processes used ${fmt(other, 0)}% of a core meanwhile: measuring ${label} again`),
  });
  try {
    // 1. the model as configured: the reference, and what the server makes of the model
    const base = await bench.measure(undefined, (s) => {
      if (s.maxBatchSize === 0 && (givenBatches || givenDelays)) {
        throw new FerryError('BAD_FLAG', `model "${target.name}" takes no batch axis (max_batch_size 0): drop --max-batch-sizes and --delays-ms`);
      }
    });
    const baseline: Baseline = { served: base.served, result: base.measurement };
    options.onPoint?.(`as configured (${describePoint(base.served)}): ${resultText(base.measurement)}`);
    const batched = base.served.maxBatchSize > 0;
    const maxBatchSizes = batched ? givenBatches ?? powersUpTo(concurrency) : [0];

    // 2. the in-process ceiling
    label = 'in-process ceiling';
    const { ceiling, ceilingNote } = options.ceiling === false
      ? { ceiling: undefined, ceilingNote: 'not measured (ceiling off)' }
      : await measureCeiling(target, batched ? maxBatchSizes : [1], { durationS, warmupS, shapes, seed, progress });
    if (ceiling) options.onPoint?.(`in-process ceiling: ${fmt(ceiling.inferencesPerS)} infer/s at batch ${ceiling.batch} (${ceiling.intraOpThreads} intra-op threads, ${fmt(ceiling.runMs, 2)} ms a run)`);

    // 3. the sweep
    const delaysMs = batched ? givenDelays ?? defaultDelays(ceiling?.runMs) : [0];
    const grid = buildGrid({ instances, threads, maxBatchSizes, delaysMs }, cores);
    let n = 0;
    const rows = await search(grid, async (p: TunePoint, stage: Stage) => {
      label = `point ${++n} (${stage}) ${describePoint(p)}`;
      progress(label);
      return (await bench.measure(overridesFor(p))).measurement;
    }, {
      objective,
      exhaustive: options.exhaustive ?? false,
      onRow: (row) => options.onPoint?.(`${describePoint(row)} (${row.stage}): ${row.result ? resultText(row.result) : `failed: ${row.reason}`}`),
    });

    // 4. the best, and its config
    const best = chooseBest(baseline, rows, objective, options.maxP99Ms);
    const report: Omit<TuneReport, 'config'> = {
      target, cpu: cpus()[0]?.model.trim() ?? 'unknown', cores, loadAverage: { start: loadStart, end: loadavg() }, startedAt,
      elapsedS: (performance.now() - t0) / 1000, concurrency, durationS, warmupS, objective,
      ...(options.maxP99Ms !== undefined && { maxP99Ms: options.maxP99Ms }),
      exhaustive: options.exhaustive ?? false, noisyRetries: options.noisyRetries ?? 2, grid, ...(ceiling && { ceiling }), ...(ceilingNote && { ceilingNote }), baseline, rows, ...(best && { best }),
    };
    return { ...report, ...(best && { config: tunedConfigText(target.config, target.name, best.values, configHeader(report, best)) }) };
  } finally {
    await bench.close();
  }
}

/** The in-process ceiling: one session (intra-op threads = cores) at each batch size; a note instead when it cannot run. */
async function measureCeiling(target: TuneTarget, batchSizes: readonly number[], o: {
  durationS: number; warmupS: number; shapes: ReadonlyMap<string, readonly number[]>; seed: number; progress: (text: string) => void;
}): Promise<{ ceiling?: Ceiling; ceilingNote?: string }> {
  if (!target.onnxFile) return { ceilingNote: `not measured: ${target.servePath} has no .onnx file to run in process` };
  try {
    const others = otherCpu();
    const report = await benchEngine({
      modelPath: target.onnxFile, batchSizes, durationS: o.durationS, warmupS: Math.min(1, o.warmupS), shapes: o.shapes, seed: o.seed,
      onProgress: (batch, s, runs) => o.progress(`in-process ceiling: batch ${batch}, ${s.toFixed(0)}/${o.durationS} s, ${runs} runs`),
    });
    return {
      ceiling: {
        batch: report.best.batch, inferencesPerS: report.best.inferencesPerS, runMs: report.best.latency.p50, intraOpThreads: report.intraOpThreads,
        otherCpuPct: others.stop() ?? null,
        results: report.results.map((r) => ({ batch: r.batch, inferencesPerS: r.inferencesPerS, p50Ms: r.latency.p50, p99Ms: r.latency.p99 })),
      },
    };
  } catch (err) {
    return { ceilingNote: `not measured: ${(err as Error).message}` };
  }
}

/** The best eligible point, the model as configured included (it wins ties: nothing to change). */
function chooseBest(baseline: Baseline, rows: readonly SweepRow[], objective: Objective, maxP99Ms: number | undefined): TuneBest | undefined {
  const s = baseline.served;
  const candidates: TuneBest[] = [
    { from: 'baseline', values: { instances: s.instances, ...(s.threads !== undefined && { threads: s.threads }), maxBatchSize: s.maxBatchSize, maxQueueDelayMs: s.maxQueueDelayMs }, result: baseline.result },
    ...rows.flatMap((r) => (r.result ? [{ from: 'grid' as const, values: { instances: r.instances, threads: r.threads, maxBatchSize: r.maxBatchSize, maxQueueDelayMs: r.maxQueueDelayMs }, result: r.result }] : [])),
  ];
  return pickBest(candidates, objective, maxP99Ms);
}

/** The `# ferry tune ...` comment of the config written. */
function configHeader(r: Omit<TuneReport, 'config'>, best: TuneBest): string[] {
  const m = best.result;
  const ratio = r.ceiling ? `, ${(m.inferencesPerS / r.ceiling.inferencesPerS).toFixed(2)} of the in-process ceiling` : '';
  const before = r.baseline.result;
  return [
    `ferry tune, ${r.startedAt.slice(0, 10)}, ${r.cpu} (${r.cores} cores), ${r.concurrency} clients, ${r.durationS} s a point, best ${r.objective}${r.maxP99Ms !== undefined ? ` with p99 <= ${r.maxP99Ms} ms` : ''}:`,
    `${best.from === 'baseline' ? 'as configured' : describePoint(best.values)}: ${m.inferencesPerS.toFixed(1)} infer/s, p99 ${m.p99Ms.toFixed(1)} ms${ratio}`,
    ...(best.from === 'grid' ? [`(as configured before: ${before.inferencesPerS.toFixed(1)} infer/s, p99 ${before.p99Ms.toFixed(1)} ms)`] : []),
  ];
}
