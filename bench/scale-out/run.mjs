#!/usr/bin/env node
// Scale-out on one machine: throughput through HAProxy in front of 2 replicas (deploy/local/up.sh,
// each with cores/2 intra-op threads) against one replica direct (all cores), the default
// Fashion-MNIST model, 16 clients. Interleaved rounds (A B, B A, ...) in one run, each measured
// with `ferry bench` (binary v2) and wrk (JSON v2); reports the ratio per round and the median.
// Target: through HAProxy >= 0.9 x direct (the load balancer costs little).
//
//   node bench/scale-out/run.mjs [--rounds 3] [--duration-s 10] [--concurrency 16]
//
// Prints a table and writes bench/results/scale-out.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, requireBuild, startFerry, ferryBench, machine, writeResult, table, f, flags, freePort, waitQuiet, machineCpu } from '../lib.mjs';

const opts = flags(process.argv.slice(2), { rounds: 3, durationS: 10, warmupS: 2, concurrency: 16, wrk: true });
const LOCAL = join(ROOT, 'deploy', 'local');

function sh(script, args) {
  const r = spawnSync('bash', [join(LOCAL, script), ...args], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stderr;
}

/** wrk -t1 -cC -dD with post.lua; requests/s, and errors (non-2xx, socket errors). */
function wrk(url) {
  const out = execFileSync('wrk', ['-t1', `-c${opts.concurrency}`, `-d${opts.durationS}s`, '--latency', '-s', join(ROOT, 'bench', 'scale-out', 'post.lua'), url], { encoding: 'utf8' });
  const num = (re) => Number(re.exec(out)?.[1] ?? 0);
  const errors = num(/Non-2xx or 3xx responses: (\d+)/) + num(/Socket errors: connect (\d+)/) + num(/read (\d+), write/) + num(/timeout (\d+)/);
  return { requestsPerS: num(/Requests\/sec:\s+([\d.]+)/), p99Ms: parseLatency(/99%\s+([\d.]+)(us|ms|s)/.exec(out)), errors };
}
function parseLatency(m) {
  if (!m) return NaN;
  return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 }[m[2]]);
}

async function measure(label, url) {
  const cpu = machineCpu();
  const fb = await ferryBench([url, '--model', 'fashion', '--protocol', 'binary', '--concurrency', String(opts.concurrency), '--duration-s', String(opts.durationS), '--warmup-s', String(opts.warmupS)]);
  const step = fb.steps[0];
  const out = { label, ferryBench: { requestsPerS: step.requestsPerS, p99Ms: step.latencyMs.p99, errors: Object.values(step.errors).reduce((a, b) => a + b, 0) + step.rejected } };
  if (opts.wrk) out.wrk = wrk(url);
  out.machineCpuPct = cpu.stop();
  return out;
}

async function main() {
  requireBuild();
  const hw = machine();
  const cores = hw.cores;
  const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  console.error(`${hw.cpu}, ${cores} cores; ${uptime}`);
  console.error(execFileSync('sh', ['-c', "grep -m1 '^flags' /proc/cpuinfo | cut -c1-200"], { encoding: 'utf8' }).trim());
  const direct = await startFerry(join(ROOT, 'examples', 'fashion'), ['--threads', String(cores)]);
  const lbPort = await freePort();
  let rounds = [];
  try {
    sh('up.sh', ['--replicas', '2', '--port', String(lbPort)]);
    const lb = `http://127.0.0.1:${lbPort}`;
    const waited = await waitQuiet({ maxS: 60 });
    console.error(waited < 0 ? 'the machine is not quiet (other users): the ratios are interleaved to cancel that out' : `quiet after ${waited} s`);
    for (let i = 0; i < opts.rounds; i++) {
      const order = i % 2 === 0 ? [['direct', direct.url], ['haproxy', lb]] : [['haproxy', lb], ['direct', direct.url]];
      const got = {};
      for (const [label, url] of order) {
        console.error(`round ${i + 1}/${opts.rounds}: ${label} ...`);
        got[label] = await measure(label, url);
      }
      rounds.push(got);
    }
  } finally {
    await direct.child.stop();
    try { sh('down.sh', []); } catch (err) { console.error(err.message); }
  }
  const median = (xs) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2; };
  const tools = opts.wrk ? ['ferryBench', 'wrk'] : ['ferryBench'];
  const rows = [];
  const summary = {};
  for (const tool of tools) {
    const ratios = rounds.map((r) => r.haproxy[tool].requestsPerS / r.direct[tool].requestsPerS);
    summary[tool] = { medianRatio: Math.round(median(ratios) * 1000) / 1000, ratios: ratios.map((x) => Math.round(x * 1000) / 1000) };
    rounds.forEach((r, i) => rows.push([tool === 'ferryBench' ? 'ferry bench (binary)' : 'wrk (JSON)', String(i + 1), f(r.direct[tool].requestsPerS), f(r.haproxy[tool].requestsPerS), f(ratios[i], 3), f(r.direct[tool].p99Ms, 1), f(r.haproxy[tool].p99Ms, 1), String(r.direct[tool].errors + r.haproxy[tool].errors)]));
  }
  console.log(`\nFashion-MNIST, ${opts.concurrency} clients: 1 replica direct (--threads ${cores}) vs HAProxy + 2 replicas (--threads ${Math.max(1, cores / 2)} each); ${hw.cpu}, ${cores} cores\n`);
  console.log(table(['tool', 'round', 'direct req/s', 'haproxy req/s', 'ratio', 'direct p99 ms', 'haproxy p99 ms', 'errors'], rows));
  for (const tool of tools) console.log(`${tool}: median ratio through HAProxy / direct = ${f(summary[tool].medianRatio, 3)} (target >= 0.9)`);
  const file = writeResult('scale-out', {
    benchmark: 'scale-out',
    date: new Date().toISOString(),
    machine: { ...hw, uptime },
    command: `node bench/scale-out/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    settings: opts,
    rounds,
    summary,
  });
  console.log(`\nwrote ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
