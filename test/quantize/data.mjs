// Test and benchmark data for quantization, made at run time: Fashion-MNIST from its IDX files
// (as .npz of ready tensors or as PNG class folders), and text images rendered with sharp (SVG,
// Debian's DejaVu fonts) for the PaddleOCR models.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { encodeNpz } from '../../dist/tensors/npy.js';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
/** examples/fashion/config.yaml's normalization. */
const MEAN = 0.286;
const STD = 0.353;

/** An IDX file (gzip): { dims, data: Uint8Array }. */
export function readIdx(path) {
  const buf = gunzipSync(readFileSync(path));
  const ndim = buf[3];
  const dims = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * ndim, dims.reduce((a, b) => a * b, 1)) };
}

/** `count` images of a split from `offset`: { pixels: Uint8Array [n*784], labels: Uint8Array [n] }. */
export function fashion(split, offset, count) {
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = readIdx(join(FASHION_DIR, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(FASHION_DIR, `${prefix}-labels-idx1-ubyte.gz`));
  const n = Math.min(count, images.dims[0] - offset);
  return { pixels: images.data.slice(offset * 784, (offset + n) * 784), labels: labels.data.slice(offset, offset + n), count: n };
}

/** Writes an .npz with x float32 [n,1,28,28] preprocessed as the model's config declares, and labels int64. */
export function writeFashionNpz(path, split, offset, count) {
  const { pixels, labels, count: n } = fashion(split, offset, count);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = (pixels[i] / 255 - MEAN) / STD;
  writeFileSync(path, encodeNpz([
    ['x', { datatype: 'FP32', shape: [n, 1, 28, 28], data: x }],
    ['labels', { datatype: 'INT64', shape: [n], data: BigInt64Array.from(labels, (v) => BigInt(v)) }],
  ]));
  return n;
}

/** Writes PNGs in class folders DIR/<label index>/<i>.png. */
export async function writeFashionPngs(dir, split, offset, count) {
  const { pixels, labels, count: n } = fashion(split, offset, count);
  for (let c = 0; c < 10; c++) mkdirSync(join(dir, String(c)), { recursive: true });
  for (let i = 0; i < n; i++) {
    const png = await sharp(Buffer.from(pixels.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    writeFileSync(join(dir, String(labels[i]), `${String(offset + i).padStart(5, '0')}.png`), png);
  }
  return n;
}

const WORDS = ['invoice', 'total', 'ferry', 'Quantize', 'model', '2026-11-26', 'ONNX Runtime', 'receipt', 'No. 4521', 'hello world',
  'PaddleOCR', 'text line', 'shipping', 'amount $38.90', 'Station 12', 'batch size 8', 'int8', 'float16', 'calibration', 'Tokyo'];
const FONTS = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono'];

/** Renders a text line (black on white, or the reverse) as a PNG of `width` x `height`. */
export async function textLine(i, width = 320, height = 48) {
  const text = `${WORDS[i % WORDS.length]} ${WORDS[(i * 7 + 3) % WORDS.length]}`;
  const dark = i % 4 === 3;
  const size = 22 + (i % 5) * 2;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<rect width="100%" height="100%" fill="${dark ? '#202020' : '#f8f8f4'}"/>
<text x="${6 + (i % 3) * 4}" y="${height / 2 + size / 3}" font-family="${FONTS[i % FONTS.length]}" font-size="${size}" fill="${dark ? '#f0f0f0' : '#101010'}">${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Renders a page-like image with several text lines (for the detection model). */
export async function textPage(i, width = 320, height = 320) {
  const lines = [];
  for (let k = 0; k < 6; k++) {
    const size = 16 + ((i + k) % 4) * 3;
    lines.push(`<text x="${10 + ((i + k) % 3) * 12}" y="${40 + k * 46}" font-family="${FONTS[(i + k) % FONTS.length]}" font-size="${size}" fill="#111">${WORDS[(i * 3 + k) % WORDS.length]} ${WORDS[(i + 5 * k) % WORDS.length]}</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fbfaf5"/>${lines.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/**
 * Writes `count` rendered images into DIR; `kind` 'line' (recognizer, classifier) or 'page' (detector).
 * `upsideDown`: every odd-numbered line turned 180 degrees (what PaddleOCR's direction classifier is for).
 */
export async function writeTextImages(dir, kind, offset, count, size, { upsideDown = false } = {}) {
  mkdirSync(dir, { recursive: true });
  for (let i = offset; i < offset + count; i++) {
    let png = kind === 'page' ? await textPage(i, size?.width, size?.height) : await textLine(i, size?.width, size?.height);
    if (upsideDown && i % 2 === 1) png = await sharp(png).rotate(180).png().toBuffer();
    writeFileSync(join(dir, `${String(i).padStart(4, '0')}.png`), png);
  }
}

/** A config.yaml with the image block PaddleOCR's preprocessing needs (RGB, (x/255 - mean) / std). */
export function writeOcrConfig(path, { width, height, mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5], name = 'ocr' }) {
  writeFileSync(path, `name: ${name}\nimage:\n  width: ${width}\n  height: ${height}\n  color: rgb\n  scale: ${1 / 255}\n  mean: [${mean.join(', ')}]\n  std: [${std.join(', ')}]\n  layout: NCHW\n`);
}

