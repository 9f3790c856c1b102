/**
 * The grid `ferry tune` sweeps: instances x intra-op threads x max batch size x queue delay, with
 * the placements (instances x threads) that fit the machine's cores, and the defaults chosen from
 * the machine and the model.
 */

/** One server configuration of the sweep. */
export interface TunePoint {
  /** Sessions of the model (instance_group count). */
  readonly instances: number;
  /** Intra-op threads per session (parameters.intra_op_threads). */
  readonly threads: number;
  /** max_batch_size; 0 = the model takes no batch axis. */
  readonly maxBatchSize: number;
  /** dynamic_batching.max_queue_delay_ms. */
  readonly maxQueueDelayMs: number;
}

export interface GridSpec {
  readonly instances: readonly number[];
  readonly threads: readonly number[];
  readonly maxBatchSizes: readonly number[];
  readonly delaysMs: readonly number[];
}

/** A point of the grid; `sameAs` when another point of the grid runs exactly the same server. */
export interface GridPoint extends TunePoint {
  readonly sameAs?: TunePoint;
}

export interface Grid {
  readonly spec: GridSpec;
  readonly cores: number;
  /** Every point asked for that fits the cores, in sweep order. */
  readonly points: readonly GridPoint[];
  /** (instances, threads) pairs of the grid that fit the cores, in sweep order. */
  readonly placements: ReadonlyArray<readonly [number, number]>;
  /** Pairs asked for that need more threads than the machine has cores (not swept). */
  readonly leftOut: ReadonlyArray<readonly [number, number]>;
}

/** 1, 2, 4, ... up to `n`, and `n` itself. */
export function powersUpTo(n: number): number[] {
  const out: number[] = [];
  for (let p = 1; p < n; p *= 2) out.push(p);
  out.push(Math.max(1, n));
  return [...new Set(out)];
}

/** Ascending, without repeats. */
export function sortedUnique(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/**
 * Queue delays worth trying for a model whose full batch runs in `batchRunMs` in process: 0, and
 * 1/16, 1/8, 1/4 and 1/2 of that run (a freed instance waits a fraction of a batch's run time for
 * the batch to fill), to 2 significant digits. Node's timers are whole milliseconds, so a delay
 * under 1 ms is 1 ms; a model that runs a batch in under a millisecond gets 0 and 1.
 */
export function defaultDelays(batchRunMs: number | undefined): number[] {
  if (batchRunMs === undefined || !Number.isFinite(batchRunMs) || batchRunMs <= 0) return [0, 1, 5];
  const nice = (x: number): number => Math.max(1, Number(x.toPrecision(2)));
  return sortedUnique([0, ...[1 / 16, 1 / 8, 1 / 4, 1 / 2].map((f) => nice(batchRunMs * f))]);
}

/** `2 x 1 thread, max batch 8, delay 15 ms` */
export function describePoint(p: { instances: number; threads?: number | undefined; maxBatchSize: number; maxQueueDelayMs: number }): string {
  const place = `${p.instances} x ${p.threads ?? 'default'} thread${p.threads === 1 ? '' : 's'}`;
  return p.maxBatchSize > 0 ? `${place}, max batch ${p.maxBatchSize}, delay ${p.maxQueueDelayMs} ms` : `${place}, no batching`;
}

export function pointKey(p: TunePoint): string {
  return `${p.instances}x${p.threads}/b${p.maxBatchSize}/d${p.maxQueueDelayMs}`;
}

export function samePoint(a: TunePoint, b: TunePoint): boolean {
  return a.instances === b.instances && a.threads === b.threads && a.maxBatchSize === b.maxBatchSize && a.maxQueueDelayMs === b.maxQueueDelayMs;
}

/**
 * The grid: every (instances, threads) pair whose threads fit the cores (instances x threads <=
 * cores), every max batch size, every delay. A max batch of 0 or 1 never waits for a fuller batch,
 * so its points at delays other than the smallest are `sameAs` the one at the smallest.
 */
export function buildGrid(spec: GridSpec, cores: number): Grid {
  const norm: GridSpec = {
    instances: sortedUnique(spec.instances),
    threads: sortedUnique(spec.threads),
    maxBatchSizes: sortedUnique(spec.maxBatchSizes),
    delaysMs: sortedUnique(spec.delaysMs),
  };
  const placements: Array<[number, number]> = [];
  const leftOut: Array<[number, number]> = [];
  for (const i of norm.instances) {
    for (const t of norm.threads) (i * t <= cores ? placements : leftOut).push([i, t]);
  }
  const points: GridPoint[] = [];
  const firstDelay = norm.delaysMs[0] ?? 0;
  for (const [instances, threads] of placements) {
    for (const maxBatchSize of norm.maxBatchSizes) {
      for (const maxQueueDelayMs of norm.delaysMs) {
        const p = { instances, threads, maxBatchSize, maxQueueDelayMs };
        points.push(maxBatchSize <= 1 && maxQueueDelayMs !== firstDelay ? { ...p, sameAs: { ...p, maxQueueDelayMs: firstDelay } } : p);
      }
    }
  }
  return { spec: norm, cores, points, placements, leftOut };
}
