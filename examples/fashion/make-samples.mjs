#!/usr/bin/env node
// Makes the committed sample pictures from Debian's Fashion-MNIST (apt-get install dataset-fashion-mnist):
//  - samples/photo-<label>.jpg: test images as a product photo would show them — dark on white,
//    padded to 4:3, upscaled to 640x480, JPEG (what a phone or a shop's catalogue gives);
//  - test-images/<class index>/<test index>.png: 20 test images a class, for `ferry eval`.
// Usage: node examples/fashion/make-samples.mjs [--fashion-dir /usr/share/datasets/fashion-mnist]
import { readFileSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';

const HERE = dirname(fileURLToPath(import.meta.url));
const at = process.argv.indexOf('--fashion-dir');
const DIR = at > 0 ? process.argv[at + 1] : '/usr/share/datasets/fashion-mnist';
const LABELS = readFileSync(join(HERE, 'labels.txt'), 'utf8').trim().split('\n');

function idx(file) {
  const buf = gunzipSync(readFileSync(join(DIR, file)));
  const ndim = buf[3];
  const dims = Array.from({ length: ndim }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: buf.subarray(4 + 4 * ndim) };
}

/** A 28x28 Fashion-MNIST image as a product photo: dark on white, 4:3, `width` wide, JPEG. */
export async function productPhoto(pixels, { width = 640, landscape = true, quality = 85 } = {}) {
  const [w, h] = landscape ? [37, 28] : [28, 37];
  const inverted = Buffer.from(Uint8Array.from(pixels, (v) => 255 - v));
  // extend first, in its own pipeline: sharp resizes before it extends within one
  const padded = await sharp(inverted, { raw: { width: 28, height: 28, channels: 1 } })
    .extend({ left: (w - 28) >> 1, right: (w - 28 + 1) >> 1, top: (h - 28) >> 1, bottom: (h - 28 + 1) >> 1, background: '#ffffff' })
    .toColourspace('b-w').raw().toBuffer();
  const height = Math.round((width * h) / w);
  return sharp(padded, { raw: { width: w, height: h, channels: 1 } }).resize(width, height, { kernel: 'cubic' }).jpeg({ quality }).toBuffer();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const images = idx('t10k-images-idx3-ubyte.gz').data;
  const labels = idx('t10k-labels-idx1-ubyte.gz').data;
  const image = (i) => images.subarray(i * 784, (i + 1) * 784);
  for (const i of [0, 2]) { // an ankle boot and a trouser: both answered right
    const name = `photo-${LABELS[labels[i]].toLowerCase().replace(/[^a-z]+/g, '-')}.jpg`;
    writeFileSync(join(HERE, 'samples', name), await productPhoto(image(i), { landscape: i === 0 }));
    console.log(`samples/${name}: test image ${i}, ${LABELS[labels[i]]}`);
  }
  const out = join(HERE, 'test-images');
  rmSync(out, { recursive: true, force: true });
  const perClass = new Array(10).fill(0);
  for (let i = 0; i < labels.length && perClass.some((n) => n < 20); i++) {
    const c = labels[i];
    if (perClass[c] >= 20) continue;
    perClass[c]++;
    mkdirSync(join(out, String(c)), { recursive: true });
    writeFileSync(join(out, String(c), `${String(i).padStart(4, '0')}.png`), await sharp(Buffer.from(image(i)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer());
  }
  console.log(`test-images/: ${perClass.reduce((a, b) => a + b)} test images, 20 a class, in folders named by class index`);
}
