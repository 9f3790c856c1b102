/**
 * How `ferry tune` walks the grid. Exhaustive: every point. Staged (the default), coarse to fine,
 * dropping branches that fall behind (Triton Model Analyzer's quick search does the same kind of
 * pruning):
 *
 *   1. placement: each (instances, threads) pair at the largest max batch and the smallest delay
 *      (the most batching there is without ever waiting); pairs more than `tolerance` behind the
 *      best pair are dropped.
 *   2. batch: each kept pair at the smaller max batch sizes, largest first, until one falls more
 *      than `tolerance` behind that pair's best.
 *   3. delay: the `deepen` best (pair, max batch) of 1-2 at the longer delays, shortest first,
 *      until one falls more than `tolerance` behind.
 *
 * Every point of the grid gets exactly one row: measured, failed (the server did not start or the
 * load failed), or skipped with the reason.
 */
import type { Grid, TunePoint } from './grid.js';
import { describePoint, pointKey } from './grid.js';

export type Objective = 'throughput' | 'p99';
export const OBJECTIVES: readonly Objective[] = ['throughput', 'p99'];

export type Stage = 'baseline' | 'placement' | 'batch' | 'delay' | 'grid';

/** What a closed loop measured at one point. */
export interface Measurement {
  /** Inferences (rows) answered 2xx per second of the measured window. */
  readonly inferencesPerS: number;
  readonly requestsPerS: number;
  /** Latency of the 2xx answers, ms (NaN when none). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** 2xx answers in the window. */
  readonly ok: number;
  /** Other answers and failures in the window, and by HTTP status ("timeout", "network"). */
  readonly errors: number;
  readonly errorsByStatus: Readonly<Record<string, number>>;
  /** Mean rows per model run over the window (from the model's statistics); null when unknown. */
  readonly meanBatch: number | null;
  /** CPU other processes used during the window, % of one core (noise on a shared machine); null when unknown. */
  readonly otherCpuPct: number | null;
}

export interface SweepRow extends TunePoint {
  readonly status: 'measured' | 'failed' | 'skipped';
  /** The stage that measured it (measured and failed rows). */
  readonly stage?: Stage;
  /** Why it was skipped, or what failed. */
  readonly reason?: string;
  readonly result?: Measurement;
}

export type MeasureFn = (point: TunePoint, stage: Stage) => Promise<Measurement>;

export interface SearchOptions {
  readonly objective: Objective;
  /** Measure every point instead of pruning. @defaultValue false */
  readonly exhaustive?: boolean;
  /** How far behind (a fraction) a branch may fall before it is dropped. @defaultValue 0.1 */
  readonly tolerance?: number;
  /** (instances, threads, max batch) combinations whose longer delays are tried. @defaultValue 2 */
  readonly deepen?: number;
  /** Called with each row as it is measured. */
  readonly onRow?: (row: SweepRow, index: number) => void;
}

/**
 * How good `m` is next to `best`, as a fraction (1 = as good; above 1 = better): throughput over
 * the best throughput, or the best p99 over this p99. 0 when nothing was answered.
 */
export function quality(m: Measurement | undefined, best: Measurement | undefined, objective: Objective): number {
  if (!m || !best || m.ok === 0) return 0;
  if (best.ok === 0) return Infinity;
  const q = objective === 'throughput' ? m.inferencesPerS / best.inferencesPerS : best.p99Ms / m.p99Ms;
  return Number.isFinite(q) ? q : 0;
}

/** `a` is better than `b`: by the objective, then by the other figure. */
export function better(a: Measurement, b: Measurement, objective: Objective): boolean {
  const q = quality(a, b, objective);
  if (q !== 1) return q > 1;
  return objective === 'throughput' ? a.p99Ms < b.p99Ms : a.inferencesPerS > b.inferencesPerS;
}

/** A point that may be chosen: every answer in its window 2xx, and p99 within `maxP99Ms`. */
export function eligible(m: Measurement | undefined, maxP99Ms?: number): boolean {
  return !!m && m.ok > 0 && m.errors === 0 && (maxP99Ms === undefined || m.p99Ms <= maxP99Ms);
}

/** The best of `items` by the objective among the eligible ones. */
export function pickBest<T extends { result?: Measurement }>(items: readonly T[], objective: Objective, maxP99Ms?: number): T | undefined {
  let best: T | undefined;
  for (const it of items) {
    if (!eligible(it.result, maxP99Ms)) continue;
    if (!best || better(it.result!, best.result!, objective)) best = it;
  }
  return best;
}

function pct(q: number): string {
  return `${Math.round(q * 100)}%`;
}

