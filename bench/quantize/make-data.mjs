#!/usr/bin/env node
// Makes quantization data from the public sources the tests and the benchmark use:
//   node bench/quantize/make-data.mjs fashion-npz OUT.npz train|test OFFSET COUNT   (x float32 [N,1,28,28] as config.yaml normalizes, labels)
//   node bench/quantize/make-data.mjs fashion-png DIR train|test OFFSET COUNT       (DIR/<class index>/<n>.png)
//   node bench/quantize/make-data.mjs text-line|text-page DIR OFFSET COUNT [WIDTH HEIGHT]  (rendered text, DejaVu fonts)
// e.g. the 500 training images the Fashion int8 figure is calibrated on:
//   node bench/quantize/make-data.mjs fashion-npz calib.npz train 0 500
import { writeFashionNpz, writeFashionPngs, writeTextImages } from '../../test/quantize/data.mjs';

const [what, out, ...rest] = process.argv.slice(2);
if (what === 'fashion-npz') {
  console.log(`${writeFashionNpz(out, rest[0], Number(rest[1]), Number(rest[2]))} samples -> ${out}`);
} else if (what === 'fashion-png') {
  console.log(`${await writeFashionPngs(out, rest[0], Number(rest[1]), Number(rest[2]))} images -> ${out}/<class>/`);
} else if (what === 'text-line' || what === 'text-page') {
  const [offset, count, width, height] = rest.map(Number);
  await writeTextImages(out, what === 'text-page' ? 'page' : 'line', offset, count, width ? { width, height } : undefined);
  console.log(`${count} images -> ${out}`);
} else {
  console.error('usage: node bench/quantize/make-data.mjs fashion-npz|fashion-png|text-line|text-page OUT ...');
  process.exitCode = 2;
}
