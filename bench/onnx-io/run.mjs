#!/usr/bin/env node
// onnx-io: how fast ferry reads and writes ONNX files, against ONNX's own Python package (onnx.load /
// onnx.save, C++ protobuf underneath) on the same files in the same run.
//
//   node bench/onnx-io/run.mjs                  # ResNet-18 (46.7 MB), 7 rounds each
//   node bench/onnx-io/run.mjs --rounds 3 --nodes 50000
//
// Measures, each as the median (and min) of --rounds runs in this process after one warm-up run:
//   load          loadModel(): read the file, decode the protobuf, build the IR (no tensor is decoded)
//   load+data     load, then read every initializer's data() (the typed arrays a pass would use)
//   encode        encodeModel(): the whole file as one Buffer
//   save          saveModel() inline, to a temp folder
//   save external saveModel() with every tensor over 1 KiB in a data file
//   python load / save   onnx.load / onnx.save (Debian's python3-onnx), timed inside Python
// and, for graph-heavy models, a synthetic chain of --nodes nodes: decode, topologicalSort (shuffled), encode.
// Exports ResNet-18 first if bench/models/resnet18/1/model.onnx is missing. Writes bench/results/onnx-io.json.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, PYTHON, machine, writeResult, table, f, flags, ensureResnet18, timeRuns } from '../lib.mjs';

const opts = flags(process.argv.slice(2), { rounds: 7, nodes: 50000, model: '' });
const MODEL = opts.model || join(ROOT, 'bench', 'models', 'resnet18', '1', 'model.onnx');
const io = await import(join(ROOT, 'dist', 'onnx', 'index.js')).catch(() => {
  throw new Error('dist/ is missing: run `npx tsc -p .` first');
});

ensureResnet18(MODEL);
const time = (fn, rounds = opts.rounds) => timeRuns(fn, rounds);

const dir = mkdtempSync(join(tmpdir(), 'ferry-onnx-io-'));
const results = {};
try {
  const bytes = statSync(MODEL).size;
  process.stderr.write(`model ${MODEL} (${(bytes / 1e6).toFixed(1)} MB)\n`);
  const model = await io.loadModel(MODEL);
  results.load = await time(() => io.loadModel(MODEL));
  results.loadAndData = await time(async () => {
    const m = await io.loadModel(MODEL);
    for (const t of m.graph.initializers.values()) t.data();
  });
  results.encode = await time(() => io.encodeModel(model));
  results.save = await time(() => io.saveModel(model, join(dir, 'inline.onnx')));
  results.saveExternal = await time(() => io.saveModel(model, join(dir, 'ext.onnx'), { externalData: { location: 'ext.data' } }));
  const identical = Buffer.from(io.encodeModel(model)).equals((await import('node:fs')).readFileSync(MODEL));

  // ONNX's Python package on the same file, timed inside Python (interpreter start excluded).
  let python;
  try {
    const script = `
import onnx, sys, time, json
path, out, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def t(fn):
    fn(); ms = []
    for _ in range(rounds):
        t0 = time.perf_counter(); fn(); ms.append((time.perf_counter() - t0) * 1000)
    ms.sort(); return {"medianMs": round(ms[len(ms) // 2], 2), "minMs": round(ms[0], 2), "runs": rounds}
m = onnx.load(path)
print(json.dumps({"version": onnx.__version__, "load": t(lambda: onnx.load(path)), "save": t(lambda: onnx.save(m, out))}))`;
    python = JSON.parse(execFileSync(PYTHON, ['-c', script, MODEL, join(dir, 'py.onnx'), String(opts.rounds)], { encoding: 'utf8' }));
  } catch (err) {
    python = { error: String(err.message).split('\n')[0] };
  }

  // A graph-heavy model: a chain of N Relu/Neg nodes with a small initializer every 100 nodes.
  const N = opts.nodes;
  const g = new io.Graph({ name: 'chain', inputs: [io.ValueInfo.tensor('v0', io.DataType.FLOAT, ['n'])], outputs: [io.ValueInfo.tensor(`v${N}`, io.DataType.FLOAT, ['n'])] });
  for (let i = 0; i < N; i++) {
    if (i % 100 === 0) g.addInitializer(io.Tensor.fromArray({ name: `w${i}`, dims: [1], data: new Float32Array([i]) }));
    g.addNode({ opType: i % 100 === 0 ? 'Add' : i % 2 ? 'Relu' : 'Neg', name: `n${i}`, inputs: i % 100 === 0 ? [`v${i}`, `w${i}`] : [`v${i}`], outputs: [`v${i + 1}`] });
  }
  const chainBytes = io.encodeModel(new io.Model({ graph: g }));
  const decodeChain = await time(() => io.decodeModel(chainBytes), 3);
  const shuffled = io.decodeModel(chainBytes);
  const order = [...shuffled.graph.nodes];
  for (const n of order) shuffled.graph.removeNode(n);
  for (let i = order.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const n of order) shuffled.graph.addNode(n);
  const t0 = performance.now();
  shuffled.graph.topologicalSort();
  const sortMs = +(performance.now() - t0).toFixed(2);
  const encodeChain = await time(() => io.encodeModel(shuffled), 3);

  const rows = [
    ['load', f(results.load.medianMs), f(results.load.minMs), f(python.load?.medianMs)],
    ['load + data() of every initializer', f(results.loadAndData.medianMs), f(results.loadAndData.minMs), '-'],
    ['encode (one Buffer)', f(results.encode.medianMs), f(results.encode.minMs), '-'],
    ['save inline', f(results.save.medianMs), f(results.save.minMs), f(python.save?.medianMs)],
    ['save, external data', f(results.saveExternal.medianMs), f(results.saveExternal.minMs), '-'],
  ];
  process.stdout.write(`\n${(bytes / 1e6).toFixed(1)} MB model (${model.graph.nodes.length} nodes, ${model.graph.initializers.size} initializers); ms, ${opts.rounds} rounds\n`);
  process.stdout.write(`${table(['step', 'ferry median', 'ferry min', `onnx ${python.version ?? '(python)'} median`], rows)}\n`);
  process.stdout.write(`saved file identical to the input: ${identical}\n`);
  process.stdout.write(`\n${N}-node chain (${(chainBytes.length / 1e6).toFixed(1)} MB): decode ${f(decodeChain.medianMs)} ms, topologicalSort of a shuffled order ${f(sortMs)} ms, encode ${f(encodeChain.medianMs)} ms\n`);

  const file = writeResult('onnx-io', {
    benchmark: 'onnx-io',
    date: new Date().toISOString(),
    machine: machine(),
    command: `node bench/onnx-io/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    model: { path: MODEL.replace(`${ROOT}/`, ''), bytes, nodes: model.graph.nodes.length, initializers: model.graph.initializers.size },
    ferry: results,
    savedIdenticalToInput: identical,
    onnxPython: python,
    chain: { nodes: N, bytes: chainBytes.length, decode: decodeChain, topologicalSortShuffledMs: sortMs, encode: encodeChain },
  });
  process.stdout.write(`\nwrote ${file}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
