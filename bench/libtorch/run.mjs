#!/usr/bin/env node
// libtorch: ResNet-18 TorchScript served by ferry's libtorch engine, against the same engine in
// process and against Debian's torch from Python (TorchServe's runtime), in one interleaved run.
//
//   node bench/libtorch/run.mjs      # ~10 min on a quiet 2-core machine
//   node bench/libtorch/run.mjs --rounds 1 --duration-s 5 --engine-duration-s 4 --no-wait   # plumbing check
//
// 1. in-process engine (`ferry bench --engine model.pt`, the server's 2 instances x 1 thread) at
//    batch 1..8: its best batch;
// 2. --rounds rounds of: the engine at that batch; `ferry serve` under 16 clients each sending one
//    3x224x224 image as binary v2 (`ferry bench`), then the same with wrk; Python torch at that
//    batch with the same workers x threads (bench/libtorch/torch_python.py).
// 3. parity: the served outputs against torch eager (ResNet-18, and the Fashion model's TorchScript
//    twin, examples/fashion/to_torchscript.py).
// Each part waits for the machine to be idle first and records the CPU everything else used
// meanwhile ("other cpu") and the load average: the machine is shared.
// Writes bench/results/libtorch.json.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT, PYTHON, requireBuild, startFerry, ferryBench, sampler, cpuPct, machine, writeResult, table, f, flags, modelStats, statsDelta,
  machineCpu, quietly, waitQuiet,
} from '../lib.mjs';

const opts = flags(process.argv.slice(2), {
  durationS: 20, warmupS: 5, engineDurationS: 10, concurrency: 16, batchSizes: '1,2,4,8', rounds: 3, instances: 2, threads: 1, noWrk: false,
  quietMaxS: 60, noWait: false,
});
opts.wrk = !opts.noWrk;
/**
 * Measures after the machine has been idle for a few seconds, waiting at most --quiet-max-s (0:
 * lib.mjs's quietly(), which waits up to 3 min and measures again while others disturb it; on a
 * machine that others keep busy, the interleaved rounds' ratios are what stays comparable).
 */
async function measure(label, fn) {
  if (opts.noWait) return fn();
  if (opts.quietMaxS === 0) return quietly(label, fn);
  await waitQuiet({ maxS: opts.quietMaxS });
  return fn();
}
const HERE = join(ROOT, 'bench', 'libtorch');
const MODEL_DIR = join(ROOT, 'bench', 'models', 'resnet18-ts');
const PT = join(MODEL_DIR, '1', 'model.pt');
const PARITY = join(MODEL_DIR, 'parity.npz');
const MODEL = 'resnet18-ts';

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function engineRun(batchSizes) {
  const m = machineCpu();
  const r = await ferryBench(['--engine', PT, '--instances', String(opts.instances), '--threads', String(opts.threads),
    '--batch-sizes', batchSizes, '--duration-s', String(opts.engineDurationS), '--warmup-s', '3']);
  r.machineCpuPct = m.stop();
  r.otherCpuPct = Math.max(0, r.machineCpuPct - r.processCpuPct);
  r.loadavg = loadavg();
  return r;
}

/** Debian's torch from Python at `batch`, the server's instances as worker processes (it measures its own CPU and the machine's). */
function pythonRun(batch) {
  const out = execFileSync(PYTHON, [join(HERE, 'torch_python.py'), PT, '--batch', String(batch), '--workers', String(opts.instances),
    '--threads', String(opts.threads), '--duration-s', String(opts.engineDurationS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  r.loadavg = loadavg();
  return r;
}

/** A binary v2 request body of one seeded 3x224x224 image, for wrk. */
function wrkBody(dir) {
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224], parameters: { binary_data_size: 3 * 224 * 224 * 4 } }], outputs: [{ name: 'logits', parameters: { binary_data: true } }] }));
  const data = new Float32Array(3 * 224 * 224);
  let s = 1;
  for (let i = 0; i < data.length; i++) { s = (s * 1103515245 + 12345) >>> 0; data[i] = s / 2 ** 32; }
  const file = join(dir, 'body.bin');
  writeFileSync(file, Buffer.concat([header, Buffer.from(data.buffer)]));
  return { file, headerLength: header.length };
}

