#!/usr/bin/env node
// resnet18: `ferry serve` against the in-process engine, measured in the same run.
//
//   node bench/resnet18/run.mjs            # engine at batch 1..16 (finds its best batch), then
//                                          # --rounds rounds of [engine at that batch, then
//                                          # `ferry serve` under 16 clients each sending one
//                                          # 3x224x224 image as binary v2]; ratio = median
//   node bench/resnet18/run.mjs --sweep    # the same for several batching/instance settings
//
// Each part waits for the machine to be idle first, and records the CPU used by everything else
// on the machine meanwhile ("other cpu"), since a shared machine skews single runs.
// Exports the model first if bench/models/resnet18/1/model.onnx is missing (Debian's python3-torch).
// Prints a table and writes bench/results/resnet18.json (resnet18-sweep.json with --sweep).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  ROOT, PYTHON, requireBuild, startFerry, ferryBench, sampler, cpuPct, machine, writeResult, table, f, flags, modelStats, statsDelta, waitQuiet, machineCpu, quietly,
} from '../lib.mjs';

const opts = flags(process.argv.slice(2), {
  durationS: 20, warmupS: 5, engineDurationS: 8, concurrency: 16, batchSizes: '1,2,4,8,16', rounds: 3, sweep: false, only: '',
});
const HERE = join(ROOT, 'bench', 'resnet18');
const MODEL_DIR = join(ROOT, 'bench', 'models', 'resnet18');
const ONNX = join(MODEL_DIR, '1', 'model.onnx');

/** Server settings tried by --sweep: config.yaml overrides. The first is the committed config. */
const ONE = { instance_group: { count: 1 }, dynamic_batching: { max_queue_delay_ms: 0 } }; // one session, intra-op threads = cores
const VARIANTS = [
  { name: '2inst-mbs8-delay15', config: {} },
  { name: '2inst-mbs8-delay0', config: { dynamic_batching: { max_queue_delay_ms: 0 } } },
  { name: '2inst-mbs8-delay5', config: { dynamic_batching: { max_queue_delay_ms: 5 } } },
  { name: '2inst-mbs4-delay15', config: { max_batch_size: 4 } },
  { name: '2inst-mbs4-delay0', config: { max_batch_size: 4, dynamic_batching: { max_queue_delay_ms: 0 } } },
  { name: '2inst-mbs16', config: { max_batch_size: 16, dynamic_batching: { max_queue_delay_ms: 0 } } },
  { name: '2inst-mbs8-nospin', config: { parameters: { allow_spinning: false } } },
  { name: 'mbs16-delay0', config: { ...ONE, max_batch_size: 16 } },
  { name: 'mbs16-delay2', config: { ...ONE, max_batch_size: 16, dynamic_batching: { max_queue_delay_ms: 2 } } },
  { name: 'mbs16-delay10', config: { ...ONE, max_batch_size: 16, dynamic_batching: { max_queue_delay_ms: 10 } } },
  { name: 'mbs8-delay0', config: { ...ONE } },
  { name: 'mbs4-delay0', config: { ...ONE, max_batch_size: 4 } },
  { name: 'mbs1', config: { ...ONE, max_batch_size: 1 } },
  { name: 'preferred8', config: { ...ONE, max_batch_size: 16, dynamic_batching: { max_queue_delay_ms: 0, preferred_batch_size: [8] } } },
  { name: 'nospin', config: { ...ONE, max_batch_size: 16, parameters: { allow_spinning: false } } },
];

function writeConfig(overrides) {
  const base = parse(readFileSync(join(HERE, 'config.yaml'), 'utf8'));
  const merged = { ...base, ...overrides, dynamic_batching: { ...base.dynamic_batching, ...overrides.dynamic_batching } };
  writeFileSync(join(MODEL_DIR, 'config.yaml'), stringify(merged));
  return merged;
}

async function serverRun(variant) {
  const config = writeConfig(variant.config);
  const { url, child } = await startFerry(MODEL_DIR);
  try {
    await waitQuiet();
    const s = sampler(child.pid, 1000);
    const m = machineCpu();
    const before = await modelStats(url, 'resnet18');
    const load = await ferryBench([url, '--model', 'resnet18', '--protocol', 'binary', '--batch', '1',
      '--concurrency', String(opts.concurrency), '--duration-s', String(opts.durationS), '--warmup-s', String(opts.warmupS)]);
    const after = await modelStats(url, 'resnet18');
    const machinePct = m.stop();
    const samples = s.stop();
    const step = load.steps[0];
    const serverPct = cpuPct(samples[0], samples.at(-1));
    return {
      variant: variant.name,
      config: { max_batch_size: config.max_batch_size, dynamic_batching: config.dynamic_batching, instance_group: config.instance_group, parameters: config.parameters },
      load: step,
      server: { ...statsDelta(before, after), cpuPct: serverPct, peakRssMiB: Math.max(...samples.map((x) => x.rssMiB)) },
      // CPU of everything else on the machine during the step (noise), % of one core.
      otherCpuPct: Math.max(0, machinePct - serverPct - load.processCpuPct),
    };
  } finally {
    await child.stop();
  }
}