/** Walks the grid; resolves with one row per grid point, in the grid's order. */
export async function search(grid: Grid, measure: MeasureFn, options: SearchOptions): Promise<SweepRow[]> {
  const objective = options.objective;
  const tolerance = options.tolerance ?? 0.1;
  const rows = new Map<string, SweepRow>();
  let count = 0;

  const run = async (point: TunePoint, stage: Stage): Promise<SweepRow> => {
    const key = pointKey(point);
    const known = rows.get(key);
    if (known) return known;
    let row: SweepRow;
    try {
      row = { ...point, status: 'measured', stage, result: await measure(point, stage) };
    } catch (err) {
      row = { ...point, status: 'failed', stage, reason: (err as Error).message };
    }
    rows.set(key, row);
    options.onRow?.(row, count++);
    return row;
  };
  const skip = (point: TunePoint, reason: string): void => {
    const key = pointKey(point);
    if (!rows.has(key)) rows.set(key, { ...point, status: 'skipped', reason });
  };
  /** The better of two rows (a failed or missing row loses). */
  const top = (a: SweepRow | undefined, b: SweepRow): SweepRow => (!a?.result || (b.result && better(b.result, a.result, objective)) ? b : a);

  const { maxBatchSizes: B, delaysMs: D } = grid.spec;
  const bMax = B[B.length - 1]!;
  const d0 = D[0]!;

  if (options.exhaustive) {
    for (const p of grid.points) if (!p.sameAs) await run(p, 'grid');
  } else {
    // 1. placement
    const placed: Array<{ pair: readonly [number, number]; row: SweepRow }> = [];
    for (const pair of grid.placements) {
      placed.push({ pair, row: await run({ instances: pair[0], threads: pair[1], maxBatchSize: bMax, maxQueueDelayMs: d0 }, 'placement') });
    }
    const bestPlaced = placed.reduce<SweepRow | undefined>((a, { row }) => top(a, row), undefined);
    const kept: Array<readonly [number, number]> = [];
    for (const { pair, row } of placed) {
      const q = quality(row.result, bestPlaced?.result, objective);
      if (row === bestPlaced || q >= 1 - tolerance) {
        kept.push(pair);
        continue;
      }
      const why = row.status === 'failed'
        ? `instances ${pair[0]} x threads ${pair[1]} failed at max batch ${bMax}, delay ${d0} ms`
        : `instances ${pair[0]} x threads ${pair[1]} reached ${pct(q)} of the best placement (${bestPlaced!.instances} x ${bestPlaced!.threads}) at max batch ${bMax}, delay ${d0} ms`;
      for (const p of grid.points) if (p.instances === pair[0] && p.threads === pair[1]) skip(p, why);
    }

    // 2. batch, largest first
    const combos: SweepRow[] = [];
    for (const [instances, threads] of kept) {
      let pairBest = rows.get(pointKey({ instances, threads, maxBatchSize: bMax, maxQueueDelayMs: d0 }))!;
      combos.push(pairBest);
      const smaller = B.slice(0, -1).reverse();
      for (let k = 0; k < smaller.length; k++) {
        const row = await run({ instances, threads, maxBatchSize: smaller[k]!, maxQueueDelayMs: d0 }, 'batch');
        combos.push(row);
        pairBest = top(pairBest, row);
        const q = quality(row.result, pairBest.result, objective);
        if (q < 1 - tolerance) {
          for (const b of smaller.slice(k + 1)) {
            for (const d of D) skip({ instances, threads, maxBatchSize: b, maxQueueDelayMs: d }, `smaller max batches fell behind: max batch ${smaller[k]} reached ${pct(q)} of max batch ${pairBest.maxBatchSize} (${instances} x ${threads}, delay ${d0} ms)`);
          }
          break;
        }
      }
    }

    // 3. delay, on the best combinations that can wait for a batch
    if (D.length > 1) {
      const overall = combos.reduce<SweepRow | undefined>((a, r) => top(a, r), undefined);
      const deepen = combos
        .filter((r) => r.maxBatchSize > 1 && r.result && quality(r.result, overall?.result, objective) >= 1 - tolerance)
        .sort((a, b) => (better(a.result!, b.result!, objective) ? -1 : 1))
        .slice(0, options.deepen ?? 2);
      for (const combo of deepen) {
        let comboBest = combo;
        const longer = D.slice(1);
        for (let k = 0; k < longer.length; k++) {
          const row = await run({ ...combo, maxQueueDelayMs: longer[k]! }, 'delay');
          comboBest = top(comboBest, row);
          const q = quality(row.result, comboBest.result, objective);
          if (q < 1 - tolerance) {
            for (const d of longer.slice(k + 1)) skip({ ...combo, maxQueueDelayMs: d }, `longer delays fell behind: delay ${longer[k]} ms reached ${pct(q)} of delay ${comboBest.maxQueueDelayMs} ms (${combo.instances} x ${combo.threads}, max batch ${combo.maxBatchSize})`);
            break;
          }
        }
      }
      const tried = deepen.map((r) => `${r.instances} x ${r.threads} at max batch ${r.maxBatchSize}`).join('; ');
      for (const p of grid.points) {
        if (!p.sameAs && p.maxQueueDelayMs !== d0) skip(p, tried ? `longer delays were tried on the best ${deepen.length === 1 ? 'combination' : `${deepen.length} combinations`} at delay ${d0} ms only (${tried})` : `no combination with a max batch above 1 was within ${pct(1 - tolerance)} of the best`);
      }
    }
  }
  for (const p of grid.points) {
    if (p.sameAs) skip(p, `same server as ${describePoint(p.sameAs)}: a max batch of ${p.maxBatchSize} never waits for a fuller batch`);
  }
  return grid.points.map((p) => {
    const row = rows.get(pointKey(p));
    if (!row) throw new Error(`internal: grid point ${pointKey(p)} got no row`);
    return row;
  });
}