/** wrk against the server: requests/s, latency; CPU of the server, of wrk and of everything else. */
function wrkRun(url, body, serverPid) {
  return new Promise((resolve, reject) => {
    const m = machineCpu();
    const s = sampler(serverPid, 1000);
    const child = spawn('wrk', ['-t', '2', '-c', String(opts.concurrency), '-d', `${opts.durationS}s`, '--latency', '-s', join(HERE, 'wrk.lua'), `${url}/v2/models/${MODEL}/infer`],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FERRY_WRK_BODY: body.file, FERRY_WRK_HEADER_LENGTH: String(body.headerLength) } });
    const w = sampler(child.pid, 1000);
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.once('error', reject);
    child.once('exit', (code) => {
      const wrkSamples = w.stop();
      const serverSamples = s.stop();
      const machinePct = m.stop();
      if (code !== 0) { reject(new Error(`wrk exited with ${code}: ${out}`)); return; }
      const num = (re) => Number(re.exec(out)?.[1] ?? NaN);
      const ms = (re) => {
        const x = re.exec(out);
        return x ? Number(x[1]) * ({ us: 1e-3, ms: 1, s: 1000 }[x[2]] ?? 1) : NaN;
      };
      const serverPct = cpuPct(serverSamples[0], serverSamples.at(-1));
      const wrkPct = wrkSamples.length > 1 ? cpuPct(wrkSamples[0], wrkSamples.at(-1)) : NaN;
      resolve({
        requestsPerS: num(/Requests\/sec:\s+([\d.]+)/),
        non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
        socketErrors: out.match(/Socket errors:.*/)?.[0] ?? '',
        latencyMs: { p50: ms(/50%\s+([\d.]+)(us|ms|s)/), p99: ms(/99%\s+([\d.]+)(us|ms|s)/) },
        serverCpuPct: serverPct,
        wrkCpuPct: wrkPct,
        otherCpuPct: Math.max(0, machinePct - serverPct - (Number.isFinite(wrkPct) ? wrkPct : 0)),
      });
    });
  });
}

async function serverRun(body) {
  const { url, child } = await startFerry(MODEL_DIR);
  try {
    const s = sampler(child.pid, 1000);
    const m = machineCpu();
    const before = await modelStats(url, MODEL);
    const load = await ferryBench([url, '--model', MODEL, '--protocol', 'binary', '--batch', '1',
      '--concurrency', String(opts.concurrency), '--duration-s', String(opts.durationS), '--warmup-s', String(opts.warmupS)]);
    const after = await modelStats(url, MODEL);
    const machinePct = m.stop();
    const samples = s.stop();
    const serverPct = cpuPct(samples[0], samples.at(-1));
    const wrk = opts.wrk ? await wrkRun(url, body, child.pid) : undefined;
    return {
      load: load.steps[0],
      server: { ...statsDelta(before, after), cpuPct: serverPct, peakRssMiB: Math.max(...samples.map((x) => x.rssMiB)) },
      otherCpuPct: Math.max(0, machinePct - serverPct - load.processCpuPct),
      wrk,
      loadavg: loadavg(),
    };
  } finally {
    await child.stop();
  }
}

/** Served outputs vs torch eager on `npz` (inputs "input", eager "logits"), through binary v2. */
async function servedParity(modelDir, model, npzPath) {
  const { readNpz } = await import('../../dist/tensors/npy.js');
  const p = await readNpz(npzPath);
  const x = p.get('input');
  const want = p.get('logits').data;
  const { url, child } = await startFerry(modelDir);
  try {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [...x.shape], parameters: { binary_data_size: x.data.byteLength } }], outputs: [{ name: 'logits', parameters: { binary_data: true } }] }));
    const res = await fetch(`${url}/v2/models/${model}/infer`, { method: 'POST', body: Buffer.concat([header, Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength)]),
      headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' } });
    const buf = Buffer.from(await res.arrayBuffer());
    const n = Number(res.headers.get('inference-header-content-length'));
    const got = new Float32Array(buf.buffer.slice(buf.byteOffset + n, buf.byteOffset + buf.length));
    let maxAbs = 0;
    let maxRef = 0;
    for (let i = 0; i < want.length; i++) { maxAbs = Math.max(maxAbs, Math.abs(got[i] - want[i])); maxRef = Math.max(maxRef, Math.abs(want[i])); }
    return { model, shape: [...x.shape], outputs: want.length, maxAbs, maxAbsEager: maxRef, pass: got.length === want.length && maxAbs <= 1e-5 };
  } finally {
    await child.stop();
  }
}

