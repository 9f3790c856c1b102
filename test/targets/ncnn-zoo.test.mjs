// The shared suite of `ferry convert --to ncnn`: every model of the zoo (the default model,
// torchvision ResNet-18, MobileNetV2, SqueezeNet 1.1, ShuffleNetV2 with trained-like BatchNorm
// statistics, PaddleOCR det/rec/cls) is converted and run in the real ncnn runtime (PyPI ncnn)
// beside ONNX Runtime: fp32 cosine >= 0.9999 and max |diff| <= 1e-3 of the output range; fp16
// weights cosine >= 0.999 with a .bin at most 0.51x the fp32 one (0.515x for the small PaddleOCR
// classifier, whose fp32-only biases weigh more).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertToNcnn } from '../../dist/targets/ncnn/convert.js';
import { ensureTorchvisionZoo, ncnnSkip, zoo } from './helpers.mjs';

const skip = ncnnSkip();
let torchvisionSkip = false;
let dir;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-ncnn-zoo-'));
  if (!skip) torchvisionSkip = ensureTorchvisionZoo();
});
after(() => rm(dir, { recursive: true, force: true }));

for (const m of zoo()) {
  test(`ncnn zoo: ${m.name} fp32 and fp16 match ONNX Runtime in ncnn`, { skip }, async (t) => {
    if (m.torchvision && torchvisionSkip) return t.skip(torchvisionSkip);
    const trials = m.trials ? await m.trials() : undefined;
    const verify = { count: 2, ...(trials && { trials }) };
    const fp32 = await convertToNcnn(m.file, join(dir, m.name), { inputShapes: m.inputShapes, verify });
    assert.ok(fp32.parity, fp32.parityNote);
    assert.ok(fp32.parity.minCosine >= 0.9999, `${m.name} fp32 cosine ${fp32.parity.minCosine}`);
    assert.ok(fp32.parity.maxRelRange <= 1e-3, `${m.name} fp32 max |diff| / range ${fp32.parity.maxRelRange}`);
    assert.ok(fp32.parity.outputs.every((o) => o.top1Agree === fp32.parity.trials), JSON.stringify(fp32.parity.outputs));
    assert.ok(!fp32.layerTypes.some(([type]) => type === 'Noop'));
    const fp16 = await convertToNcnn(m.file, join(dir, `${m.name}-fp16`), { inputShapes: m.inputShapes, verify, fp16: true });
    assert.ok(fp16.parity.minCosine >= 0.999, `${m.name} fp16 cosine ${fp16.parity.minCosine}`);
    const ratio = (await stat(fp16.bin)).size / (await stat(fp32.bin)).size;
    // Biases, BatchNorm statistics and scales stay fp32: ncnn loads them untagged (load(n, 1)).
    // In the 0.6 MB PaddleOCR classifier they are 1.3 % of the weights, so its ratio is 0.513.
    assert.ok(ratio <= (m.name === 'ppocr-cls' ? 0.515 : 0.51), `${m.name} fp16 .bin is ${ratio.toFixed(3)}x the fp32 one`);
    assert.equal(fp16.layers, fp32.layers);
  });
}
