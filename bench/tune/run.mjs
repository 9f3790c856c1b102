#!/usr/bin/env node
// `ferry tune` on ResNet-18 and on the default Fashion model, as BENCHMARKS.md reports it.
//
//   node bench/tune/run.mjs                     # both models, ferry tune's defaults + --seconds
//   node bench/tune/run.mjs --only resnet18 --seconds 10 --exhaustive
//
// ResNet-18 is tuned from bench/resnet18/config.yaml (the hand-tuned config: 2 instances x 1
// thread, max batch 8, delay 15 ms), copied with the model into a temporary model folder, so the
// "as configured" row is that config measured in the same run. Fashion is tuned from
// examples/fashion as it ships (nothing is written to either). Each waits (at most --wait-s) for
// the machine to be idle first, and ferry tune records the CPU other processes used at each point
// (the machine is shared). Prints the CPU model and flags and `uptime` before and after each run;
// writes bench/results/tune-<model>.json (ferry tune --json, plus the machine) and prints the
// tables as markdown for BENCHMARKS.md.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, FERRY, requireBuild, ensureResnet18, machine, writeResult, flags, f, waitQuiet } from '../lib.mjs';

const opts = flags(process.argv.slice(2), { only: '', seconds: 5, warmupS: 2, concurrency: 16, exhaustive: false, waitS: 300 });

function cpuFlags() {
  try {
    return /Flags:\s*(.+)/.exec(execFileSync('lscpu', { encoding: 'utf8' }))?.[1]?.trim() ?? '';
  } catch {
    return readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:\s*(.+)$/m)?.[1] ?? '';
  }
}

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

/** `ferry tune ARGS --json`, progress passed through to stderr. */
function tune(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FERRY, 'tune', ...args, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`ferry tune ${args.join(' ')} exited ${code}`))));
  });
}

/** The model folder ResNet-18 is tuned from: the hand-tuned config beside a link to the exported model. */
function resnetFolder() {
  const onnx = join(ROOT, 'bench', 'models', 'resnet18', '1', 'model.onnx');
  ensureResnet18(onnx);
  const dir = join(mkdtempSync(join(tmpdir(), 'ferry-tune-bench-')), 'resnet18');
  mkdirSync(join(dir, '1'), { recursive: true });
  symlinkSync(onnx, join(dir, '1', 'model.onnx'));
  copyFileSync(join(ROOT, 'bench', 'resnet18', 'config.yaml'), join(dir, 'config.yaml'));
  return dir;
}

const wantedFlags = ['avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx_vnni', 'amx_tile'];

function markdown(name, j, command) {
  const other = (x) => (x.otherCpuPct === null || x.otherCpuPct === undefined ? '' : `${f(x.otherCpuPct, 0)} %`);
  const ratio = (x) => (x.ceilingRatio === null || x.ceilingRatio === undefined ? '' : f(x.ceilingRatio, 2));
  const rows = [
    `| as configured | ${j.baseline.instances} | ${j.baseline.threads ?? 'default'} | ${j.baseline.maxBatchSize} | ${j.baseline.maxQueueDelayMs} | ${f(j.baseline.inferencesPerS)} | ${f(j.baseline.p50Ms, 1)} | ${f(j.baseline.p99Ms, 1)} | ${f(j.baseline.meanBatch, 2)} | ${ratio(j.baseline)} | ${other(j.baseline)} |${j.best?.from === 'baseline' ? ' **best** |' : ' |'}`,
    ...j.rows.filter((r) => r.status !== 'skipped').map((r) => {
      const best = j.best?.from === 'grid' && j.best.instances === r.instances && j.best.threads === r.threads && j.best.maxBatchSize === r.maxBatchSize && j.best.maxQueueDelayMs === r.maxQueueDelayMs;
      const b = (s) => (best ? `**${s}**` : s);
      return `| ${r.stage}${r.status === 'failed' ? ' (failed)' : ''} | ${r.instances} | ${r.threads} | ${r.maxBatchSize} | ${r.maxQueueDelayMs} | ${b(f(r.inferencesPerS))} | ${f(r.p50Ms, 1)} | ${f(r.p99Ms, 1)} | ${f(r.meanBatch, 2)} | ${ratio(r)} | ${other(r)} |${best ? ' **best** |' : ' |'}`;
    }),
  ];
  const skipped = j.rows.filter((r) => r.status === 'skipped').length;
  return [
    `### ${name}`,
    '',
    '```',
    command,
    '```',
    '',
    '| stage | instances | threads | max batch | delay ms | infer/s | p50 ms | p99 ms | mean batch | / ceiling | other cpu | |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
    `${j.rows.length - skipped} of ${j.rows.length} grid points measured (${skipped} skipped), ${f(j.elapsedS, 0)} s; in-process ceiling ${j.ceiling ? `${f(j.ceiling.inferencesPerS)} infer/s at batch ${j.ceiling.batch} (${j.ceiling.results.map((c) => `${c.batch}: ${f(c.inferencesPerS)}`).join(', ')})` : j.ceilingNote}.`,
    `Load average ${j.machine.loadAverageStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${j.machine.loadAverageEnd.map((x) => x.toFixed(2)).join(' ')} at the end.`,
    '',
  ].join('\n');
}

async function main() {
  requireBuild();
  const hw = { ...machine(), cpuFlags: cpuFlags() };
  console.error(`${hw.cpu}, ${hw.cores} cores; flags: ${wantedFlags.filter((x) => hw.cpuFlags.split(' ').includes(x)).join(' ')}`);
  const common = ['--seconds', String(opts.seconds), '--warmup-s', String(opts.warmupS), '--concurrency', String(opts.concurrency), ...(opts.exhaustive ? ['--exhaustive'] : [])];
  const models = [
    { name: 'resnet18', path: () => resnetFolder(), shown: 'bench/models/resnet18 (with bench/resnet18/config.yaml)' },
    { name: 'fashion', path: () => join(ROOT, 'examples', 'fashion'), shown: 'examples/fashion' },
  ].filter((m) => !opts.only || opts.only.split(',').includes(m.name));
  const out = [];
  for (const m of models) {
    const path = m.path();
    const waited = await waitQuiet({ maxS: opts.waitS });
    if (waited < 0) console.error(`the machine did not get quiet in ${opts.waitS} s: measuring anyway (see other cpu)`);
    const before = uptime();
    console.error(`\n== ferry tune ${m.shown} ${common.join(' ')}  (${before})`);
    try {
      const j = await tune([path, ...common]);
      const after = uptime();
      const result = { ...j, path: m.shown, uptimeBefore: before, uptimeAfter: after, host: hw };
      writeResult(`tune-${m.name}`, result);
      out.push(markdown(m.name, j, `ferry tune ${m.shown} ${common.join(' ')}`) + `\`uptime\` before: \`${before}\`; after: \`${after}\`.\n`);
      out.push(`Best config:\n\n\`\`\`yaml\n${j.config}\`\`\`\n`);
    } finally {
      if (m.name === 'resnet18') rmSync(join(path, '..'), { recursive: true, force: true });
    }
  }
  process.stdout.write(`CPU: ${hw.cpu}, ${hw.cores} cores, flags: ${wantedFlags.filter((x) => hw.cpuFlags.split(' ').includes(x)).join(' ')}\n\n${out.join('\n')}`);
}

main().catch((err) => {
  console.error(err.message);
  process.exitCode = 1;
});
