// ResNet-18 (torchvision, random weights) where bench/resnet18/export.py has made it
// (bench/models/resnet18/1/model.onnx, not in git): fp16 halves it and agrees at 0.999; static
// int8 fuses completely in ONNX Runtime (every Conv a QLinearConv, only the input's Quantize
// left). Speed is the benchmark's business (bench/quantize/run.mjs), not a test's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpz } from '../../dist/tensors/npy.js';
import { quantizeFile } from '../../dist/quantize/quantize.js';
import { rng } from './models.mjs';

const MODEL = process.env.FERRY_RESNET18 ?? fileURLToPath(new URL('../../bench/models/resnet18/1/model.onnx', import.meta.url));
const skip = existsSync(MODEL) ? false : `no ${MODEL}: /usr/bin/python3 bench/resnet18/export.py makes it`;

let dir;
before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'ferry-r18-'));
  const r = rng(11);
  const n = 12;
  await writeNpz(join(dir, 'calib.npz'), [['x', { datatype: 'FP32', shape: [n, 3, 224, 224], data: Float32Array.from({ length: n * 3 * 224 * 224 }, () => r() * 2) }]]);
});
after(() => dir && rm(dir, { recursive: true, force: true }));

test('resnet18 fp16: half the size, cosine >= 0.999', { skip }, async () => {
  const r = await quantizeFile(MODEL, join(dir, 'r18.fp16.onnx'), { mode: 'fp16', benchSeconds: 0 });
  assert.ok(r.size.ratio >= 1.99, `${r.size.ratio}`);
  assert.ok(r.agreement.minCosine >= 0.999, `cosine ${r.agreement.minCosine}`);
});

test('resnet18 int8: every convolution fused into QLinearConv, 4x smaller, outputs agree', { skip }, async () => {
  const r = await quantizeFile(MODEL, join(dir, 'r18.int8.onnx'), { mode: 'int8-static', calibrationData: join(dir, 'calib.npz'), benchSeconds: 0 });
  assert.equal(r.fusion.ops.QLinearConv, 20, JSON.stringify(r.fusion.ops));
  assert.equal(r.fusion.floatHeavyOps, 0);
  assert.ok(r.fusion.unfusedQdq <= 1);
  assert.ok(r.size.ratio > 3.9);
  assert.ok(r.agreement.minCosine >= 0.99, `cosine ${r.agreement.minCosine}`);
});
