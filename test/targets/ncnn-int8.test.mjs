// int8 ncnn export of the default model, calibrated on Fashion-MNIST training images (PNG class
// folders, preprocessed as examples/fashion/config.yaml says), judged on the whole test set in
// the real ncnn runtime: top-1 drops at most 0.5 points from the fp32 ncnn model. The table is
// in ncnn2table's format and names the layers of the .param.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertToNcnn } from '../../dist/targets/ncnn/convert.js';
import { parseTable } from '../../dist/targets/ncnn/int8/table.js';
import { runNcnn } from '../../dist/targets/ncnn/runtime.js';
import { readNpz } from '../../dist/tensors/npy.js';
import { FASHION_DIR, writeFashionNpz, writeFashionPngs } from '../quantize/data.mjs';
import { FASHION_MODEL, ncnnSkip } from './helpers.mjs';

const skip = ncnnSkip() || (!existsSync(FASHION_DIR) && `no Fashion-MNIST in ${FASHION_DIR} (apt-get install dataset-fashion-mnist)`);
let dir;
before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'ferry-ncnn-int8-'));
  await writeFashionPngs(join(dir, 'calib'), 'train', 0, 500);
  writeFashionNpz(join(dir, 'test.npz'), 't10k', 0, 10000);
});
after(() => dir && rm(dir, { recursive: true, force: true }));

async function top1(report, data) {
  const x = data.get('x');
  const labels = data.get('labels').data;
  const r = await runNcnn([new Map([['input', x]])], { param: report.param, bin: report.bin, inputs: report.inputs, outputs: report.outputs, stacked: true });
  const y = r.outputs[0].get('logits').data;
  let ok = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (y[i * 10 + k] > y[i * 10 + best]) best = k;
    if (best === Number(labels[i])) ok++;
  }
  return { top1: (100 * ok) / labels.length, ms: r.ms[0] };
}

test('fashion int8 (KL): top-1 within 0.5 points of fp32 on the 10k test set, in ncnn', { skip }, async (t) => {
  const fp32 = await convertToNcnn(FASHION_MODEL, join(dir, 'fp32'), { verify: false });
  const int8 = await convertToNcnn(FASHION_MODEL, join(dir, 'int8'), { int8: { data: join(dir, 'calib') } });
  assert.equal(int8.storage, 'int8');
  assert.equal(int8.int8.quantized, 5);
  assert.ok(int8.parity.minCosine >= 0.99, `int8 cosine on calibration samples ${int8.parity.minCosine}`);
  assert.ok((await stat(int8.bin)).size < 0.3 * (await stat(fp32.bin)).size);
  const data = await readNpz(join(dir, 'test.npz'));
  const a = await top1(fp32, data);
  const b = await top1(int8, data);
  assert.ok(a.top1 > 90, `fp32 top-1 ${a.top1}`);
  t.diagnostic(`top-1 fp32 ${a.top1.toFixed(2)} % (${a.ms.toFixed(3)} ms/img), int8 ${b.top1.toFixed(2)} % (${b.ms.toFixed(3)} ms/img)`);
  assert.ok(a.top1 - b.top1 <= 0.5, `int8 top-1 ${b.top1} vs fp32 ${a.top1}`);
  // the table names the .param's layers, and those layers are int8 in the .param
  const table = parseTable(await readFile(int8.table, 'utf8'));
  const param = await readFile(int8.param, 'utf8');
  for (const [layer, s] of table) {
    const line = param.split('\n').find((l) => l.split(/\s+/)[1] === layer);
    assert.ok(line, `table layer ${layer} is in the .param`);
    assert.match(line, / 8=[12]( |$)/);
    assert.ok(s.bottomScale > 0 && s.weightScales.length > 0);
  }
});
