/**
 * The load generator, in the spirit of Triton's perf_analyzer: one step at a time, either a closed
 * loop (N clients, each sending its next request when the last one is answered) or an open loop
 * (requests start at a fixed mean rate, Poisson or evenly spaced, whatever is in flight).
 *
 * Every step is bounded in time: requests start only until warm-up + duration has passed, then the
 * ones in flight get at most `timeoutMs` to finish before the connections are destroyed. Requests go
 * only to the origin given. Requests are prebuilt bytes sent over lean keep-alive HTTP/1.1
 * connections (./http1.ts): the timed loop allocates next to nothing per request (latencies go into
 * a Float64Array), since every cycle the load generator spends is taken from the server it measures.
 */
import { Http1Connection, encodeRequest } from './http1.js';
import type { RequestSpec } from './payload.js';
import { seededRandom } from './payload.js';
import { LatencyRecorder } from '../measure/latency.js';
import type { LatencySummary } from '../measure/latency.js';

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
  if (base.protocol !== 'http:') throw new Error(`the load generator speaks plain HTTP/1.1; ${options.url} is ${base.protocol.replace(/:$/, '')}`);
  const prefix = base.pathname.replace(/\/+$/, '');
  const host = base.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(base.port || 80);
  const prebuilt = options.requests.map((spec) => ({ bytes: encodeRequest(base.host, prefix + spec.path, spec.headers, spec.body), inferences: spec.inferences }));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const warmupMs = (options.warmupS ?? 0) * 1000;
  const durationMs = options.durationS * 1000;
  const maxInflight = Math.max(1, options.maxInflight ?? 1024);

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
  const connections: Http1Connection[] = [];

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

  /** Sends the next prebuilt request on `conn`; `then` gets its status class once it is recorded. */
  const send = (conn: Http1Connection, then: (status: string, endedAt: number) => void): void => {
    const spec = prebuilt[next++ % prebuilt.length]!;
    conn.send(spec.bytes, (code, err) => {
      const t1 = performance.now();
      const status = err
        ? (err as { code?: string }).code === 'TIMEOUT' ? 'timeout' : 'network'
        : code >= 200 && code < 300 ? '2xx' : String(code);
      record(status, t1 - conn.startedAt, spec.inferences, t1);
      then(status, t1);
    });
  };

  // One timer finds requests past their timeout, instead of a timer per request.
  const timeouts = setInterval(() => {
    const now = performance.now();
    for (const conn of connections) {
      if (conn.busy && now - conn.startedAt > timeoutMs) {
        conn.abort(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: 'TIMEOUT' }));
      }
    }
  }, Math.max(10, Math.min(100, timeoutMs / 4)));

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

  try {
    if (step.kind === 'concurrency') {
      const backoffMs = options.backoffMs ?? 0;
      const finished = new Promise<void>((resolve) => {
        let active = step.concurrency;
        for (let i = 0; i < step.concurrency; i++) {
          const conn = new Http1Connection(host, port);
          connections.push(conn);
          const loop = (): void => {
            if (performance.now() >= windowEnd) {
              if (--active === 0) resolve();
              return;
            }
            send(conn, (status, endedAt) => {
              if (status === '503' && backoffMs > 0) setTimeout(loop, Math.max(0, Math.min(backoffMs, windowEnd - endedAt)));
              else loop();
            });
          };
          loop();
        }
      });
      await bounded(finished, windowEnd - performance.now() + timeoutMs + 1000);
      sentInWindow = c.ok + c.errorCount;
    } else {
      const random = seededRandom(options.seed ?? 1);
      const meanGapMs = 1000 / step.rate;
      const gap = step.arrivals === 'constant' ? () => meanGapMs : () => -Math.log(1 - random()) * meanGapMs;
      const idle: Http1Connection[] = [];
      let inflight = 0;
      let drained: (() => void) | undefined;
      let due = start;
      await new Promise<void>((resolve) => {
        const tick = (): void => {
          const now = performance.now();
          while (due <= now && due < windowEnd) {
            if (inflight >= maxInflight) {
              if (due >= windowStart) dropped++;
            } else {
              if (due >= windowStart) sentInWindow++;
              let conn = idle.pop();
              if (!conn) {
                conn = new Http1Connection(host, port);
                connections.push(conn);
              }
              const used = conn;
              inflight++;
              send(used, () => {
                inflight--;
                idle.push(used);
                if (inflight === 0) drained?.();
              });
            }
            due += gap();
          }
          if (due >= windowEnd) resolve();
          else setTimeout(tick, Math.max(0, Math.min(due - performance.now(), 50)));
        };
        tick();
      });
      if (inflight > 0) await bounded(new Promise<void>((resolve) => { drained = resolve; }), timeoutMs + 1000);
    }
  } finally {
    clearInterval(timeouts);
    if (progress) clearInterval(progress);
    // Requests still in flight past the bound fail here (outside the window, so uncounted).
    for (const conn of connections) conn.close();
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
