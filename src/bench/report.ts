/**
 * Human-readable output of `ferry bench`: result tables (right-aligned numbers) and the progress
 * line on stderr (rewritten in place on a terminal, an occasional plain line otherwise).
 */
import type { LoadResult, LoadProgress, LoadStep } from './load.js';
import type { EngineBenchReport } from '../measure/engine-bench.js';
import { summaryJson } from '../measure/latency.js';
import { fmt, table } from '../report/table.js';

export function stepLabel(step: LoadStep): string {
  return step.kind === 'concurrency' ? `c=${step.concurrency}` : `${step.rate}/s ${step.arrivals}`;
}

function errorCell(r: LoadResult): string {
  const other = Object.entries(r.errors).filter(([k]) => k !== '503');
  return other.length ? other.map(([k, v]) => `${k}:${v}`).join(' ') : '0';
}

export function loadTable(results: readonly LoadResult[]): string {
  const openLoop = results.some((r) => r.step.kind === 'rate');
  const headers = ['load', 'ok', 'req/s', 'infer/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', '503', 'other errors', ...(openLoop ? ['dropped'] : []), 'client cpu'];
  const rows = results.map((r) => [
    stepLabel(r.step), String(r.ok), fmt(r.requestsPerS), fmt(r.inferencesPerS), fmt(r.latency.p50, 2), fmt(r.latency.p90, 2),
    fmt(r.latency.p99, 2), fmt(r.latency.max, 2), String(r.rejected), errorCell(r), ...(openLoop ? [String(r.dropped)] : []), `${fmt(r.clientCpuPct, 0)}%`,
  ]);
  let text = table(headers, rows);
  const rejecting = results.filter((r) => r.rejected > 0);
  if (rejecting.length) {
    text += `\n503 latency: ${rejecting.map((r) => `${stepLabel(r.step)} p50 ${fmt(r.rejectLatency.p50, 2)} ms, p99 ${fmt(r.rejectLatency.p99, 2)} ms`).join('; ')}\n`;
  }
  return text;
}

export function engineTable(report: EngineBenchReport): string {
  const rows = report.results.map((r) => [
    String(r.batch), String(r.runs), fmt(r.runsPerS), fmt(r.inferencesPerS), fmt(r.latency.p50, 2), fmt(r.latency.p99, 2),
  ]);
  return table(['batch', 'runs', 'runs/s', 'infer/s', 'p50 ms', 'p99 ms'], rows)
    + `\nbest: batch ${report.best.batch}, ${fmt(report.best.inferencesPerS)} inferences/s (intra-op threads ${report.intraOpThreads}${report.instances ? `, ${report.instances} instance${report.instances === 1 ? '' : 's'}` : ''})\n`;
}

/** A load step's result for `--json`: latencies rounded to µs, NaN as null. */
export function loadResultJson(r: LoadResult): Record<string, unknown> {
  return {
    load: r.step.kind === 'concurrency' ? { concurrency: r.step.concurrency } : { rate: r.step.rate, arrivals: r.step.arrivals },
    durationS: r.durationS,
    sent: r.sent,
    ok: r.ok,
    inferences: r.inferences,
    requestsPerS: round(r.requestsPerS, 2),
    inferencesPerS: round(r.inferencesPerS, 2),
    latencyMs: summaryJson(r.latency),
    errors: r.errors,
    rejected: r.rejected,
    rejectLatencyMs: summaryJson(r.rejectLatency),
    ...(r.step.kind === 'rate' && { dropped: r.dropped }),
    clientCpuPct: round(r.clientCpuPct, 1),
  };
}

export function engineReportJson(report: EngineBenchReport): Record<string, unknown> {
  const one = (r: EngineBenchReport['best']) => ({
    batch: r.batch, runs: r.runs, durationS: round(r.durationS, 3), runsPerS: round(r.runsPerS, 2), inferencesPerS: round(r.inferencesPerS, 2), latencyMs: summaryJson(r.latency),
  });
  return { model: report.model, intraOpThreads: report.intraOpThreads, ...(report.instances && { instances: report.instances }), results: report.results.map(one), best: one(report.best), cpuPct: round(report.cpuPct, 1) };
}

function round(n: number, digits: number): number | null {
  if (!Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The load generator's progress line. */
export function loadProgressText(p: LoadProgress): string {
  return `${stepLabel(p.step)}  ${p.phase} ${p.elapsedS.toFixed(0)}/${p.totalS.toFixed(0)} s  ${p.ok} ok  ${p.errors} errors  ${p.recentRate.toFixed(0)} req/s`;
}
