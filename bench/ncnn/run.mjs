// ncnn export benchmark: ferry's ncnn models against pnnx's (PyPI pnnx, from the traced
// TorchScript of the same weights), both fp16 weights, in the same ncnn runtime (PyPI ncnn),
// N threads, batch 1, the two interleaved round by round; ONNX Runtime (onnxruntime-node, same
// threads) on the .onnx for context; layer counts; cosine of each to ONNX Runtime. Then the
// default model int8 vs fp32 in ncnn (1 thread).
//
//   node bench/ncnn/run.mjs [--models resnet18,mobilenet_v2] [--rounds 5] [--runs 20] [--threads 2]
//
// Writes bench/results/ncnn.json. Needs .venv with ncnn and pnnx (.ci/run installs them) and
// Debian's torch for the zoo export (test/fixtures/pytorch/mobile_zoo.py, cached in .cache/).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { ROOT, PYTHON, flags, machine, requireBuild, table, writeResult, f, waitQuiet } from '../lib.mjs';

requireBuild();
const opts = flags(process.argv.slice(2), { models: 'resnet18,mobilenet_v2', rounds: 5, runs: 20, threads: 2 });
const { convertToNcnn } = await import('../../dist/targets/ncnn/convert.js');
const { runNcnn } = await import('../../dist/targets/ncnn/runtime.js');
const { parityInputs } = await import('../../dist/targets/ncnn/parity.js');

const CACHE = join(ROOT, '.cache/mobile-zoo');
const OUT = join(ROOT, '.cache/bench-ncnn');
mkdirSync(OUT, { recursive: true });
const PNNX = join(ROOT, '.venv/lib/python3.11/site-packages/pnnx/pnnx');
const models = opts.models.split(',');
const missing = models.filter((m) => !existsSync(join(CACHE, `${m}.pt`)));
if (missing.length) execFileSync(PYTHON, [join(ROOT, 'test/fixtures/pytorch/mobile_zoo.py'), CACHE, ...missing], { stdio: 'inherit' });

const layersOf = (param) => Number(readFileSync(param, 'utf8').split('\n')[1].split(' ')[0]);
const cosine = (a, b) => {
  let d = 0; let x = 0; let y = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; x += a[i] * a[i]; y += b[i] * b[i]; }
  return d / Math.sqrt(x * y);
};

const results = [];
for (const name of models) {
  const onnx = join(CACHE, `${name}.onnx`);
  const ferry = await convertToNcnn(onnx, join(OUT, `${name}.ferry`), { fp16: true, verify: false });
  execFileSync(PNNX, [join(CACHE, `${name}.pt`), 'inputshape=[1,3,224,224]', 'fp16=1',
    `ncnnparam=${join(OUT, `${name}.pnnx.param`)}`, `ncnnbin=${join(OUT, `${name}.pnnx.bin`)}`,
    `pnnxparam=${join(OUT, `${name}.pnnx.pnnx.param`)}`, `pnnxbin=${join(OUT, `${name}.pnnx.pnnx.bin`)}`,
    `pnnxpy=${join(OUT, `${name}_pnnx.py`)}`, `ncnnpy=${join(OUT, `${name}_ncnn.py`)}`, `pnnxonnx=${join(OUT, `${name}.pnnx.onnx`)}`], { stdio: 'ignore', cwd: OUT });
  const sides = {
    ferry: { param: ferry.param, bin: ferry.bin, inputs: ferry.inputs, outputs: ferry.outputs },
    pnnx: { param: join(OUT, `${name}.pnnx.param`), bin: join(OUT, `${name}.pnnx.bin`), inputs: [{ name: 'input', blob: 'in0', ncnnShape: [3, 224, 224] }], outputs: [{ name: 'logits', blob: 'out0', shape: [1, 1000] }] },
  };
  const [input] = parityInputs(ferry.inputs, 1, 7);
  // ONNX Runtime reference and speed
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: opts.threads, interOpNumThreads: 1 });
  const feeds = { input: new ort.Tensor('float32', input.get('input').data, [1, 3, 224, 224]) };
  const ref = (await session.run(feeds)).logits.data;
  const ortMs = [];
  const cos = {};
  const ms = { ferry: [], pnnx: [] };
  for (let round = 0; round < opts.rounds; round++) {
    await waitQuiet({ maxS: 30 });
    for (const side of round % 2 ? ['pnnx', 'ferry'] : ['ferry', 'pnnx']) {
      const r = await runNcnn([input], { ...sides[side], threads: opts.threads, fp16: true, benchRuns: opts.runs });
      ms[side].push(r.benchMs);
      cos[side] = cosine(r.outputs[0].get('logits').data, ref);
    }
    for (let i = 0; i < 2; i++) await session.run(feeds);
    const t0 = performance.now();
    for (let i = 0; i < opts.runs; i++) await session.run(feeds);
    ortMs.push((performance.now() - t0) / opts.runs);
  }
  await session.release();
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const row = {
    model: name,
    layers: { ferry: layersOf(sides.ferry.param), pnnx: layersOf(sides.pnnx.param) },
    imgPerS: { ferry: 1000 / median(ms.ferry), pnnx: 1000 / median(ms.pnnx), onnxruntime: 1000 / median(ortMs) },
    msPerRound: { ferry: ms.ferry, pnnx: ms.pnnx, onnxruntime: ortMs },
    ferryOverPnnx: median(ms.pnnx) / median(ms.ferry),
    cosineToOnnxRuntime: cos,
    binBytes: { ferry: ferry.binBytes, pnnx: Number(execFileSync('stat', ['-c', '%s', sides.pnnx.bin], { encoding: 'utf8' })) },
  };
  results.push(row);
  console.error(`${name}: ferry ${f(row.imgPerS.ferry)} img/s, pnnx ${f(row.imgPerS.pnnx)} img/s, ORT ${f(row.imgPerS.onnxruntime)} img/s`);
}

