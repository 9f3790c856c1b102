// The bundled Fashion-MNIST model: int8 calibrated on 500 training images keeps top-1 within 0.5
// points on the 10,000 test images at a third of the size; fp16 halves it and agrees at 0.999;
// image folders preprocessed by the model's config.yaml calibrate and evaluate; `ferry eval`.
// The data is made here, from the IDX files, in a temporary directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { quantizeFile } from '../../dist/quantize/quantize.js';
import { FASHION_DIR, writeFashionNpz, writeFashionPngs } from './data.mjs';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODEL = join(ROOT, 'examples', 'fashion', '1', 'model.onnx');
const FERRY = join(ROOT, 'dist', 'cli', 'main.js');
const haveData = existsSync(join(FASHION_DIR, 'train-images-idx3-ubyte.gz'));

let dir;
before(async () => {
  if (!haveData) return;
  dir = await mkdtemp(join(tmpdir(), 'ferry-fashion-'));
  writeFashionNpz(join(dir, 'calib.npz'), 'train', 0, 500);
  writeFashionNpz(join(dir, 'test.npz'), 'test', 0, 10_000);
  await writeFashionPngs(join(dir, 'calib-png'), 'train', 1000, 100);
  await writeFashionPngs(join(dir, 'test-png'), 'test', 0, 200);
});
after(() => dir && rm(dir, { recursive: true, force: true }));

const skip = haveData ? false : `no Fashion-MNIST at ${FASHION_DIR}`;

test('int8: 500 training images, at most 0.5 points of top-1 lost on the 10,000 test images, 3x smaller', { skip }, async () => {
  const out = join(dir, 'fashion.int8.onnx');
  const r = await quantizeFile(MODEL, out, {
    mode: 'int8-static', calibrationData: join(dir, 'calib.npz'), samples: 500, evalData: join(dir, 'test.npz'), benchSeconds: 0.2,
  });
  assert.equal(r.calibration.samples, 500);
  assert.equal(r.accuracy.samples, 10_000);
  assert.ok(r.accuracy.before > 0.91, `float top-1 ${r.accuracy.before}`);
  assert.ok(r.accuracy.dropPoints <= 0.5, `lost ${r.accuracy.dropPoints.toFixed(2)} points (${r.accuracy.before} -> ${r.accuracy.after})`);
  assert.ok(r.size.ratio >= 3, `only ${r.size.ratio.toFixed(2)}x smaller`);
  assert.equal(r.fusion.floatHeavyOps, 0, JSON.stringify(r.fusion.ops));
  assert.ok(r.agreement.minCosine >= 0.99);
  assert.equal(r.throughput.length, 2);
});

test('fp16: half the size, loads in ONNX Runtime, cosine >= 0.999 and the same top-1', { skip }, async () => {
  const out = join(dir, 'fashion.fp16.onnx');
  const r = await quantizeFile(MODEL, out, { mode: 'fp16', evalData: join(dir, 'test.npz'), benchSeconds: 0 });
  assert.ok(r.size.ratio >= 1.9, `${r.size.ratio.toFixed(2)}x`);
  assert.ok(r.agreement.minCosine >= 0.999, `cosine ${r.agreement.minCosine}`);
  assert.ok(Math.abs(r.accuracy.dropPoints) <= 0.1);
  const s = await ort.InferenceSession.create(out);
  assert.equal(s.inputMetadata[0].type, 'float32', 'float32 IO kept');
});

test('dynamic int8 keeps top-1', { skip }, async () => {
  const r = await quantizeFile(MODEL, join(dir, 'fashion.dyn.onnx'), { mode: 'int8-dynamic', evalData: join(dir, 'test.npz'), benchSeconds: 0 });
  assert.ok(r.accuracy.dropPoints <= 0.5);
  assert.ok(r.fusion.ops.DynamicQuantizeMatMul >= 1);
});

test('image folders: calibration and evaluation preprocessed by the model repository config.yaml', { skip }, async () => {
  const r = await quantizeFile(MODEL, join(dir, 'fashion.png.onnx'), {
    mode: 'int8-static', calibrationData: join(dir, 'calib-png'), evalData: join(dir, 'test-png'), benchSeconds: 0,
  });
  assert.match(r.calibration.data, /100 of 100 images .*fashion\/config\.yaml/);
  assert.equal(r.accuracy.samples, 200);
  assert.ok(r.accuracy.before > 0.85 && r.accuracy.dropPoints <= 2, JSON.stringify(r.accuracy));
});

test('ferry eval: class folders named by index or by label; --json', { skip }, async () => {
  await rename(join(dir, 'test-png', '9'), join(dir, 'test-png', 'ankle-boot'));
  await rename(join(dir, 'test-png', '0'), join(dir, 'test-png', 'T-shirt_top'));
  const { stdout } = await run(process.execPath, [FERRY, 'eval', join(ROOT, 'examples', 'fashion'), join(dir, 'test-png'), '--json']);
  const r = JSON.parse(stdout);
  assert.equal(r.samples, 200);
  assert.ok(r.top1 > 0.85, `top-1 ${r.top1}`);
  const text = (await run(process.execPath, [FERRY, 'eval', MODEL, join(dir, 'test.npz')])).stdout;
  assert.match(text, /top-1 92\.\d\d % \(\d+\/10000\)/);
});
