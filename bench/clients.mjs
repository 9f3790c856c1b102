// The standard clients the benchmarks drive ferry (and its peers) with, besides `ferry bench`:
// wrk (Debian's; one thread, keep-alive connections, a prebuilt POST body, no Lua response hook)
// and Triton's perf_analyzer (the binary from the tritonclient 2.51 wheel .ci/run installs).
// Each runs as a child process on the same cores as the server: say so with every figure.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

function runCommand(cmd, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, pid: child.pid }));
  });
}

/** wrk's "1.23ms" / "830.00us" / "2.1s" as ms. */
function wrkMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]];
}

/**
 * wrk -t1 -cC -dD --latency POSTing `body` to `url` (origin + path), with `headers`. Returns
 * requests/s, 2xx (completed) requests/s, non-2xx and socket errors, and the latency percentiles wrk
 * prints (p50, p75, p90, p99, ms). wrk cannot tell 2xx from 503 in its latencies: with refusals in
 * the run, its percentiles mix both.
 */
export async function wrk({ url, body, headers = {}, connections = 1, durationS = 10, threads = 1, timeoutS = 30 }) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-wrk-'));
  const bodyFile = join(dir, 'body');
  writeFileSync(bodyFile, body);
  const u = new URL(url);
  const env = {
    ...process.env,
    WRK_BODY_FILE: bodyFile,
    WRK_PATH: u.pathname + u.search,
    WRK_HEADERS: Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n'),
  };
  const { code, out } = await runCommand('wrk', [`-t${threads}`, `-c${connections}`, `-d${durationS}s`, `--timeout`, `${timeoutS}s`, '--latency', '-s', join(ROOT, 'bench', 'wrk-post.lua'), u.origin], env);
  if (code !== 0) throw new Error(`wrk exited ${code}: ${out}`);
  const num = (re) => Number(re.exec(out)?.[1] ?? 0);
  const requests = num(/(\d+) requests in/);
  const seconds = wrkMs(/requests in ([\d.]+\w+),/.exec(out)?.[1] ?? '') / 1000;
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const pct = (p) => wrkMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  return {
    client: `wrk -t${threads} -c${connections}`,
    requests, seconds,
    requestsPerS: num(/Requests\/sec:\s+([\d.]+)/),
    completedPerS: (requests - non2xx) / seconds,
    non2xx,
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    latencyMs: { p50: pct(50), p75: pct(75), p90: pct(90), p99: pct(99) },
  };
}

const PERF_ANALYZER = join(ROOT, '.venv', 'perf-analyzer', 'bin', 'perf_analyzer');

export function perfAnalyzerAvailable() {
  return existsSync(PERF_ANALYZER);
}

/**
 * Triton's perf_analyzer at one concurrency over HTTP (binary tensors, random data, its own
 * stability windows): throughput and client latency percentiles (ms), as it reports them.
 */
export async function perfAnalyzer({ url, model, concurrency = 1, measurementMs = 5000, shape, stabilityPct = 30 }) {
  const libs = ['.venv/perf-analyzer/nvidia/cuda_runtime/lib', '.venv/perf-analyzer/lib'].map((d) => join(ROOT, d)).filter(existsSync);
  const env = { ...process.env, LD_LIBRARY_PATH: [...libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  const dir = mkdtempSync(join(tmpdir(), 'ferry-pa-'));
  const csv = join(dir, 'pa.csv');
  const args = ['-m', model, '-u', new URL(url).host, '-i', 'http', '--concurrency-range', String(concurrency),
    '--measurement-interval', String(measurementMs), '--stability-percentage', String(stabilityPct), '--max-trials', '6',
    '--percentile', '99', '-f', csv, ...(shape ? ['--shape', shape] : [])];
  const { code, out } = await runCommand(PERF_ANALYZER, args, env);
  if (code !== 0) throw new Error(`perf_analyzer exited ${code}: ${out.slice(-2000)}`);
  const num = (re) => Number(re.exec(out)?.[1] ?? NaN);
  return {
    client: `perf_analyzer --concurrency-range ${concurrency}`,
    requestsPerS: num(/Throughput: ([\d.]+) infer\/sec/),
    latencyMs: {
      p50: num(/p50 latency: (\d+) usec/) / 1000,
      p90: num(/p90 latency: (\d+) usec/) / 1000,
      p99: num(/p99 latency: (\d+) usec/) / 1000,
      avg: num(/Avg latency: (\d+) usec/) / 1000,
    },
  };
}

/** A KServe v2 binary-extension body: the JSON header, then the raw tensors; and its headers. */
export function binaryInferBody(inputs, outputs) {
  const header = Buffer.from(JSON.stringify({
    inputs: inputs.map((t) => ({ name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: t.data.byteLength } })),
    outputs: outputs.map((name) => ({ name, parameters: { binary_data: true } })),
  }));
  const body = Buffer.concat([header, ...inputs.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
  return { body, headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) } };
}
