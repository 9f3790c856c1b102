/** `ferry tune`'s output: the table behind the choice, its summary, and the same as JSON. */
import type { Measurement, SweepRow } from './search.js';
import type { TuneReport } from './tune.js';
import { describePoint } from './grid.js';
import { fmt, table } from '../report/table.js';
import { roundMs } from '../measure/latency.js';
import { NOISY_OTHER_CPU_PCT } from '../measure/other-cpu.js';

function round(n: number | null | undefined, digits: number): number | null {
  if (n === null || n === undefined || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function ratio(m: Measurement | undefined, r: TuneReport): string {
  return m && r.ceiling ? fmt(m.inferencesPerS / r.ceiling.inferencesPerS, 2) : '-';
}

function figures(m: Measurement | undefined, r: TuneReport): string[] {
  if (!m) return ['-', '-', '-', '-', '-', '-', '-'];
  return [fmt(m.inferencesPerS), fmt(m.p50Ms, 2), fmt(m.p99Ms, 2), m.meanBatch === null ? '-' : fmt(m.meanBatch, 2), String(m.errors), ratio(m, r), pct(m.otherCpuPct)];
}

function pct(x: number | null): string {
  return x === null ? '-' : `${fmt(x, 0)}%`;
}

function isBest(row: SweepRow, r: TuneReport): boolean {
  const b = r.best;
  return !!b && b.from === 'grid' && row.result === b.result;
}

/** The table (every grid point: measured, failed, or skipped with a note) and the summary under it. */
export function tuneText(r: TuneReport): string {
  const notes = new Map<string, string>();
  const note = (reason: string): string => {
    if (!notes.has(reason)) notes.set(reason, `(${String.fromCharCode(97 + (notes.size % 26))}${notes.size >= 26 ? Math.floor(notes.size / 26) : ''})`);
    return notes.get(reason)!;
  };
  const b = r.baseline;
  const rows = [
    ['', 'as configured', String(b.served.instances), b.served.threads === undefined ? 'default' : String(b.served.threads), String(b.served.maxBatchSize),
      b.served.maxBatchSize > 0 ? String(b.served.maxQueueDelayMs) : '-', ...figures(b.result, r), r.best?.from === 'baseline' ? 'best' : ''],
    ...r.rows.map((row) => [
      isBest(row, r) ? '*' : '', row.status === 'skipped' ? `skipped ${note(row.reason!)}` : row.status === 'failed' ? `failed ${note(row.reason!)}` : row.stage!,
      String(row.instances), String(row.threads), String(row.maxBatchSize), row.maxBatchSize > 0 ? String(row.maxQueueDelayMs) : '-',
      ...figures(row.result, r), isBest(row, r) ? 'best' : '',
    ]),
  ];
  let text = table(['', 'stage', 'instances', 'threads', 'max batch', 'delay ms', 'infer/s', 'p50 ms', 'p99 ms', 'mean batch', 'errors', '/ ceiling', 'other cpu', ''], rows);
  if (notes.size) text += `\n${[...notes].map(([reason, mark]) => `${mark} ${reason}`).join('\n')}\n`;
  text += '\n';
  if (r.ceiling) {
    text += `in-process ceiling: ${fmt(r.ceiling.inferencesPerS)} infer/s at batch ${r.ceiling.batch} (one session, ${r.ceiling.intraOpThreads} intra-op threads; ${r.ceiling.results.map((c) => `batch ${c.batch}: ${fmt(c.inferencesPerS)}`).join(', ')}; other cpu ${pct(r.ceiling.otherCpuPct)})\n`;
  } else text += `in-process ceiling ${r.ceilingNote}\n`;
  if (r.grid.leftOut.length) text += `left out (instances x threads > ${r.cores} cores): ${r.grid.leftOut.map(([i, t]) => `${i} x ${t}`).join(', ')}\n`;
  const noisy = [b.result, ...r.rows.map((x) => x.result)].filter((m) => m?.otherCpuPct != null && m.otherCpuPct > NOISY_OTHER_CPU_PCT).length;
  if (noisy) text += `${noisy} point${noisy === 1 ? ' was' : 's were'} measured while other processes used more than ${NOISY_OTHER_CPU_PCT}% of a core (other cpu), even measured again: noisy figures; tune again on a quieter machine\n`;
  const measured = r.rows.filter((x) => x.status !== 'skipped').length;
  text += `${measured} of ${r.rows.length} grid points measured${r.exhaustive ? '' : ' (coarse to fine; --exhaustive measures all)'}, ${r.concurrency} clients, ${r.durationS} s each after ${r.warmupS} s warm-up, ${fmt(r.elapsedS, 0)} s in all\n`;
  text += `machine: ${r.cpu}, ${r.cores} cores; load average ${r.loadAverage.start.map((x) => x.toFixed(2)).join(' ')} at the start, ${r.loadAverage.end.map((x) => x.toFixed(2)).join(' ')} at the end\n`;
  if (r.best) {
    const m = r.best.result;
    const gain = r.best.from === 'grid' ? `; as configured: ${fmt(b.result.inferencesPerS)} infer/s, p99 ${fmt(b.result.p99Ms, 1)} ms` : '';
    text += `\nbest ${r.objective}${r.maxP99Ms !== undefined ? ` with p99 <= ${r.maxP99Ms} ms` : ''}: ${r.best.from === 'baseline' ? `as configured (${describePoint(r.best.values)})` : describePoint(r.best.values)}: ${fmt(m.inferencesPerS)} infer/s, p99 ${fmt(m.p99Ms, 1)} ms${r.ceiling ? `, ${ratio(m, r)} of the ceiling` : ''}${gain}\n`;
  }
  return text;
}

function measurementJson(m: Measurement | undefined, r: TuneReport): Record<string, unknown> {
  if (!m) return {};
  return {
    inferencesPerS: round(m.inferencesPerS, 2), requestsPerS: round(m.requestsPerS, 2), p50Ms: roundMs(m.p50Ms), p99Ms: roundMs(m.p99Ms),
    meanBatch: round(m.meanBatch, 3), ok: m.ok, errors: m.errors, errorsByStatus: m.errorsByStatus,
    ceilingRatio: r.ceiling ? round(m.inferencesPerS / r.ceiling.inferencesPerS, 4) : null,
    otherCpuPct: round(m.otherCpuPct, 1),
  };
}

/** Everything in the table, as `--json` prints it. */
export function tuneJson(r: TuneReport, written: string | null): Record<string, unknown> {
  return {
    model: r.target.name,
    path: r.target.servePath,
    machine: { cpu: r.cpu, cores: r.cores, loadAverageStart: r.loadAverage.start, loadAverageEnd: r.loadAverage.end },
    startedAt: r.startedAt,
    elapsedS: round(r.elapsedS, 1),
    load: { concurrency: r.concurrency, durationS: r.durationS, warmupS: r.warmupS, protocol: 'binary', rowsPerRequest: 1 },
    objective: r.objective,
    maxP99Ms: r.maxP99Ms ?? null,
    exhaustive: r.exhaustive,
    noisyRetries: r.noisyRetries,
    grid: {
      instances: r.grid.spec.instances, threads: r.grid.spec.threads, maxBatchSizes: r.grid.spec.maxBatchSizes, delaysMs: r.grid.spec.delaysMs,
      leftOut: r.grid.leftOut.map(([instances, threads]) => ({ instances, threads })),
    },
    ceiling: r.ceiling
      ? { batch: r.ceiling.batch, inferencesPerS: round(r.ceiling.inferencesPerS, 2), runMs: roundMs(r.ceiling.runMs), intraOpThreads: r.ceiling.intraOpThreads, otherCpuPct: round(r.ceiling.otherCpuPct, 1),
        results: r.ceiling.results.map((c) => ({ batch: c.batch, inferencesPerS: round(c.inferencesPerS, 2), p50Ms: roundMs(c.p50Ms), p99Ms: roundMs(c.p99Ms) })) }
      : null,
    ...(r.ceilingNote && { ceilingNote: r.ceilingNote }),
    baseline: { ...r.baseline.served, threads: r.baseline.served.threads ?? null, ...measurementJson(r.baseline.result, r) },
    rows: r.rows.map((row) => ({
      instances: row.instances, threads: row.threads, maxBatchSize: row.maxBatchSize, maxQueueDelayMs: row.maxQueueDelayMs,
      status: row.status, stage: row.stage ?? null, reason: row.reason ?? null, ...measurementJson(row.result, r),
    })),
    best: r.best ? { from: r.best.from, ...r.best.values, threads: r.best.values.threads ?? null, ...measurementJson(r.best.result, r) } : null,
    config: r.config ?? null,
    written,
  };
}
