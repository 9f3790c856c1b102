// Shared plumbing of the benchmark scripts: run `ferry serve` and `ferry bench` as child processes,
// sample a process's memory and CPU from /proc, describe the machine, write bench/results/<name>.json.
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { cpSync, existsSync, readFileSync, writeFileSync, mkdirSync, mkdtempSync, renameSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FERRY = join(ROOT, 'dist', 'cli', 'main.js');
export const PYTHON = '/usr/bin/python3'; // Debian's, with python3-torch, -onnx, -flask

/** A free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `url` until it answers 200 (or throws after `timeoutMs`). */
export async function waitReady(url, child, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before it was ready:\n${child.stderrText()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch { /* not listening yet */ }
    await sleep(200);
  }
  throw new Error(`${url} was not ready after ${timeoutMs} ms`);
}

/** Starts a child process, keeping the tail of its stderr for error messages. */
export function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  let err = '';
  child.stderr.on('data', (c) => { err = (err + c).slice(-4000); });
  child.stderrText = () => err;
  child.stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const gone = new Promise((r) => child.once('exit', r));
    if (await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)])) return;
    child.kill('SIGKILL');
    await gone;
  };
  return child;
}

/** `ferry serve` on a free port; resolves once /v2/health/ready answers 200. */
export async function startFerry(modelPath, serveArgs = []) {
  const port = await freePort();
  const child = start(process.execPath, [FERRY, 'serve', modelPath, '--port', String(port), '--log-level', 'warn', ...serveArgs]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}/v2/health/ready`, child);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { url, child, port };
}

/**
 * A copy of the default model (examples/fashion) in a new temporary repository, its config.yaml
 * passed through `edit` (text in, text out; it must change something). Returns the model's folder.
 */
export function fashionCopy(edit) {
  const dir = join(mkdtempSync(join(tmpdir(), 'ferry-fashion-')), 'fashion');
  cpSync(join(ROOT, 'examples', 'fashion'), dir, { recursive: true });
  const file = join(dir, 'config.yaml');
  const text = readFileSync(file, 'utf8');
  const edited = edit(text);
  if (edited === text) throw new Error(`${file}: the edit changed nothing (has examples/fashion/config.yaml changed?)`);
  writeFileSync(file, edited);
  return dir;
}

/**
 * Runs `ferry bench ... --json` and returns its parsed output, plus `processCpuPct`: the CPU the
 * bench process used over its whole life (start-up included), % of one core, sampled from /proc.
 */
export function ferryBench(args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [FERRY, 'bench', ...args, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let cpuS = 0;
    const poll = setInterval(() => {
      try { cpuS = procSample(child.pid).cpuS; } catch { /* exited */ }
    }, 100);
    child.stdout.on('data', (c) => { out += c; });
    child.once('error', reject);
    child.once('exit', (code) => {
      clearInterval(poll);
      try {
        const result = JSON.parse(out);
        result.processCpuPct = (cpuS / ((performance.now() - t0) / 1000)) * 100;
        resolve(result);
      } catch {
        reject(new Error(`ferry bench ${args.join(' ')} exited ${code} without JSON: ${out.slice(0, 500)}`));
      }
    });
  });
}

/** Resident memory (MiB) and total CPU seconds of a process, from /proc. */
export function procSample(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return { rssMiB: rssKb / 1024, cpuS: statCpuS(`/proc/${pid}/stat`) };
}

/** CPU seconds (user + system) from a /proc stat file: /proc/PID/stat, or /proc/PID/task/TID/stat for one thread. */
export function statCpuS(file) {
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
}

/** Samples a process every `everyMs` until stopped; `stop()` returns the samples. */
export function sampler(pid, everyMs = 2000) {
  const t0 = performance.now();
  const samples = [];
  const take = () => {
    try {
      samples.push({ t: Math.round(performance.now() - t0) / 1000, ...procSample(pid) });
    } catch { /* exited */ }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

/** CPU used by a process between two samples, as % of one core. */
export function cpuPct(a, b) {
  return ((b.cpuS - a.cpuS) / Math.max(1e-9, b.t - a.t)) * 100;
}

/** The machine, as BENCHMARKS.md states it. */
export function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /Model name:\s*(.+)/.exec(execFileSync('lscpu', { encoding: 'utf8' }))?.[1]?.trim() ?? model;
  } catch { /* no lscpu */ }
  let ort = 'unknown';
  try {
    ort = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version;
  } catch { /* not installed */ }
  let flags = [];
  try {
    const all = /^flags\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(' ') ?? [];
    // What decides inference speed on x86: vector width and int8 dot products.
    flags = all.filter((f) => /^(avx2|fma|f16c|avx512(f|bw|vl|_vnni|_bf16|_fp16)|avx_vnni|amx_\w+)$/.test(f));
  } catch { /* not Linux */ }
  return {
    cpu: model,
    cpuFlags: flags,
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntimeNode: ort,
    loadAverageAtStart: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
  };
}

/** Writes bench/results/<name>.json atomically. */
export function writeResult(name, result) {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** A plain text table; numbers right-aligned. */
export function table(headers, rows) {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const num = (s) => /^[-+]?[\d.,]+\s?[%x]?$|^-$/.test(s);
  const line = (r) => r.map((c, i) => (num(c) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export const f = (n, d = 1) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(d) : '-');

/** Parses --name value flags of a bench script. */
export function flags(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown flag ${a}; known: ${Object.keys(defaults).map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(' ')}`);
    if (typeof defaults[key] === 'boolean') out[key] = true;
    else out[key] = typeof defaults[key] === 'number' ? Number(argv[++i]) : argv[++i];
  }
  return out;
}

