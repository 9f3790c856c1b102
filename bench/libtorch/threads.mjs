#!/usr/bin/env node
// libtorch threads: what at::set_num_threads does per instance in Debian's build (GNU OpenMP), and
// what OpenMP's wait policy costs on shared cores. Each setting runs in its own process (libgomp
// reads its environment once, when libtorch loads).
//
//   node bench/libtorch/threads.mjs [--runs 20]
//
// 1. per-thread counts: two engines in one process, 1 and 2 intra-op threads; each instance's
//    thread reports at::get_num_threads() as it runs (after the other engine has set its own).
// 2. ms per run of ResNet-18 (batch 1) and the Fashion model's TorchScript twin (batch 8), one
//    instance with 1 or 2 intra-op threads, under OMP_WAIT_POLICY=PASSIVE (ferry's default),
//    GOMP_SPINCOUNT=300000 (libgomp's default when no policy is set) and ACTIVE.
// Writes bench/results/libtorch-threads.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, PYTHON, requireBuild, machine, writeResult, table, f, flags, waitQuiet } from '../lib.mjs';

const opts = flags(process.argv.slice(2), { runs: 20 });
const RESNET = join(ROOT, 'bench', 'models', 'resnet18-ts', '1', 'model.pt');
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

// The child: one engine, `runs` timed runs after warm-up; prints JSON.
const CHILD = `
import { createEngine } from ${JSON.stringify(join(ROOT, 'dist', 'engines', 'registry.js'))};
const [model, threads, batch, runs, dims] = process.argv.slice(1);
const shape = [Number(batch), ...dims.split(',').map(Number)];
const n = shape.reduce((a, b) => a * b, 1);
const e = await createEngine('pytorch', { modelPath: model, parameters: { intra_op_threads: Number(threads) } });
const input = () => ({ input: { datatype: 'FP32', shape, data: new Float32Array(n).fill(0.5) } });
for (let i = 0; i < 2; i++) await e.run(input());
const ms = [];
for (let i = 0; i < Number(runs); i++) ms.push((await e.run(input())).computeMs);
ms.sort((a, b) => a - b);
console.log(JSON.stringify({ p50: ms[Math.floor(ms.length / 2)], min: ms[0], threadsInUse: e.intraOpThreadsInUse[0], policy: process.env.OMP_WAIT_POLICY ?? null }));
await e.dispose();
`;

// Two engines in one process: the per-thread counts.
const PAIR = `
import { createEngine } from ${JSON.stringify(join(ROOT, 'dist', 'engines', 'registry.js'))};
const model = process.argv[1];
const x = () => ({ input: { datatype: 'FP32', shape: [1, 1, 28, 28], data: new Float32Array(784) } });
const one = await createEngine('pytorch', { modelPath: model, parameters: { intra_op_threads: 1 } });
const two = await createEngine('pytorch', { modelPath: model, parameters: { intra_op_threads: 2 } });
await Promise.all([one.run(x()), two.run(x()), one.run(x()), two.run(x())]);
console.log(JSON.stringify({ oneEngine: one.intraOpThreadsInUse, twoEngine: two.intraOpThreadsInUse }));
await Promise.all([one.dispose(), two.dispose()]);
`;

function child(script, args, env) {
  const clean = { ...process.env };
  delete clean.OMP_WAIT_POLICY;
  delete clean.GOMP_SPINCOUNT;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, ...args], { encoding: 'utf8', env: { ...clean, ...env } }).trim().split('\n').at(-1));
}

async function main() {
  requireBuild();
  if (!existsSync(RESNET)) execFileSync(PYTHON, [join(ROOT, 'bench', 'libtorch', 'export.py'), '--out', RESNET], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'ferry-threads-'));
  const fashion = join(dir, 'fashion.pt');
  execFileSync(PYTHON, [join(ROOT, 'examples', 'fashion', 'to_torchscript.py'), '--out', fashion], { stdio: ['ignore', 'ignore', 'inherit'] });
  const hw = machine();
  const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  try {
    const pair = child(PAIR, [fashion], {});
    const policies = [
      ['PASSIVE (ferry\'s default)', { OMP_WAIT_POLICY: 'PASSIVE' }],
      ['libgomp default (spin, then sleep)', { GOMP_SPINCOUNT: '300000' }],
      ['ACTIVE', { OMP_WAIT_POLICY: 'ACTIVE' }],
    ];
    const models = [['resnet18, batch 1', RESNET, 1, '3,224,224'], ['fashion, batch 8', fashion, 8, '1,28,28']];
    const rows = [];
    const results = [];
    for (const [label, model, batch, dims] of models) {
      for (const [policy, env] of policies) {
        for (const threads of [1, 2]) {
          await waitQuiet({ maxS: 60 });
          const la = loadavg();
          const r = child(CHILD, [model, String(threads), String(batch), String(opts.runs), dims], env);
          results.push({ model: label, policy, threads, ...r, loadavg: la });
          rows.push([label, policy, String(threads), String(r.threadsInUse), f(r.p50, 2), f(r.min, 2), la.join(' ')]);
          console.error(`${label}, ${policy}, ${threads} thread(s): p50 ${f(r.p50, 2)} ms`);
        }
      }
    }
    console.log(`\n${hw.cpu}, ${hw.cores} cores; ${uptime}\n`);
    console.log(`two engines in one process, intra_op_threads 1 and 2: each instance's thread reports ${JSON.stringify(pair.oneEngine)} and ${JSON.stringify(pair.twoEngine)}\n`);
    console.log(table(['model', 'OpenMP wait', 'threads', 'at::get_num_threads', 'p50 ms', 'min ms', 'load average'], rows));
    const file = writeResult('libtorch-threads', { benchmark: 'libtorch-threads', date: new Date().toISOString(), machine: hw, uptime, command: `node bench/libtorch/threads.mjs ${process.argv.slice(2).join(' ')}`.trim(), pair, results });
    console.log(`\nwrote ${file}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
