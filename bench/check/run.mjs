#!/usr/bin/env node
// check: how long `ferry check` takes on a ~50 MB model, against onnx.checker (Debian's python3-onnx)
// on the same file in the same run, and over the whole ONNX conformance suite.
//
//   node bench/check/run.mjs                 # ResNet-18 (46.7 MB), 7 rounds
//   node bench/check/run.mjs --rounds 3 --model path/to/model.onnx
//
// Measures, each as the median (and min) of --rounds runs after one warm-up run:
//   load            loadModel() (no external data verification: check stats the files itself)
//   check           checkModel() on the loaded model
//   load + check    checkModelFile(): what `ferry check` does in process
//   cli             `node dist/cli/main.js check MODEL`: the whole process, Node start-up included
//   onnx.checker    onnx.checker.check_model(path), timed inside Python (interpreter start excluded)
//   suite           checkModelFile() over every model of /usr/share/libonnx-testdata (when installed)
//   chain           checkModel() on a synthetic chain of --nodes nodes (graph-heavy rather than weight-heavy)
// Exports ResNet-18 first if bench/models/resnet18/1/model.onnx is missing. Writes bench/results/check.json.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, PYTHON, FERRY, machine, writeResult, table, f, flags, requireBuild, ensureResnet18, timeRuns } from '../lib.mjs';

const opts = flags(process.argv.slice(2), { rounds: 7, model: '', nodes: 50000 });
const MODEL = opts.model || join(ROOT, 'bench', 'models', 'resnet18', '1', 'model.onnx');
const SUITE = '/usr/share/libonnx-testdata/data';
requireBuild();
const io = await import(join(ROOT, 'dist', 'onnx', 'index.js'));
const { loadModel } = io;
const { checkModel, checkModelFile } = await import(join(ROOT, 'dist', 'onnx', 'check', 'index.js'));

ensureResnet18(MODEL);
const time = (fn, rounds = opts.rounds) => timeRuns(fn, rounds);

const bytes = statSync(MODEL).size;
process.stderr.write(`model ${MODEL} (${(bytes / 1e6).toFixed(1)} MB)\n`);
const model = await loadModel(MODEL, { verifyExternalData: false });
const report = checkModel(model);
if (!report.ok) throw new Error(`the benchmark model fails the check: ${report.errors[0].where}: ${report.errors[0].message}`);

const results = {
  load: await time(() => loadModel(MODEL, { verifyExternalData: false })),
  check: await time(() => checkModel(model)),
  loadAndCheck: await time(() => checkModelFile(MODEL)),
  cli: await time(() => execFileSync(process.execPath, [FERRY, 'check', MODEL], { encoding: 'utf8' }), Math.min(opts.rounds, 5)),
};

let python;
try {
  const script = `
import onnx, sys, time, json
path, rounds = sys.argv[1], int(sys.argv[2])
def t(fn):
    fn(); ms = []
    for _ in range(rounds):
        t0 = time.perf_counter(); fn(); ms.append((time.perf_counter() - t0) * 1000)
    ms.sort(); return {"medianMs": round(ms[len(ms) // 2], 2), "minMs": round(ms[0], 2), "runs": rounds}
m = onnx.load(path)
print(json.dumps({"version": onnx.__version__, "checkPath": t(lambda: onnx.checker.check_model(path)),
                  "loadAndCheck": t(lambda: onnx.checker.check_model(onnx.load(path))),
                  "checkFull": t(lambda: onnx.checker.check_model(m, full_check=True))}))`;
  python = JSON.parse(execFileSync(PYTHON, ['-c', script, MODEL, String(opts.rounds)], { encoding: 'utf8' }));
} catch (err) {
  python = { error: String(err.message).split('\n')[0] };
}

let suite;
if (existsSync(SUITE)) {
  const files = readdirSync(SUITE).flatMap((g) => readdirSync(join(SUITE, g)).map((t) => join(SUITE, g, t, 'model.onnx'))).filter(existsSync);
  let rejected = 0;
  const t0 = performance.now();
  for (const file of files) if (!(await checkModelFile(file)).ok) rejected++;
  suite = { models: files.length, rejected, totalMs: +(performance.now() - t0).toFixed(1) };
}

// A graph-heavy model: a chain of N Relu/Neg nodes with a small initializer every 100 nodes.
const N = opts.nodes;
const g = new io.Graph({ name: 'chain', inputs: [io.ValueInfo.tensor('v0', io.DataType.FLOAT, ['n'])], outputs: [io.ValueInfo.tensor(`v${N}`, io.DataType.FLOAT, ['n'])] });
for (let i = 0; i < N; i++) {
  if (i % 100 === 0) g.addInitializer(io.Tensor.fromArray({ name: `w${i}`, dims: [1], data: new Float32Array([i]) }));
  g.addNode({ opType: i % 100 === 0 ? 'Add' : i % 2 ? 'Relu' : 'Neg', name: `n${i}`, inputs: i % 100 === 0 ? [`v${i}`, `w${i}`] : [`v${i}`], outputs: [`v${i + 1}`] });
}
const chainModel = new io.Model({ graph: g });
if (!checkModel(chainModel).ok) throw new Error('the chain model fails the check');
const chain = { nodes: N, check: await time(() => checkModel(chainModel), 3) };

const rows = [
  ['load', f(results.load.medianMs), f(results.load.minMs)],
  ['check (loaded model)', f(results.check.medianMs, 2), f(results.check.minMs, 2)],
  ['load + check', f(results.loadAndCheck.medianMs), f(results.loadAndCheck.minMs)],
  ['ferry check (whole process)', f(results.cli.medianMs), f(results.cli.minMs)],
  [`onnx ${python.version ?? '?'} check_model(path)`, f(python.checkPath?.medianMs), f(python.checkPath?.minMs)],
  [`onnx ${python.version ?? '?'} load + check_model`, f(python.loadAndCheck?.medianMs), f(python.loadAndCheck?.minMs)],
  [`onnx ${python.version ?? '?'} check_model(full_check)`, f(python.checkFull?.medianMs), f(python.checkFull?.minMs)],
];
process.stdout.write(`\n${(bytes / 1e6).toFixed(1)} MB model, ${report.nodes} nodes; ms, ${opts.rounds} rounds\n${table(['step', 'median', 'min'], rows)}\n`);
process.stdout.write(`\n${N}-node chain: check ${f(chain.check.medianMs)} ms (median of 3)\n`);
if (suite) process.stdout.write(`\nconformance suite: ${suite.models} models checked in ${f(suite.totalMs, 0)} ms, ${suite.rejected} rejected\n`);

const file = writeResult('check', {
  benchmark: 'check',
  date: new Date().toISOString(),
  machine: machine(),
  command: `node bench/check/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  model: { path: MODEL.replace(`${ROOT}/`, ''), bytes, nodes: report.nodes, initializers: model.graph.initializers.size },
  ferry: results,
  onnxPython: python,
  suite,
  chain,
});
process.stdout.write(`\nwrote ${file}\n`);
