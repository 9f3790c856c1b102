// `ferry tune` end to end, with tiny sweeps (half a second a point) on the real server: the grid
// asked is covered exactly, placements fit the cores, the config written loads in `ferry serve`
// with the winning values, the table and JSON have their shape, and bad flags are refused in one
// line before anything is measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FASHION, FIXTURES, ferry, get, serveProcess } from '../helpers.mjs';

const CORES = availableParallelism();
// no second measurement of points the other work on a shared machine disturbed: tests check shapes, not figures
const QUICK = ['--seconds', '0.3', '--warmup-s', '0.1', '--noisy-retries', '0'];

/** One line on stderr, ending in [CODE], no stack; and quickly (nothing was measured). */
function oneLine(r, code) {
  assert.equal(r.code, 1, r.err);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.err}`);
  assert.match(lines[0], new RegExp(`^ferry tune: .*\\[${code}\\]$`));
  assert.doesNotMatch(r.err, /\n\s+at |node:internal/);
}

async function tempCopy(t, from, name) {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-tune-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(from, join(dir, name), { recursive: true });
  return join(dir, name);
}

const key = (p) => `${p.instances}x${p.threads}/b${p.maxBatchSize}/d${p.maxQueueDelayMs}`;

test('exhaustive sweep: exactly the grid asked within the cores, JSON shape, and --write gives a config ferry serve loads with the winning values', async (t) => {
  const dir = await tempCopy(t, join(FIXTURES, 'scale'), 'scale');
  const r = await ferry(['tune', dir, '--instances', '1,2', '--threads', '1,2', '--max-batch-sizes', '4', '--delays-ms', '0,2', '--exhaustive', '--json', '--write', ...QUICK]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  // the grid
  const asked = [];
  for (const i of [1, 2]) for (const th of [1, 2]) for (const b of [4]) for (const d of [0, 2]) if (i * th <= CORES) asked.push(key({ instances: i, threads: th, maxBatchSize: b, maxQueueDelayMs: d }));
  assert.deepEqual(j.rows.map(key), asked);
  assert.deepEqual(j.grid.leftOut, [[1, 2], [2, 1], [2, 2]].filter(([i, th]) => i * th > CORES).map(([instances, threads]) => ({ instances, threads })));
  for (const row of j.rows) {
    assert.ok(row.instances * row.threads <= CORES);
    assert.equal(row.status, 'measured', JSON.stringify(row));
    assert.equal(row.stage, 'grid');
    assert.ok(row.inferencesPerS > 0 && row.p99Ms >= row.p50Ms && row.p50Ms > 0, JSON.stringify(row));
    assert.equal(row.errors, 0);
    assert.ok(row.meanBatch >= 1 && row.meanBatch <= row.maxBatchSize, JSON.stringify(row));
    assert.ok(row.ceilingRatio > 0);
    assert.ok(row.otherCpuPct >= 0, 'other processes\' CPU during the window (Linux)');
  }
  // the reference figures
  assert.deepEqual(Object.keys(j.machine), ['cpu', 'cores', 'loadAverageStart', 'loadAverageEnd']);
  assert.equal(j.machine.cores, CORES);
  assert.deepEqual(j.load, { concurrency: 16, durationS: 0.3, warmupS: 0.1, protocol: 'binary', rowsPerRequest: 1 });
  assert.equal(j.noisyRetries, 0);
  assert.equal(j.baseline.maxBatchSize, 32); // a bare model folder: the server's default
  assert.ok(j.baseline.inferencesPerS > 0);
  assert.deepEqual(j.ceiling.results.map((c) => c.batch), [4]);
  assert.ok(j.ceiling.inferencesPerS > 0);
  // the best: the measured row (or the baseline) with the most inferences/s
  const candidates = [...j.rows.filter((x) => x.status === 'measured'), j.baseline];
  const top = Math.max(...candidates.map((x) => x.inferencesPerS));
  assert.equal(j.best.inferencesPerS, top);
  // the config, written in place, as the server reads it
  const file = join(dir, 'config.yaml');
  assert.equal(j.written, file);
  const text = await readFile(file, 'utf8');
  assert.equal(text, j.config);
  assert.match(text, /^# ferry tune, /);
  const server = await serveProcess([dir]);
  try {
    const c = (await get(`${server.url}/v2/models/scale/config`)).json;
    assert.equal(c.instance_group[0].count, j.best.instances);
    assert.equal(c.max_batch_size, j.best.maxBatchSize);
    assert.equal(c.dynamic_batching.max_queue_delay_microseconds, j.best.maxQueueDelayMs * 1000);
    if (j.best.threads !== null) assert.deepEqual(c.parameters.intra_op_threads, { string_value: String(j.best.threads) });
  } finally {
    server.child.kill('SIGKILL');
  }
});

test('the default model: the table on stdout, the config printed (not written) with its image block and labels, progress on stderr', async (t) => {
  const dir = await tempCopy(t, FASHION, 'fashion');
  const before = await readFile(join(dir, 'config.yaml'), 'utf8');
  const r = await ferry(['tune', dir, '--instances', '1', '--threads', '1', '--max-batch-sizes', '2,8', '--delays-ms', '0', ...QUICK]);
  assert.equal(r.code, 0, r.err);
  assert.equal(await readFile(join(dir, 'config.yaml'), 'utf8'), before, 'nothing written without -o or --write');
  const [tableText, rest] = r.out.split('\nin-process ceiling: ');
  const lines = tableText.trimEnd().split('\n');
  assert.match(lines[0], /^\s+stage\s+instances\s+threads\s+max batch\s+delay ms\s+infer\/s\s+p50 ms\s+p99 ms\s+mean batch\s+errors\s+\/ ceiling\s+other cpu$/);
  assert.match(lines[2], /^\s+as configured\s+1\s+1\s+64\s+0\s+[\d.]+/);
  assert.equal(lines.length, 2 + 1 + 2);
  assert.equal(lines.filter((l) => /best$/.test(l)).length, 1);
  assert.match(rest, /^[\d.]+ infer\/s at batch (2|8) \(one session/);
  assert.match(rest, /\n2 of 2 grid points measured/);
  assert.match(rest, /\nmachine: .+, \d+ cores; load average/);
  assert.match(rest, /\nbest throughput: .*infer\/s, p99 [\d.]+ ms, [\d.]+ of the ceiling/);
  assert.match(rest, /not written: --write puts it in .*config\.yaml, -o FILE elsewhere/);
  const config = rest.slice(rest.indexOf('# ferry tune'));
  const raw = parse(config);
  assert.equal(raw.image.width, 28);
  assert.equal(raw.output[0].label_filename, 'labels.txt');
  assert.ok([2, 8, 64].includes(raw.max_batch_size));
  assert.match(config, /# Product photos are a dark object on a light ground/);
  // progress: one line per point on stderr
  assert.match(r.err, /as configured \(1 x 1 thread, max batch 64, delay 0 ms\): [\d.]+ infer\/s/);
  assert.match(r.err, /1 x 1 thread, max batch 2, delay 0 ms \(batch\): /);
});

test('a repository and a model name; -o writes elsewhere; a staged sweep leaves a reason on every point it skips', async (t) => {
  const dir = await tempCopy(t, FIXTURES, 'models');
  const out = join(dir, 'tuned.yaml');
  const r = await ferry(['tune', dir, 'scale', '--instances', '1', '--threads', '1', '--max-batch-sizes', '1,4', '--delays-ms', '0,1', '--json', '-o', out, ...QUICK]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.model, 'scale');
  assert.equal(j.written, out);
  assert.deepEqual(j.rows.map(key), ['1x1/b1/d0', '1x1/b1/d1', '1x1/b4/d0', '1x1/b4/d1']);
  assert.equal(j.rows[0].stage, 'batch');
  assert.equal(j.rows[1].status, 'skipped');
  assert.match(j.rows[1].reason, /^same server as 1 x 1 thread, max batch 1, delay 0 ms: a max batch of 1 never waits for a fuller batch$/);
  assert.equal(j.rows[2].stage, 'placement');
  for (const row of j.rows) {
    if (row.status === 'skipped') assert.ok(row.reason);
    else assert.ok(['placement', 'batch', 'delay'].includes(row.stage));
  }
  assert.equal(parse(await readFile(out, 'utf8')).name, 'scale');
  await assert.rejects(stat(join(dir, 'models', 'scale', 'config.yaml')));
});

test('bad flags: one line, [BAD_FLAG], nothing measured', async () => {
  const scale = join(FIXTURES, 'scale');
  const file = join(scale, '1', 'model.onnx');
  const cases = [
    [['tune'], /give the model/],
    [['tune', scale, '--objective', 'fast'], /--objective must be throughput or p99 \(got "fast"\)/],
    [['tune', scale, '--threads', '0'], /--threads must be an integer >= 1 \(got "0"\)/],
    [['tune', scale, '--delays-ms=-1'], /--delays-ms must be a number >= 0/],
    [['tune', scale, '--seconds', '0'], /--seconds must be a number >= 0.1/],
    [['tune', scale, '--max-batch-sizes', ''], /--max-batch-sizes needs at least one value/],
    [['tune', scale, '--instances', String(CORES + 1), '--threads', '1'], new RegExp(`no pair of --instances ${CORES + 1} and --threads 1 fits the ${CORES} cores`)],
    [['tune', scale, '-o', 'x.yaml', '--write'], /give -o FILE or --write, not both/],
    [['tune', file, '--write'], /--write writes a model folder's config; .* is a file: give -o FILE/],
    [['tune', scale, '-o', '/nonexistent-dir/x.yaml'], /the folder \/nonexistent-dir does not exist/],
    [['tune', scale, '--concurency', '4'], /unknown option --concurency; did you mean --concurrency\?/],
    [['tune', FIXTURES], /is a model repository of 5 models \(dyn, fixed, matpow, scale, types\): name the one to tune/],
    [['tune', scale, 'other'], /is the folder of model "scale": give no model name after it/],
  ];
  for (const [args, message] of cases) {
    const r = await ferry(args);
    oneLine(r, 'BAD_FLAG');
    assert.match(r.err, message, args.join(' '));
  }
});

test('a model without a batch axis refuses batch flags; an unmeetable --max-p99-ms is TUNE_FAILED after the table', async () => {
  const r = await ferry(['tune', join(FIXTURES, 'fixed'), '--max-batch-sizes', '4']);
  oneLine(r, 'BAD_FLAG');
  assert.match(r.err, /model "fixed" takes no batch axis \(max_batch_size 0\): drop --max-batch-sizes and --delays-ms/);
  const missing = await ferry(['tune', join(FIXTURES, 'nope')]);
  oneLine(missing, 'MODEL_LOAD_FAILED');

  const slow = await ferry(['tune', join(FIXTURES, 'fixed'), '--instances', '1', '--threads', '1', '--max-p99-ms', '0.001', ...QUICK]);
  assert.equal(slow.code, 1);
  assert.match(slow.err.trimEnd().split('\n').at(-1), /^ferry tune: no point of the sweep had p99 <= --max-p99-ms 0.001 \(the lowest was [\d.]+ ms\): raise it, or lower --concurrency \[TUNE_FAILED\]$/);
  assert.match(slow.out, /\n\s+placement\s+1\s+1\s+0\s+-\s+[\d.]+/);
  assert.doesNotMatch(slow.out, /best/);
});

test('--help lists every flag the command takes, and ferry --help lists the command', async () => {
  const r = await ferry(['tune', '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['--concurrency', '--seconds', '--warmup-s', '--instances', '--threads', '--max-batch-sizes', '--delays-ms', '--objective',
    '--max-p99-ms', '--exhaustive', '--shape', '--seed', '--noisy-retries', '--output', '-o,', '--write', '--json']) assert.ok(r.out.includes(flag), flag);
  const top = await ferry(['--help']);
  assert.match(top.out, /\n {2}tune {5}sweep instances x threads x max batch x delay under load/);
});

test('a bare .onnx file: measured with the server\'s auto-defaults, a new config printed with the model\'s name', async () => {
  const r = await ferry(['tune', join(FIXTURES, 'scale', '1', 'model.onnx'), '--instances', '1', '--threads', '1', '--max-batch-sizes', '2', '--delays-ms', '0', '--json', ...QUICK]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.model, 'model');
  // no config: the server's auto-defaults chose (a light model: one single-threaded instance)
  assert.equal(j.baseline.threads, 1, 'no config: the threads the auto-defaults chose');
  assert.equal(j.baseline.instances, 1);
  assert.equal(j.written, null);
  const raw = parse(j.config);
  assert.equal(raw.name, 'model');
  assert.deepEqual(raw.instance_group, [{ kind: 'KIND_CPU', count: j.best.instances }]);
  assert.equal(raw.max_batch_size, j.best.maxBatchSize);
});

test('a point measured while another process keeps a core busy is measured again, and the table says it was noisy', async (t) => {
  const { tuneModel } = await import('../../dist/tune/tune.js');
  const { tuneText } = await import('../../dist/tune/report.js');
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  t.after(() => hog.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 300));
  const lines = [];
  const report = await tuneModel({
    modelPath: join(FIXTURES, 'scale'), instances: [1], threads: [1], maxBatchSizes: [2], delaysMs: [0], durationS: 0.3, warmupS: 0.1,
    noisyRetries: 1, quietWaitS: 0, ceiling: false, onPoint: (line) => lines.push(line),
  });
  assert.equal(lines.filter((l) => /^ {2}other processes used \d+% of a core meanwhile: measuring .* again$/.test(l)).length, 2, lines.join('\n'));
  assert.ok(report.baseline.result.otherCpuPct > 25, `the busy loop takes most of a core: ${report.baseline.result.otherCpuPct}`);
  const text = tuneText(report);
  assert.match(text, /\n2 points were measured while other processes used more than 25% of a core \(other cpu\), even measured again/);
  assert.match(text, /in-process ceiling not measured \(ceiling off\)/);
});
