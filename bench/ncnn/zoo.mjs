// The zoo parity table of `ferry convert --to ncnn`: each model at fp32 and fp16 in the real ncnn
// runtime against ONNX Runtime (the inputs of test/targets/ncnn-zoo.test.mjs: random normal, or
// rendered text for PaddleOCR), with layer counts and the fp16 .bin ratio.
//
//   node bench/ncnn/zoo.mjs            -> bench/results/ncnn-zoo.json
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, machine, requireBuild, table, writeResult } from '../lib.mjs';

requireBuild();
const { convertToNcnn } = await import('../../dist/targets/ncnn/convert.js');
const { ensureTorchvisionZoo, zoo } = await import('../../test/targets/helpers.mjs');
const why = ensureTorchvisionZoo();
if (why) throw new Error(why);
const OUT = join(ROOT, '.cache/bench-ncnn-zoo');
mkdirSync(OUT, { recursive: true });
const rows = [];
for (const m of zoo()) {
  const trials = m.trials ? await m.trials() : undefined;
  const verify = { count: 3, ...(trials && { trials }) };
  const fp32 = await convertToNcnn(m.file, join(OUT, m.name), { inputShapes: m.inputShapes, verify });
  const fp16 = await convertToNcnn(m.file, join(OUT, `${m.name}-fp16`), { inputShapes: m.inputShapes, verify, fp16: true });
  rows.push({
    model: m.name, layers: fp32.layers, inputs: trials ? 'rendered text' : 'random normal',
    fp32: { cosine: fp32.parity.minCosine, maxRelRange: fp32.parity.maxRelRange },
    fp16: { cosine: fp16.parity.minCosine, maxRelRange: fp16.parity.maxRelRange, binRatio: fp16.binBytes / fp32.binBytes },
  });
  console.error(`${m.name} done`);
}
writeResult('ncnn-zoo', { bench: 'ncnn-zoo', machine: machine(), rows });
console.log(table(['model', 'layers', 'inputs', 'fp32 cosine', 'fp32 max|diff|/range', 'fp16 cosine', 'fp16 .bin ratio'], rows.map((r) => [
  r.model, r.layers, r.inputs, r.fp32.cosine.toFixed(6), r.fp32.maxRelRange.toExponential(2), r.fp16.cosine.toFixed(6), r.fp16.binRatio.toFixed(3),
])));