async function fashionParity() {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-fashion-'));
  try {
    const model = join(dir, 'fashion');
    execFileSync(PYTHON, [join(ROOT, 'examples', 'fashion', 'to_torchscript.py'), '--out', join(model, '1', 'model.pt'), '--parity', join(dir, 'parity.npz')], { stdio: ['ignore', 'ignore', 'inherit'] });
    copyFileSync(join(ROOT, 'examples', 'fashion', 'labels.txt'), join(model, 'labels.txt'));
    return await servedParity(model, 'fashion', join(dir, 'parity.npz'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  requireBuild();
  if (!existsSync(PT) || !existsSync(PARITY)) execFileSync(PYTHON, [join(HERE, 'export.py'), '--out', PT, '--parity', PARITY], { stdio: 'inherit' });
  writeFileSync(join(MODEL_DIR, 'config.yaml'), readFileSync(join(HERE, 'config.yaml')));
  const hw = machine();
  const uptimeAtStart = execFileSync('uptime', { encoding: 'utf8' }).trim();
  console.error(`${uptimeAtStart}\nengine: in-process libtorch engine, ${opts.instances} instances x ${opts.threads} thread(s), at batch ${opts.batchSizes} ...`);
  const sweep = await measure('engine sweep', () => engineRun(opts.batchSizes));
  const best = sweep.best;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-libtorch-'));
  const body = wrkBody(dir);
  const runs = [];
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      console.error(`round ${round}: engine at batch ${best.batch}, server under ${opts.concurrency} clients (ferry bench${opts.wrk ? ', wrk' : ''}), Python torch at batch ${best.batch} ...`);
      const engine = await measure(`round ${round} engine`, () => engineRun(String(best.batch)));
      const server = await measure(`round ${round} server`, () => serverRun(body));
      const python = await measure(`round ${round} python`, async () => pythonRun(best.batch));
      const e = engine.best.inferencesPerS;
      runs.push({
        round, engine: { best: engine.best, otherCpuPct: engine.otherCpuPct, loadavg: engine.loadavg, noisy: engine.noisy ?? false },
        server: { ...server, noisy: server.noisy ?? false }, python: { ...python, noisy: python.noisy ?? false },
        ratios: {
          serverOverEngine: server.load.inferencesPerS / e,
          wrkServerOverEngine: server.wrk ? server.wrk.requestsPerS / e : null,
          engineOverPython: e / python.inferencesPerS,
          serverOverPython: server.load.inferencesPerS / python.inferencesPerS,
        },
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.error('parity: served vs torch eager ...');
  const parity = [await servedParity(MODEL_DIR, MODEL, PARITY), await fashionParity()];

  const rows = sweep.results.map((r) => [`engine, batch ${r.batch}`, f(r.inferencesPerS), f(r.latency?.p50 ?? r.latencyMs?.p50, 1), '', '', `${f(sweep.otherCpuPct, 0)}%`]);
  for (const r of runs) {
    rows.push([`round ${r.round}: engine, batch ${best.batch}`, f(r.engine.best.inferencesPerS), f(r.engine.best.latencyMs.p50, 1), '', '', `${f(r.engine.otherCpuPct, 0)}%`]);
    rows.push([`round ${r.round}: ferry serve, ferry bench c=${opts.concurrency}`, f(r.server.load.inferencesPerS), f(r.server.load.latencyMs.p50, 1), f(r.server.server.meanBatch, 2), `${f(r.ratios.serverOverEngine * 100, 1)}%`, `${f(r.server.otherCpuPct, 0)}%`]);
    if (r.server.wrk) rows.push([`round ${r.round}: ferry serve, wrk c=${opts.concurrency}`, f(r.server.wrk.requestsPerS), f(r.server.wrk.latencyMs.p50, 1), '', `${f(r.ratios.wrkServerOverEngine * 100, 1)}%`, '']);
    rows.push([`round ${r.round}: Python torch, batch ${best.batch}`, f(r.python.inferencesPerS), f(r.python.latencyMs.p50, 1), '', `${f(r.ratios.engineOverPython, 2)}x`, `${f(r.python.otherCpuPct, 0)}%`]);
  }
  console.log(`\nresnet18 TorchScript, 3x224x224 FP32, ${hw.cpu}, ${hw.cores} cores; ${uptimeAtStart}\n`);
  console.log(table(['run', 'infer/s', 'p50 ms', 'mean batch', 'vs engine (python: engine/python)', 'other cpu'], rows));
  const summary = {
    bestBatch: best.batch,
    medianServerOverEngine: median(runs.map((r) => r.ratios.serverOverEngine)),
    medianWrkServerOverEngine: opts.wrk ? median(runs.map((r) => r.ratios.wrkServerOverEngine)) : null,
    medianEngineOverPython: median(runs.map((r) => r.ratios.engineOverPython)),
    medianServerOverPython: median(runs.map((r) => r.ratios.serverOverPython)),
  };
  console.log(`\nserver / engine (ferry bench): median ${f(summary.medianServerOverEngine * 100, 1)}% (target >= 90%)`);
  if (opts.wrk) console.log(`server / engine (wrk): median ${f(summary.medianWrkServerOverEngine * 100, 1)}%`);
  console.log(`engine / Python torch: median ${f(summary.medianEngineOverPython, 3)}x (target >= 1.0); server / Python torch: ${f(summary.medianServerOverPython, 3)}x`);
  for (const p of parity) console.log(`parity ${p.model} ${JSON.stringify(p.shape)}: max abs ${p.maxAbs.toExponential(2)} (eager max |y| ${f(p.maxAbsEager, 2)}) ${p.pass ? 'PASS' : 'FAIL'} (<= 1e-5)`);
  const file = writeResult('libtorch', {
    benchmark: 'libtorch',
    date: new Date().toISOString(),
    machine: hw,
    uptimeAtStart,
    uptimeAtEnd: execFileSync('uptime', { encoding: 'utf8' }).trim(),
    command: `node bench/libtorch/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    settings: opts,
    config: readFileSync(join(HERE, 'config.yaml'), 'utf8'),
    engineSweep: sweep,
    runs,
    summary,
    parity,
  });
  console.log(`\nwrote ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