/** Fails early when dist/ is missing. */
export function requireBuild() {
  try {
    readFileSync(FERRY);
  } catch {
    throw new Error('dist/ is missing: run `npx tsc -p .` (or npm run build) first');
  }
}

/** GET /v2/models/{m}/stats of the first version. */
export async function modelStats(url, model) {
  const res = await fetch(`${url}/v2/models/${model}/stats`);
  return (await res.json()).model_stats[0];
}

/**
 * What the server did between two stats snapshots: batches run, mean batch size, mean queue time
 * per request, and per batch size the number of runs and mean ms in input assembly, the session
 * run (as timed in the engine's worker), and output slicing.
 */
export function statsDelta(a, b) {
  const d = (x, y) => ({ count: y.count - x.count, ns: y.ns - x.ns });
  const ms = (x) => (x.count ? x.ns / x.count / 1e6 : NaN);
  const executions = b.execution_count - a.execution_count;
  const inferences = b.inference_count - a.inference_count;
  const before = new Map(a.batch_stats.map((s) => [s.batch_size, s]));
  const zero = { count: 0, ns: 0 };
  const byBatch = b.batch_stats.map((s) => {
    const p = before.get(s.batch_size) ?? { compute_input: zero, compute_infer: zero, compute_output: zero };
    const infer = d(p.compute_infer, s.compute_infer);
    return { batchSize: s.batch_size, runs: infer.count, inputMs: ms(d(p.compute_input, s.compute_input)), inferMs: ms(infer), outputMs: ms(d(p.compute_output, s.compute_output)) };
  }).filter((s) => s.runs > 0);
  return {
    executions,
    inferences,
    meanBatch: executions ? inferences / executions : NaN,
    queueMsPerRequest: ms(d(a.inference_stats.queue, b.inference_stats.queue)),
    requestMs: ms(d(a.inference_stats.success, b.inference_stats.success)),
    byBatch,
  };
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function systemTicks() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + (cpu[4] ?? 0);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total, at: performance.now() };
}

/** Measures the machine's CPU use (all processes) from now until `stop()`, in % of one core. */
export function machineCpu() {
  const a = systemTicks();
  return {
    stop() {
      const b = systemTicks();
      return ((b.busy - a.busy) / 100 / ((b.at - a.at) / 1000)) * 100;
    },
  };
}

/**
 * Waits (at most `maxS`) until the machine has been nearly idle (< `busyPct` % of one core) for
 * `quietS` seconds in a row, so that a run does not start on top of someone else's. Returns the
 * seconds waited, or -1 if it never got quiet.
 */
export async function waitQuiet({ busyPct = 15, quietS = 3, maxS = 180 } = {}) {
  const t0 = Date.now();
  let quiet = 0;
  while (Date.now() - t0 < maxS * 1000) {
    const m = machineCpu();
    await sleep(1000);
    quiet = m.stop() < busyPct ? quiet + 1 : 0;
    if (quiet >= quietS) return (Date.now() - t0) / 1000;
  }
  console.error(`warning: the machine did not get quiet in ${maxS} s; measuring anyway`);
  return -1;
}

/**
 * Runs `measure` (which resolves with an object carrying `otherCpuPct`: CPU used meanwhile by
 * processes other than the ones measured, % of one core) after the machine is idle, and again —
 * up to `attempts` times — while other processes took more than `maxOtherPct`. Returns the first
 * clean result, or the least disturbed one marked `noisy: true`.
 */
export async function quietly(label, measure, { maxOtherPct = 25, attempts = 3 } = {}) {
  let best;
  for (let i = 1; i <= attempts; i++) {
    await waitQuiet();
    const r = await measure();
    r.attempt = i;
    if (!best || r.otherCpuPct < best.otherCpuPct) best = r;
    if (r.otherCpuPct <= maxOtherPct) return r;
    console.error(`${label}: other processes used ${r.otherCpuPct.toFixed(0)}% of a core meanwhile; ${i < attempts ? 'measuring again' : 'keeping the least disturbed run'} (${i}/${attempts})`);
  }
  best.noisy = true;
  return best;
}

/** Exports torchvision's ResNet-18 to `model` with Debian's PyTorch, unless it is there already. */
export function ensureResnet18(model) {
  if (existsSync(model)) return;
  process.stderr.write(`exporting ResNet-18 to ${model} ...\n`);
  execFileSync(PYTHON, [join(ROOT, 'bench', 'resnet18', 'export.py'), '--out', model], { stdio: 'inherit' });
}

/** Median and min of `rounds` timed runs of fn (ms), after one warm-up run. */
export async function timeRuns(fn, rounds) {
  await fn();
  const ms = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: +ms[Math.floor(ms.length / 2)].toFixed(2), minMs: +ms[0].toFixed(2), runs: ms.length };
}
