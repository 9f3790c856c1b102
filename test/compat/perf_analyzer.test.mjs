// Triton's perf_analyzer, unchanged, against a real ferry server over HTTP: a short run per
// model must finish with exit 0, report client throughput for every concurrency asked, and read
// ferry's statistics for the server-side breakdown.
//
// The binary: $PERF_ANALYZER, else .venv/perf-analyzer/bin/perf_analyzer, else perf_analyzer on
// PATH; skipped, with the reason, where none exists. The PyPI package "perf-analyzer" (0.1.0) is
// an empty placeholder; the binary ships inside the tritonclient wheels up to 2.54 (2.55 on need
// glibc 2.38). On Debian 12 (no root needed):
//   .venv/bin/pip install --no-deps --target .venv/perf-analyzer tritonclient==2.51.0 nvidia-cuda-runtime-cu12
//   (cd /tmp && apt-get download libb64-0d) && dpkg-deb -x /tmp/libb64-0d_*.deb /tmp/libb64 &&
//     mkdir -p .venv/perf-analyzer/lib && cp /tmp/libb64/usr/lib/x86_64-linux-gnu/libb64.so.0d .venv/perf-analyzer/lib/
// (or, as root, apt-get install -y libb64-0d instead of the last two lines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { startServer } from '../../dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bundled = path.join(root, '.venv/perf-analyzer/bin/perf_analyzer');
// Shared libraries the bundled binary needs, kept beside it: libcudart.so.12 from the
// nvidia-cuda-runtime-cu12 wheel (linked even without a GPU), libb64.so.0d copied into lib/.
const libDirs = ['.venv/perf-analyzer/nvidia/cuda_runtime/lib', '.venv/perf-analyzer/lib'].map((d) => path.join(root, d)).filter((d) => existsSync(d));

function findBinary() {
  if (process.env.PERF_ANALYZER) return process.env.PERF_ANALYZER;
  if (existsSync(bundled)) return bundled;
  const which = spawnSync('sh', ['-c', 'command -v perf_analyzer'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

const env = { ...process.env };
if (libDirs.length > 0) env.LD_LIBRARY_PATH = [...libDirs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');

function run(cmd, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

// Short windows; a stability band this wide accepts the first three windows, so a noisy CI
// machine cannot turn the run into perf_analyzer's exit 2 ("failed to obtain stable measurement").
const QUICK = ['--measurement-interval', '500', '--stability-percentage', '999', '--max-trials', '5'];

const RUNS = [
  { name: 'scale, sync, concurrency 1 and 2', args: ['-m', 'scale', '--concurrency-range', '1:2'], levels: [1, 2] },
  { name: 'dyn with --shape, batch 4', args: ['-m', 'dyn', '--shape', 'x:5', '-b', '4'], levels: [1] },
  { name: 'types (INT64, UINT8, BOOL, FP16), batch 2', args: ['-m', 'types', '-b', '2'], levels: [1] },
  { name: 'scale, async, concurrency 4', args: ['-m', 'scale', '--async', '--concurrency-range', '4'], levels: [4] },
];

test('perf_analyzer works unchanged against ferry', async (t) => {
  const binary = findBinary();
  if (!binary) {
    t.skip('no perf_analyzer binary: set PERF_ANALYZER, or install it into .venv/perf-analyzer as the header of test/compat/perf_analyzer.test.mjs says');
    return;
  }
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8', env, timeout: 30_000 });
  assert.ok(probe.status === 0 && /Perf Analyzer/i.test(probe.stdout + probe.stderr),
    `${binary} is there but does not run: exit ${probe.status}\n${probe.stderr || probe.error?.message || probe.stdout}`);
  t.diagnostic(`${binary}: ${(probe.stdout + probe.stderr).trim().split('\n')[0]}`);

  const server = await startServer({ modelPath: path.join(root, 'test/fixtures/models'), port: 0, logLevel: 'silent' });
  const hostPort = new URL(server.url).host;
  try {
    for (const r of RUNS) {
      await t.test(r.name, async () => {
        const args = [...r.args, '-u', hostPort, '-i', 'http', ...QUICK];
        const { code, signal, output } = await run(binary, args, 60_000);
        const shown = `perf_analyzer ${args.join(' ')}\n${output}`;
        assert.equal(signal, null, `killed (${signal}) after 60 s:\n${shown}`);
        assert.equal(code, 0, `exit ${code}:\n${shown}`);
        const seen = new Map([...output.matchAll(/^Concurrency: (\d+), throughput: ([\d.]+) infer\/sec/gm)].map((m) => [Number(m[1]), Number(m[2])]));
        for (const level of r.levels) {
          assert.ok((seen.get(level) ?? 0) > 0, `no throughput reported for concurrency ${level}:\n${shown}`);
        }
        // The "Server:" block comes from ferry's statistics extension (GET /v2/models/{m}/versions/{v}/stats).
        const served = [...output.matchAll(/Successful request count: (\d+)/g)].map((m) => Number(m[1]));
        assert.ok(served.length === r.levels.length && served.every((n) => n > 0), `no server-side statistics in the report:\n${shown}`);
        assert.doesNotMatch(output, /error|failed/i, `perf_analyzer reported a problem:\n${shown}`);
      });
    }
  } finally {
    await server.close();
  }
});
