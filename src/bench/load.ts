/**
 * The load generator, in the spirit of Triton's perf_analyzer: one step at a time, either a closed
 * loop (N clients, each sending its next request when the last one is answered) or an open loop
 * (requests start at a fixed mean rate, Poisson or evenly spaced, whatever is in flight).
 *
 * Every step is bounded in time: requests start only until warm-up + duration has passed, then the
 * ones in flight get at most `timeoutMs` to finish before the connections are destroyed. Requests go
 * only to the origin given. Bodies are prebuilt; the timed loop allocates nothing of its own per
 * request beyond what undici does (and latencies go into a Float64Array).
 */
import { Pool } from 'undici';
import type { RequestSpec } from './payload.js';
import { seededRandom } from './payload.js';
import { LatencyRecorder } from './stats.js';
import type { LatencySummary } from './stats.js';

export type LoadStep =
  | { readonly kind: 'concurrency'; readonly concurrency: number }
  | { readonly kind: 'rate'; readonly rate: number; readonly arrivals: 'poisson' | 'constant' };

export interface LoadOptions {
  /** Server origin (and optional path prefix), e.g. http://127.0.0.1:8000. */
  readonly url: string;
  /** Prebuilt requests, sent in turn. */
  readonly requests: readonly RequestSpec[];
  /** Measured window, in seconds. */
  readonly durationS: number;
  /** Load before the window that is not counted, in seconds. @defaultValue 0 */
  readonly warmupS?: number;
  /** Longest a request may take before it counts as an error (status "timeout"), in ms. @defaultValue 30000 */
  readonly timeoutMs?: number;
  /** Open loop: requests in flight at most; arrivals beyond it are dropped (counted, not sent). @defaultValue 1024 */
  readonly maxInflight?: number;
  /** Closed loop: after a 503, the client waits this long before its next request, in ms (0 = retry at once). @defaultValue 0 */
  readonly backoffMs?: number;
  /** Seed of the Poisson arrival times. @defaultValue 1 */
  readonly seed?: number;
  /** Called about once a second while the step runs. */
  readonly onProgress?: (p: LoadProgress) => void;
}

export interface LoadProgress {
  readonly step: LoadStep;
  readonly phase: 'warmup' | 'measure' | 'drain';
  /** Seconds since the step began, and its planned length (warm-up + duration). */
  readonly elapsedS: number;
  readonly totalS: number;
  /** Counted so far in the measured window. */
  readonly ok: number;
  readonly errors: number;
  /** Successful requests per second over the last progress interval. */
  readonly recentRate: number;
}

export interface LoadResult {
  readonly step: LoadStep;
  /** Length of the measured window, in s. */
  readonly durationS: number;
  /** Requests started in the window (open loop) or completed in it (closed loop). */
  readonly sent: number;
  /** 2xx answers completed in the window. */
  readonly ok: number;
  /** Inferences (rows) in those answers. */
  readonly inferences: number;
  readonly requestsPerS: number;
  readonly inferencesPerS: number;
  /** Latency of the 2xx answers, ms. */
  readonly latency: LatencySummary;
  /** Non-2xx answers and failures in the window, by HTTP status ("timeout", "network" for failures). */
  readonly errors: Readonly<Record<string, number>>;
  /** 503 answers in the window (also in `errors`), and how fast they came. */
  readonly rejected: number;
  readonly rejectLatency: LatencySummary;
  /** Open loop only: arrivals not sent because maxInflight requests were in flight. */
  readonly dropped: number;
  /** CPU the load generator itself used, as % of one core, over the step. */
  readonly clientCpuPct: number;
}

interface Counters {
  ok: number;
  inferences: number;
  okLatency: LatencyRecorder;
  rejectLatency: LatencyRecorder;
  errors: Map<string, number>;
  errorCount: number;
}

