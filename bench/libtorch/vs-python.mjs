#!/usr/bin/env node
// ferry's libtorch engine in process against Debian's torch from Python (TorchServe's runtime) on
// the same TorchScript file, the same batch, workers and threads, in ABBA order (engine, Python,
// Python, engine, ...) so that a machine whose speed drifts favours neither: each pair's ratio is
// taken from adjacent runs, and the median of the pairs is reported.
//
//   node bench/libtorch/vs-python.mjs [--pairs 6] [--batch 8] [--duration-s 8] [--instances 2] [--threads 1]
//
// Needs bench/models/resnet18-ts (node bench/libtorch/run.mjs makes it). Writes
// bench/results/libtorch-vs-python.json.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, PYTHON, requireBuild, ferryBench, machine, writeResult, table, f, flags } from '../lib.mjs';

requireBuild();
const opts = flags(process.argv.slice(2), { pairs: 6, batch: 8, durationS: 8, instances: 2, threads: 1 });
const PT = join(ROOT, 'bench', 'models', 'resnet18-ts', '1', 'model.pt');
if (!existsSync(PT)) {
  console.error(`${PT} is missing: node bench/libtorch/run.mjs exports it`);
  process.exit(1);
}
const m = machine();
console.log(`${m.cpu}, ${m.cores} cores, flags ${m.cpuFlags.join(' ')}; load average ${m.loadAverageAtStart.join(' ')}`);
console.log(`ResNet-18 TorchScript, batch ${opts.batch}, ${opts.instances} x ${opts.threads} thread(s), ${opts.durationS} s a run, ABBA order\n`);

async function engine() {
  const r = await ferryBench(['--engine', PT, '--instances', String(opts.instances), '--threads', String(opts.threads),
    '--batch-sizes', String(opts.batch), '--duration-s', String(opts.durationS), '--warmup-s', '3']);
  return r.best.inferencesPerS;
}

function python() {
  const out = execFileSync(PYTHON, [join(ROOT, 'bench', 'libtorch', 'torch_python.py'), PT, '--batch', String(opts.batch), '--workers', String(opts.instances),
    '--threads', String(opts.threads), '--duration-s', String(opts.durationS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
  return JSON.parse(out.trim().split('\n').at(-1)).inferencesPerS;
}

const pairs = [];
for (let i = 0; i < opts.pairs; i++) {
  const order = i % 2 === 0 ? ['engine', 'python'] : ['python', 'engine'];
  const got = {};
  for (const which of order) {
    got[which] = which === 'engine' ? await engine() : python();
    console.error(`pair ${i + 1}: ${which} ${f(got[which])} infer/s`);
  }
  pairs.push({ order: order.join(' then '), engine: got.engine, python: got.python, ratio: got.engine / got.python });
}
const sorted = pairs.map((p) => p.ratio).sort((a, b) => a - b);
const median = sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
console.log(table(['pair', 'order', 'engine infer/s', 'Python infer/s', 'engine / Python'],
  pairs.map((p, i) => [String(i + 1), p.order, f(p.engine), f(p.python), `${f(p.ratio, 3)}x`])));
console.log(`\nmedian engine / Python torch: ${f(median, 3)}x (target >= 1.0)`);
writeResult('libtorch-vs-python', { machine: m, settings: opts, pairs, medianRatio: median });
