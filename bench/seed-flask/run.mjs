#!/usr/bin/env node
// ferry against the seed's Flask server, both serving the Fashion-MNIST model, under the same
// `ferry bench --protocol predict` load (multipart meta + raw BGR blob, as the seed's client sends).
//
//   node bench/seed-flask/run.mjs
//
// Needs Debian's python3-flask, python3-torch and python3-onnx (bench/seed-flask/seed_server.py).
// Checks first that both servers give the same label for every sample image. Prints a table and
// writes bench/results/seed-flask.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ROOT, PYTHON, requireBuild, start, startFerry, ferryBench, freePort, sleep, sampler, cpuPct, machine, writeResult, table, f, flags, waitQuiet, machineCpu, quietly,
} from '../lib.mjs';
import { readBgr } from '../../dist/bench/target.js';
import { predictRequest } from '../../dist/bench/payload.js';

const opts = flags(process.argv.slice(2), { durationS: 15, warmupS: 3, concurrency: '1,16', model: 'examples/fashion', sample: '0-ankle-boot.png' });
const MODEL_DIR = join(ROOT, opts.model);
const ONNX = join(MODEL_DIR, '1', 'model.onnx');
const SAMPLES = join(MODEL_DIR, 'samples');

async function startFlask() {
  const port = await freePort();
  const child = start(PYTHON, [join(ROOT, 'bench', 'seed-flask', 'seed_server.py'), '--model', ONNX, '--port', String(port)]);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the Flask server exited (${child.exitCode}):\n${child.stderrText()}`);
    try {
      await fetch(url); // any answer (404 on /) means it listens
      return { url, child };
    } catch { await sleep(200); }
  }
  await child.stop();
  throw new Error('the Flask server did not start in 60 s');
}

/** POSTs each sample to /predict on both servers; returns [{ sample, expected, ferry, flask }]. */
async function agreement(ferryUrl, flaskUrl) {
  const expected = JSON.parse(readFileSync(join(SAMPLES, 'expected.json'), 'utf8'));
  const out = [];
  for (const [name, want] of Object.entries(expected)) {
    const { pixels, height, width } = await readBgr(join(SAMPLES, name));
    const spec = predictRequest(pixels, height, width, 3);
    const ask = async (url) => (await fetch(url + spec.path, { method: 'POST', headers: spec.headers, body: spec.body })).json();
    const [a, b] = [await ask(ferryUrl), await ask(flaskUrl)];
    out.push({ sample: name, expected: want.index, ferry: a.index, flask: b.label });
  }
  return out;
}

async function loadRun(server, url, pid, args = ['--protocol', 'predict', '--input', join(SAMPLES, opts.sample)]) {
  await waitQuiet();
  const s = sampler(pid, 1000);
  const m = machineCpu();
  const r = await ferryBench([url, ...args, '--concurrency', opts.concurrency, '--duration-s', String(opts.durationS), '--warmup-s', String(opts.warmupS)]);
  const machinePct = m.stop();
  const samples = s.stop();
  const serverCpuPct = cpuPct(samples[0], samples.at(-1));
  return { server, steps: r.steps, serverCpuPct, machineCpuPct: machinePct, otherCpuPct: Math.max(0, machinePct - serverCpuPct - r.processCpuPct) };
}

async function main() {
  requireBuild();
  const hw = machine();
  const ferry = await startFerry(MODEL_DIR);
  const flask = await startFlask();
  let check, flaskRun, ferryRun, ferryBinary;
  try {
    check = await agreement(ferry.url, flask.url);
    const bad = check.filter((c) => c.ferry !== c.flask || c.ferry !== c.expected);
    if (bad.length) throw new Error(`the servers disagree: ${JSON.stringify(bad)}`);
    console.error(`both servers label all ${check.length} samples as expected`);
    // One server loaded at a time; the other sits idle.
    flaskRun = await quietly('flask', () => loadRun('flask', flask.url, flask.child.pid));
    ferryRun = await quietly('ferry', () => loadRun('ferry', ferry.url, ferry.child.pid));
    // Context: the same model over v2 binary tensors (no image preprocessing).
    ferryBinary = await quietly('ferry binary', () => loadRun('ferry-binary', ferry.url, ferry.child.pid, ['--protocol', 'binary', '--model', 'fashion']));
  } finally {
    await flask.child.stop();
    await ferry.child.stop();
  }
  console.error('engine: in-process single inference ...');
  const engine = await quietly('engine', async () => {
    const m = machineCpu();
    const r = await ferryBench(['--engine', ONNX, '--batch-sizes', '1', '--duration-s', '5', '--warmup-s', '1']);
    return { ...r, otherCpuPct: Math.max(0, m.stop() - r.processCpuPct) };
  });
  const single = engine.results[0];

  const rows = [];
  const concurrencies = opts.concurrency.split(',').map(Number);
  const ratios = [];
  for (const c of concurrencies) {
    const a = ferryRun.steps.find((s) => s.load.concurrency === c);
    const b = flaskRun.steps.find((s) => s.load.concurrency === c);
    const bin = ferryBinary.steps.find((s) => s.load.concurrency === c);
    for (const [name, s, run] of [['Flask (seed), /predict', b, flaskRun], ['ferry serve, /predict', a, ferryRun], ['ferry serve, v2 binary (context)', bin, ferryBinary]]) {
      rows.push([name, String(c), f(s.requestsPerS), f(s.latencyMs.p50, 2), f(s.latencyMs.p90, 2), f(s.latencyMs.p99, 2), String(Object.values(s.errors).reduce((x, y) => x + y, 0)), `${f(s.clientCpuPct, 0)}%`, `${f(run.otherCpuPct, 0)}%${run.noisy ? ' (noisy)' : ''}`]);
    }
    ratios.push({ concurrency: c, ferryRequestsPerS: a.requestsPerS, flaskRequestsPerS: b.requestsPerS, ferryOverFlask: Math.round((a.requestsPerS / b.requestsPerS) * 10) / 10 });
  }
  const c1 = ferryRun.steps.find((s) => s.load.concurrency === 1);
  const latency = c1 && {
    ferryP50Ms: c1.latencyMs.p50, ferryP99Ms: c1.latencyMs.p99, engineP50Ms: single.latencyMs.p50, engineP99Ms: single.latencyMs.p99,
    p99MinusEngineP50Ms: Math.round((c1.latencyMs.p99 - single.latencyMs.p50) * 1000) / 1000,
  };
  console.log(`\nFashion-MNIST CNN over the seed's /predict (multipart, 28x28x3 BGR blob), ${hw.cpu}, ${hw.cores} cores\n`);
  console.log(table(['server', 'clients', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'client cpu', 'other cpu'], rows));
  console.log('');
  for (const r of ratios) console.log(`${r.concurrency} client(s): ferry ${f(r.ferryRequestsPerS)} req/s vs Flask ${f(r.flaskRequestsPerS)} req/s = ${r.ferryOverFlask}x (target >= 10x)`);
  if (latency) console.log(`ferry p99 at 1 client ${f(latency.ferryP99Ms, 3)} ms vs in-process single inference p50 ${f(latency.engineP50Ms, 3)} ms (p99 ${f(latency.engineP99Ms, 3)} ms): +${f(latency.p99MinusEngineP50Ms, 3)} ms (target <= 1 ms)`);
  const file = writeResult('seed-flask', {
    benchmark: 'seed-flask',
    date: new Date().toISOString(),
    machine: hw,
    command: `node bench/seed-flask/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    settings: opts,
    agreement: check,
    flask: flaskRun,
    ferry: ferryRun,
    ferryBinary,
    engineSingle: engine,
    ratios,
    latency,
  });
  console.log(`\nwrote ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