/** Runs one step and resolves with its figures. */
export async function runLoadStep(step: LoadStep, options: LoadOptions): Promise<LoadResult> {
  if (options.requests.length === 0) throw new Error('no requests to send');
  const base = new URL(options.url);
  const prefix = base.pathname.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const warmupMs = (options.warmupS ?? 0) * 1000;
  const durationMs = options.durationS * 1000;
  const maxInflight = Math.max(1, options.maxInflight ?? 1024);
  const connections = step.kind === 'concurrency' ? step.concurrency : maxInflight;
  const pool = new Pool(base.origin, {
    connections,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 60_000,
  });

  const c: Counters = {
    ok: 0, inferences: 0, okLatency: new LatencyRecorder(), rejectLatency: new LatencyRecorder(), errors: new Map(), errorCount: 0,
  };
  const start = performance.now();
  const windowStart = start + warmupMs;
  const windowEnd = windowStart + durationMs;
  const cpuStart = process.cpuUsage();
  let sentInWindow = 0;
  let dropped = 0;
  let next = 0;

  const record = (status: string, ms: number, inferences: number, endedAt: number): void => {
    if (endedAt < windowStart || endedAt > windowEnd) return;
    if (status === '2xx') {
      c.ok++;
      c.inferences += inferences;
      c.okLatency.add(ms);
      return;
    }
    c.errorCount++;
    c.errors.set(status, (c.errors.get(status) ?? 0) + 1);
    if (status === '503') c.rejectLatency.add(ms);
  };

  /** Sends one request and resolves with its status class; never rejects. */
  const send = async (): Promise<string> => {
    const spec = options.requests[next++ % options.requests.length]!;
    const t0 = performance.now();
    let status: string;
    try {
      const res = await pool.request({ method: 'POST', path: prefix + spec.path, headers: spec.headers, body: spec.body });
      // Read the whole answer: it is part of the latency, and keeps the connection reusable.
      for await (const _chunk of res.body) { /* discard */ }
      status = res.statusCode >= 200 && res.statusCode < 300 ? '2xx' : String(res.statusCode);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      status = code.includes('TIMEOUT') ? 'timeout' : 'network';
    }
    const t1 = performance.now();
    record(status, t1 - t0, spec.inferences, t1);
    return status;
  };

  let lastOk = 0;
  let lastAt = start;
  const progress = options.onProgress && setInterval(() => {
    const now = performance.now();
    const phase = now < windowStart ? 'warmup' : now < windowEnd ? 'measure' : 'drain';
    const recentRate = ((c.ok - lastOk) * 1000) / Math.max(1, now - lastAt);
    lastOk = c.ok;
    lastAt = now;
    options.onProgress!({ step, phase, elapsedS: (now - start) / 1000, totalS: (warmupMs + durationMs) / 1000, ok: c.ok, errors: c.errorCount, recentRate });
  }, 1000);
  progress && progress.unref();

  const inflight = new Set<Promise<unknown>>();
  try {
    if (step.kind === 'concurrency') {
      const backoffMs = options.backoffMs ?? 0;
      const client = async (): Promise<void> => {
        while (performance.now() < windowEnd) {
          if ((await send()) === '503' && backoffMs > 0) await new Promise((r) => setTimeout(r, Math.min(backoffMs, windowEnd - performance.now())));
        }
      };
      await bounded(Promise.all(Array.from({ length: step.concurrency }, client)), warmupMs + durationMs + timeoutMs + 1000);
      sentInWindow = c.ok + c.errorCount;
    } else {
      const random = seededRandom(options.seed ?? 1);
      const meanGapMs = 1000 / step.rate;
      const gap = step.arrivals === 'constant' ? () => meanGapMs : () => -Math.log(1 - random()) * meanGapMs;
      let due = start;
      await new Promise<void>((resolve) => {
        const tick = (): void => {
          const now = performance.now();
          while (due <= now && due < windowEnd) {
            if (inflight.size >= maxInflight) {
              if (due >= windowStart) dropped++;
            } else {
              if (due >= windowStart) sentInWindow++;
              const p: Promise<unknown> = send().finally(() => inflight.delete(p));
              inflight.add(p);
            }
            due += gap();
          }
          if (due >= windowEnd) resolve();
          else setTimeout(tick, Math.max(0, Math.min(due - performance.now(), 50)));
        };
        tick();
      });
      await bounded(Promise.all(inflight), timeoutMs + 1000);
    }
  } finally {
    if (progress) clearInterval(progress);
    await pool.destroy().catch(() => undefined);
  }
  const cpu = process.cpuUsage(cpuStart);
  const elapsedMs = performance.now() - start;
  const windowS = durationMs / 1000;
  return {
    step,
    durationS: windowS,
    sent: sentInWindow,
    ok: c.ok,
    inferences: c.inferences,
    requestsPerS: c.ok / windowS,
    inferencesPerS: c.inferences / windowS,
    latency: c.okLatency.summary(),
    errors: Object.fromEntries([...c.errors].sort(([a], [b]) => a.localeCompare(b))),
    rejected: c.errors.get('503') ?? 0,
    rejectLatency: c.rejectLatency.summary(),
    dropped,
    clientCpuPct: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100,
  };
}

/** Waits for `p`, or at most `ms` (the requests left are then cut off by destroying the pool). */
async function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
}
