#!/usr/bin/env node
// Overload: the default (Fashion-MNIST) model behind a small queue. Finds the concurrency that
// saturates the server, then runs 4x that many clients for 60 s and reports whether completed
// throughput holds (target >= 85% of saturated), how fast the 503s come back, and the server's
// resident memory sampled every 2 s (it should stay flat). The clients retry at once after a 503
// (the worst case); a shorter second run has them wait 1 s after a 503, as Retry-After asks.
//
//   node bench/overload/run.mjs [--queue 16] [--protocol binary] [--overload-s 60]
//
// Prints a table and writes bench/results/overload.json.
import { join } from 'node:path';
import {
  ROOT, requireBuild, startFerry, ferryBench, sampler, cpuPct, machine, writeResult, table, f, flags, waitQuiet, machineCpu, modelStats, statsDelta, quietly,
} from '../lib.mjs';

const opts = flags(process.argv.slice(2), {
  queue: 16, protocol: 'binary', model: 'examples/fashion', name: 'fashion', input: 'examples/fashion/samples/0-ankle-boot.png',
  ladder: '1,2,4,8,16,32,64', refusalRate: '', stepS: 6, overloadS: 60, factor: 4, sampleEveryS: 2, saturation: 0.95, politeS: 30, politeBackoffMs: 1000,
});

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den ? num / den : 0;
}

function loadArgs(url) {
  const a = [url, '--protocol', opts.protocol];
  if (opts.protocol === 'json' || opts.protocol === 'binary' || opts.protocol === 'image') a.push('--model', opts.name);
  if (opts.protocol === 'image' || opts.protocol === 'predict') a.push('--input', join(ROOT, opts.input));
  return a;
}