async function engineRun(batchSizes, durationS) {
  await waitQuiet();
  const m = machineCpu();
  const r = await ferryBench(['--engine', ONNX, '--batch-sizes', batchSizes, '--duration-s', String(durationS), '--warmup-s', '2']);
  r.machineCpuPct = m.stop();
  r.otherCpuPct = Math.max(0, r.machineCpuPct - r.processCpuPct);
  return r;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main() {
  requireBuild();
  if (!existsSync(ONNX)) execFileSync(PYTHON, [join(HERE, 'export.py'), '--out', ONNX], { stdio: 'inherit' });
  const hw = machine();
  console.error(`engine: in-process InferenceSession at batch ${opts.batchSizes} ...`);
  const sweep = await quietly('engine sweep', () => engineRun(opts.batchSizes, opts.engineDurationS));
  const best = sweep.best;
  const variants = (opts.sweep ? VARIANTS : VARIANTS.slice(0, 1)).filter((x) => !opts.only || opts.only.split(',').includes(x.name));
  // Rounds of (engine at its best batch, then the server), so both see the same machine.
  const runs = [];
  for (let round = 1; round <= opts.rounds; round++) {
    for (const v of variants) {
      console.error(`round ${round}: engine at batch ${best.batch}, then server ${v.name} under ${opts.concurrency} clients ...`);
      runs.push(await quietly(`round ${round} ${v.name}`, async () => {
        const engine = await engineRun(String(best.batch), opts.engineDurationS);
        const server = await serverRun(v);
        return {
          round, ...server, engineAtBest: engine.best, engineOtherCpuPct: engine.otherCpuPct, serverOtherCpuPct: server.otherCpuPct,
          otherCpuPct: Math.max(engine.otherCpuPct, server.otherCpuPct), ratio: server.load.inferencesPerS / engine.best.inferencesPerS,
        };
      }));
    }
  }
  writeConfig({});

  const rows = sweep.results.map((r) => [`engine, batch ${r.batch}`, f(r.inferencesPerS), f(r.latencyMs.p50, 2), f(r.latencyMs.p99, 2), '', '', '', `${f(sweep.otherCpuPct, 0)}%`]);
  for (const r of runs) {
    rows.push([`round ${r.round}: engine, batch ${best.batch}`, f(r.engineAtBest.inferencesPerS), f(r.engineAtBest.latencyMs.p50, 2), f(r.engineAtBest.latencyMs.p99, 2), '', '', '', `${f(r.engineOtherCpuPct, 0)}%`]);
    rows.push([`round ${r.round}: ferry serve ${r.variant}, c=${opts.concurrency}`, f(r.load.inferencesPerS), f(r.load.latencyMs.p50, 2), f(r.load.latencyMs.p99, 2),
      f(r.server.meanBatch, 2), `${f(r.ratio * 100, 1)}%`, `${f(r.load.clientCpuPct, 0)}%`, `${f(r.serverOtherCpuPct, 0)}%${r.noisy ? ' (noisy)' : ''}`]);
  }
  console.log(`\nresnet18, 3x224x224 FP32, ${hw.cpu}, ${hw.cores} cores\n`);
  console.log(table(['run', 'infer/s', 'p50 ms', 'p99 ms', 'mean batch', 'server/engine', 'client cpu', 'other cpu'], rows));
  const summary = variants.map((v) => {
    const mine = runs.filter((r) => r.variant === v.name);
    return { variant: v.name, medianRatio: median(mine.map((r) => r.ratio)), medianServerInferencesPerS: median(mine.map((r) => r.load.inferencesPerS)), medianEngineInferencesPerS: median(mine.map((r) => r.engineAtBest.inferencesPerS)) };
  });
  console.log('');
  for (const s of summary) console.log(`${s.variant}: server ${f(s.medianServerInferencesPerS)} / engine ${f(s.medianEngineInferencesPerS)} inferences/s, median ratio over ${opts.rounds} rounds ${(s.medianRatio * 100).toFixed(1)}% (target >= 90%)`);
  for (const r of runs) {
    const per = r.server.byBatch.map((b) => `b${b.batchSize}: ${b.runs} runs, input ${f(b.inputMs, 2)} + run ${f(b.inferMs, 2)} + output ${f(b.outputMs, 3)} ms`).join('; ');
    console.log(`  round ${r.round} ${r.variant}: server cpu ${f(r.server.cpuPct, 0)}%, queue ${f(r.server.queueMsPerRequest, 1)} ms/request; ${per}`);
  }
  const file = writeResult(opts.sweep ? 'resnet18-sweep' : 'resnet18', {
    benchmark: 'resnet18',
    date: new Date().toISOString(),
    machine: hw,
    command: `node bench/resnet18/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    settings: opts,
    engineSweep: sweep,
    runs,
    summary,
  });
  console.log(`\nwrote ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
