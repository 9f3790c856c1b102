// Raw pixels to the model's size in JS: gray and shrink in one pass, and the fit without an object
// pass, against the two-step reference and against libvips (what encoded images go through).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { boxShrink } from '../../dist/preprocess/object.js';
import { convertPixels, grayShrink, rawFit, rawPass, rawShrinkFactor } from '../../dist/preprocess/raw-pixels.js';
import { readModelConfig } from '../../dist/repository/config.js';
import { decodeImage } from '../../dist/preprocess/image.js';

const fashion = (await readModelConfig(new URL('../../examples/fashion/config.yaml', import.meta.url).pathname, 'fashion')).image;
const plain = { ...fashion, invert: false, trim: undefined, fit: 'fill', background: [0] };

/**
 * A smooth picture (a soft dark disc on a diagonal gradient, each channel its own), HWC, `channels`
 * 1, 3 or 4: no hard edges, so a crop that libvips rounds to whole output pixels and ours does not
 * moves a few levels, not a whole edge.
 */
function picture(w, h, channels, seed = 0) {
  const px = Buffer.alloc(w * h * channels);
  const radius = Math.min(w, h) / 3;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const disc = Math.max(0, 1 - Math.hypot(x - w / 2, y - h / 2) / radius);
    for (let k = 0; k < channels; k++) {
      const ground = (255 * (x + (k + 1) * y)) / (w + (k + 1) * h);
      px[(y * w + x) * channels + k] = k === 3 ? 255 : Math.round(ground * (1 - disc) + (40 + 30 * k + seed) * disc);
    }
  }
  return px;
}

test('gray and shrink in one pass: the two-step result to within rounding, for even and odd sizes, 3 and 4 channels, both orders', () => {
  for (const [w, h, c, f] of [[112, 112, 3, 2], [113, 57, 3, 2], [112, 84, 4, 2], [100, 75, 3, 3], [64, 64, 3, 5], [30, 20, 4, 7]]) {
    for (const order of ['bgr', 'rgb']) {
      const body = picture(w, h, c);
      const [r, b] = order === 'bgr' ? [2, 0] : [0, 2];
      const got = grayShrink(body, w, h, c, r, b, f);
      const gray = convertPixels(body, { width: w, height: h, channels: c, order }, 'gray');
      const want = boxShrink({ data: gray.data, width: w, height: h, channels: 1 }, f);
      assert.deepEqual([got.width, got.height, got.channels], [want.width, want.height, 1], `${w}x${h}x${c} f=${f}`);
      let worst = 0;
      for (let i = 0; i < got.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - want.data[i]));
      assert.ok(worst <= 1, `${w}x${h}x${c} ${order} f=${f}: off by ${worst}`);
    }
  }
});

test('the shrink leaves twice the model\'s side on the longer side', () => {
  const raw = (width, height) => ({ width, height, channels: 3, order: 'bgr' });
  assert.equal(rawShrinkFactor(raw(112, 112), fashion), 2);
  assert.equal(rawShrinkFactor(raw(111, 40), fashion), 1);
  assert.equal(rawShrinkFactor(raw(28, 28), fashion), 1);
  assert.equal(rawShrinkFactor(raw(1000, 300), fashion), 17);
});

test('fill, cover and contain without an object pass: what libvips makes of the same pixels, to within a few levels', async () => {
  for (const [w, h, c] of [[112, 112, 3], [160, 90, 3], [90, 140, 1], [200, 150, 4]]) {
    const body = picture(w, h, c, 3);
    for (const [fit, color] of [['fill', 'gray'], ['cover', 'gray'], ['contain', 'gray'], ['fill', 'rgb'], ['contain', 'rgb']]) {
      if (c === 1 && color === 'rgb') continue; // libvips brightens one-band raw pixels made sRGB; see the next test
      const cfg = { ...plain, fit, color, background: color === 'rgb' ? [10, 200, 30] : [17] };
      const got = rawPass(body, { width: w, height: h, channels: c, order: 'rgb' }, cfg);
      let img = sharp(body, { raw: { width: w, height: h, channels: c } }).removeAlpha();
      img = color === 'gray' ? img.greyscale().toColourspace('b-w') : img.toColourspace('srgb');
      const bg = cfg.background;
      const want = await img.resize(28, 28, { fit, background: { r: bg[0], g: bg[1] ?? bg[0], b: bg[2] ?? bg[0] } }).raw().toBuffer({ resolveWithObject: true });
      assert.equal(got.channels, want.info.channels, `${w}x${h}x${c} ${fit} ${color}`);
      assert.equal(got.data.length, want.data.length);
      let sum = 0;
      for (let i = 0; i < got.data.length; i++) sum += Math.abs(got.data[i] - want.data[i]);
      const mean = sum / got.data.length;
      assert.ok(mean < 4, `${w}x${h}x${c} ${fit} ${color}: mean difference ${mean.toFixed(2)} levels from libvips`);
    }
  }
});

test('a gray picture for a colour model: its gray in each channel, padded with the configured colour', () => {
  const body = Buffer.alloc(90 * 140).fill(128);
  const got = rawPass(body, { width: 90, height: 140, channels: 1, order: 'bgr' }, { ...plain, color: 'rgb', fit: 'contain', background: [10, 200, 30] });
  assert.equal(got.channels, 3);
  assert.deepEqual([...got.data.subarray(0, 3)], [10, 200, 30], 'the left edge is padding');
  const centre = (14 * 28 + 14) * 3;
  assert.deepEqual([...got.data.subarray(centre, centre + 3)], [128, 128, 128]);
});

test('decodeImage fits small raw pixels in JS, with or without an object pass; larger ones still go through libvips', async () => {
  const limits = { maxPixels: 40_000_000 };
  for (const cfg of [plain, { ...plain, fit: 'contain', background: [200] }, fashion]) {
    const body = picture(112, 84, 3, 1);
    const raw = { width: 112, height: 84, channels: 3, order: 'bgr' };
    const got = await decodeImage(body, cfg, limits, raw);
    assert.deepEqual([...got.data], [...rawPass(body, raw, cfg).data], `${cfg.fit}`);
  }
  const big = { width: 1100, height: 60, channels: 1, order: 'bgr' };
  const viaLibvips = await decodeImage(picture(1100, 60, 1), plain, limits, big);
  assert.equal(viaLibvips.data.length, 28 * 28);
});

test('rawFit does not write to the request body', () => {
  const body = picture(112, 112, 1);
  const copy = Buffer.from(body);
  rawFit(body, { width: 112, height: 112, channels: 1, order: 'bgr' }, { ...plain, fit: 'contain', background: [255] });
  assert.deepEqual(body, copy);
});