// int8 vs fp32 of the default model, 1 thread
const fashion = join(ROOT, 'examples/fashion/1/model.onnx');
const { writeFashionNpz } = await import('../../test/quantize/data.mjs');
writeFashionNpz(join(OUT, 'calib.npz'), 'train', 0, 1000);
const fp32 = await convertToNcnn(fashion, join(OUT, 'fashion.fp32'), { verify: false });
const int8 = await convertToNcnn(fashion, join(OUT, 'fashion.int8'), { verify: false, int8: { data: join(OUT, 'calib.npz') } });
const [fin] = parityInputs(fp32.inputs, 1, 3);
const speed = { fp32: [], int8: [] };
for (let round = 0; round < opts.rounds; round++) {
  for (const [k, r] of round % 2 ? [['int8', int8], ['fp32', fp32]] : [['fp32', fp32], ['int8', int8]]) {
    speed[k].push((await runNcnn([fin], { param: r.param, bin: r.bin, inputs: r.inputs, outputs: r.outputs, threads: 1, benchRuns: 500 })).benchMs);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const fashionRow = { fp32MsPerImg: med(speed.fp32), int8MsPerImg: med(speed.int8), int8OverFp32Speed: med(speed.fp32) / med(speed.int8), binBytes: { fp32: fp32.binBytes, int8: int8.binBytes } };

const result = {
  bench: 'ncnn', machine: machine(), uptime: execFileSync('uptime', { encoding: 'utf8' }).trim(),
  ncnn: (await import('../../dist/targets/ncnn/runtime.js')).findNcnnPython().version, options: opts, models: results, fashionInt8: fashionRow,
};
const file = writeResult('ncnn', result);
console.log(`CPU: ${result.machine.cpu}, ${result.machine.cores} cores; ${result.uptime}`);
console.log(table(['model', 'layers ferry', 'layers pnnx', 'ferry img/s', 'pnnx img/s', 'ferry/pnnx', 'ORT img/s', 'cos ferry', 'cos pnnx'], results.map((r) => [
  r.model, r.layers.ferry, r.layers.pnnx, f(r.imgPerS.ferry), f(r.imgPerS.pnnx), `${f(r.ferryOverPnnx, 3)}x`, f(r.imgPerS.onnxruntime), r.cosineToOnnxRuntime.ferry.toFixed(6), r.cosineToOnnxRuntime.pnnx.toFixed(6),
])));
console.log(`fashion in ncnn, 1 thread: fp32 ${f(fashionRow.fp32MsPerImg, 3)} ms/img, int8 ${f(fashionRow.int8MsPerImg, 3)} ms/img (int8 speed ${f(fashionRow.int8OverFp32Speed, 2)}x fp32); .bin ${fashionRow.binBytes.fp32} -> ${fashionRow.binBytes.int8} bytes`);
console.log(`wrote ${file}`);