async function main() {
  requireBuild();
  const hw = machine();
  const { url, child } = await startFerry(join(ROOT, opts.model), ['--max-queue-size', String(opts.queue), ...(opts.refusalRate !== '' ? ['--max-refusal-rate', String(opts.refusalRate)] : [])]);
  let ladder, overload, rss, serverCpu, machinePct, stats, polite;
  try {
    console.error(`saturation search: concurrency ${opts.ladder}, ${opts.stepS} s each ...`);
    ladder = await quietly('saturation search', async () => {
      const s = sampler(child.pid, 1000);
      const m = machineCpu();
      const r = await ferryBench([...loadArgs(url), '--concurrency', opts.ladder, '--duration-s', String(opts.stepS), '--warmup-s', '1']);
      const mp = m.stop();
      const samples = s.stop();
      return { steps: r.steps, otherCpuPct: Math.max(0, mp - cpuPct(samples[0], samples.at(-1)) - r.processCpuPct) };
    });
    const peak = Math.max(...ladder.steps.map((s) => s.requestsPerS));
    const sat = ladder.steps.find((s) => s.requestsPerS >= opts.saturation * peak);
    const clients = sat.load.concurrency * opts.factor;
    console.error(`saturated at ${sat.load.concurrency} clients (${f(sat.requestsPerS)} req/s, peak ${f(peak)}); overload: ${clients} clients for ${opts.overloadS} s ...`);
    overload = await quietly('overload', async () => {
      const s = sampler(child.pid, opts.sampleEveryS * 1000);
      const m = machineCpu();
      const before = await modelStats(url, opts.name);
      const r = await ferryBench([...loadArgs(url), '--concurrency', String(clients), '--duration-s', String(opts.overloadS), '--warmup-s', '2']);
      const st = statsDelta(before, await modelStats(url, opts.name));
      const mp = m.stop();
      const samples = s.stop();
      const sc = cpuPct(samples[0], samples.at(-1));
      return { step: r.steps[0], stats: st, machinePct: mp, samples, serverCpu: sc, otherCpuPct: Math.max(0, mp - sc - r.processCpuPct) };
    });
    ({ stats, machinePct, samples: rss, serverCpu } = overload);
    // The same clients, but each waits politeBackoffMs after a 503 (as Retry-After: 1 asks).
    if (opts.politeS > 0) {
      console.error(`polite overload: ${clients} clients waiting ${opts.politeBackoffMs} ms after a 503, ${opts.politeS} s ...`);
      polite = await quietly('polite overload', async () => {
        const s = sampler(child.pid, 1000);
        const m = machineCpu();
        const r = await ferryBench([...loadArgs(url), '--concurrency', String(clients), '--duration-s', String(opts.politeS), '--warmup-s', '2', '--backoff-ms', String(opts.politeBackoffMs)]);
        const mp = m.stop();
        const samples = s.stop();
        return { ...r.steps[0], otherCpuPct: Math.max(0, mp - cpuPct(samples[0], samples.at(-1)) - r.processCpuPct) };
      });
    }
    overload = { ...overload.step, saturatedConcurrency: sat.load.concurrency, saturatedRequestsPerS: sat.requestsPerS, peakRequestsPerS: peak, otherCpuPct: overload.otherCpuPct, noisy: overload.noisy ?? false, attempt: overload.attempt };
  } finally {
    await child.stop();
  }
  const held = overload.requestsPerS / overload.saturatedRequestsPerS;
  const after = rss.filter((x) => x.t >= 10);
  const rssSlope = slope(after.map((x) => x.t), after.map((x) => x.rssMiB)) * 60;
  // Median of the first and of the last 20 s of samples: robust to one GC's swing.
  const med = (xs) => { const v = xs.map((x) => x.rssMiB).sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
  const firstMedian = med(after.filter((x) => x.t < 30));
  const lastMedian = med(after.filter((x) => x.t >= after.at(-1).t - 20));

  const rows = ladder.steps.map((s) => [`c=${s.load.concurrency}`, f(s.requestsPerS), f(s.latencyMs.p50, 2), f(s.latencyMs.p99, 2), String(s.rejected), f(s.rejectLatencyMs.p99, 2)]);
  rows.push([`overload c=${overload.load.concurrency}, retry at once`, f(overload.requestsPerS), f(overload.latencyMs.p50, 2), f(overload.latencyMs.p99, 2), String(overload.rejected), f(overload.rejectLatencyMs.p99, 2)]);
  if (polite) rows.push([`overload c=${polite.load.concurrency}, ${opts.politeBackoffMs} ms backoff`, f(polite.requestsPerS), f(polite.latencyMs.p50, 2), f(polite.latencyMs.p99, 2), String(polite.rejected), f(polite.rejectLatencyMs.p99, 2)]);
  console.log(`\n${opts.name} over ${opts.protocol}, --max-queue-size ${opts.queue}, ${hw.cpu}, ${hw.cores} cores\n`);
  console.log(table(['load', 'ok req/s', 'ok p50 ms', 'ok p99 ms', '503s', '503 p99 ms'], rows));
  console.log(`\nsaturated at ${overload.saturatedConcurrency} clients: ${f(overload.saturatedRequestsPerS)} req/s; at ${overload.load.concurrency} clients for ${opts.overloadS} s: ${f(overload.requestsPerS)} req/s completed = ${f(held * 100)}% (target >= 85%)`);
  if (polite) console.log(`clients that wait ${opts.politeBackoffMs} ms after a 503: ${f(polite.requestsPerS)} req/s completed = ${f((polite.requestsPerS / overload.saturatedRequestsPerS) * 100)}% of saturated`);
  console.log(`503s: ${overload.rejected} (${f(overload.rejected / opts.overloadS)}/s), latency p50 ${f(overload.rejectLatencyMs.p50, 2)} ms, p99 ${f(overload.rejectLatencyMs.p99, 2)} ms, max ${f(overload.rejectLatencyMs.max, 2)} ms; other errors ${JSON.stringify(Object.fromEntries(Object.entries(overload.errors).filter(([k]) => k !== '503')))}`);
  console.log(`server RSS (MiB) every ${opts.sampleEveryS} s: ${rss.map((x) => x.rssMiB.toFixed(0)).join(' ')}`);
  console.log(`other processes used ${f(ladder.otherCpuPct, 0)}% (saturation search) and ${f(overload.otherCpuPct, 0)}% (overload) of a core meanwhile${ladder.noisy || overload.noisy ? ' (noisy)' : ''}`);
  console.log(`RSS first ${f(rss[0].rssMiB)} / last ${f(rss.at(-1).rssMiB)} / max ${f(Math.max(...rss.map((x) => x.rssMiB)))} MiB, slope after 10 s ${f(rssSlope, 2)} MiB/min, median 10-30 s ${f(firstMedian)} -> last 20 s ${f(lastMedian)} MiB; server cpu ${f(serverCpu, 0)}%, mean batch ${f(stats.meanBatch, 2)}`);
  const file = writeResult('overload', {
    benchmark: 'overload',
    date: new Date().toISOString(),
    machine: hw,
    command: `node bench/overload/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    settings: opts,
    ladder: ladder.steps,
    ladderOtherCpuPct: ladder.otherCpuPct,
    overload,
    completedOverSaturated: Math.round(held * 1000) / 1000,
    polite: polite ?? null,
    politeCompletedOverSaturated: polite ? Math.round((polite.requestsPerS / overload.saturatedRequestsPerS) * 1000) / 1000 : null,
    rss: { samples: rss.map((x) => ({ t: x.t, rssMiB: Math.round(x.rssMiB * 10) / 10 })), slopeMiBPerMin: Math.round(rssSlope * 100) / 100, medianFirstMiB: firstMedian, medianLastMiB: lastMedian },
    server: { cpuPct: serverCpu, machineCpuPct: machinePct, ...stats },
  });
  console.log(`\nwrote ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
