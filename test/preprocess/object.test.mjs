// Finding the object in a picture: background from the border, polarity, the object's box, padding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { borderColor, centreLuma, invert, isDarkOnLight, objectBox, padToAspect } from '../../dist/preprocess/object.js';

/** A w x h gray raster of `bg` with a `fg` rectangle. */
function raster(w, h, bg, fg, box) {
  const data = new Uint8Array(w * h).fill(bg);
  for (let y = box.top; y < box.top + box.height; y++) for (let x = box.left; x < box.left + box.width; x++) data[y * w + x] = fg;
  return { data, width: w, height: h, channels: 1 };
}

test('the background is the median of the border, per channel', () => {
  const img = raster(10, 8, 250, 20, { left: 3, top: 2, width: 4, height: 4 });
  img.data[0] = 0; // a speck in a corner does not move the median
  assert.deepEqual(borderColor(img), [250]);
  const rgb = { data: new Uint8Array(4 * 4 * 3).map((_, i) => [10, 20, 30][i % 3]), width: 4, height: 4, channels: 3 };
  assert.deepEqual(borderColor(rgb), [10, 20, 30]);
});

test('a dark object on a light ground is told from a light object on a dark one', () => {
  const dark = raster(20, 20, 240, 30, { left: 5, top: 5, width: 10, height: 10 });
  const light = raster(20, 20, 0, 200, { left: 5, top: 5, width: 10, height: 10 });
  assert.equal(isDarkOnLight(dark, borderColor(dark)), true);
  assert.equal(isDarkOnLight(light, borderColor(light)), false);
  assert.ok(centreLuma(light) > 100);
  invert(dark);
  assert.equal(dark.data[0], 15);
  assert.equal(dark.data[10 * 20 + 10], 225);
});

test('the object box holds every pixel that stands out from the background; none in a blank picture', () => {
  const img = raster(30, 20, 0, 180, { left: 7, top: 3, width: 5, height: 12 });
  img.data[19 * 30 + 29] = 10; // below the threshold: not part of the object
  assert.deepEqual(objectBox(img, [0], 16), { left: 7, top: 3, width: 5, height: 12 });
  assert.equal(objectBox(raster(9, 9, 77, 77, { left: 0, top: 0, width: 0, height: 0 }), [77], 16), undefined);
});

test('padding to an aspect keeps the object whole and centred on the background', () => {
  const img = raster(30, 20, 0, 180, { left: 7, top: 3, width: 5, height: 12 });
  const out = padToAspect(img, { left: 7, top: 3, width: 5, height: 12 }, { width: 1, height: 1 }, [9]);
  assert.equal(out.width, 12);
  assert.equal(out.height, 12);
  const row = Array.from(out.data.subarray(6 * 12, 7 * 12));
  assert.deepEqual(row, [9, 9, 9, 180, 180, 180, 180, 180, 9, 9, 9, 9]);
  const wide = padToAspect(img, { left: 7, top: 3, width: 5, height: 12 }, { width: 4, height: 3 }, [0], 0.5);
  assert.equal(wide.height, 24, 'a margin of half the size each side');
  assert.equal(wide.width, 32);
});

test('resampling: a flat picture stays flat, a shrink averages, sizes are exact', async () => {
  const { resample } = await import('../../dist/preprocess/object.js');
  const flat = resample(raster(100, 60, 77, 77, { left: 0, top: 0, width: 0, height: 0 }), 28, 17);
  assert.equal(flat.width, 28);
  assert.equal(flat.height, 17);
  assert.ok(flat.data.every((v) => v === 77));
  // a 2-pixel checkerboard shrunk 4x is its mean gray
  const n = 64;
  const board = { data: new Uint8Array(n * n).map((_, i) => (((i % n) >> 1) + ((Math.floor(i / n)) >> 1)) % 2 ? 255 : 0), width: n, height: n, channels: 1 };
  const small = resample(board, 16, 16);
  const inner = [];
  for (let y = 3; y < 13; y++) for (let x = 3; x < 13; x++) inner.push(small.data[y * 16 + x]);
  assert.ok(inner.every((v) => Math.abs(v - 127.5) < 12), `mean gray, got ${Math.min(...inner)}..${Math.max(...inner)}`);
});

test('box shrink: each output pixel the mean of its block, edge blocks the mean of what they cover', async () => {
  const { boxShrink } = await import('../../dist/preprocess/object.js');
  // 5 x 3, values 0..14; by 2: blocks of 2x2, the last column and row partial
  const img = { data: Uint8Array.from({ length: 15 }, (_, i) => i * 10), width: 5, height: 3, channels: 1 };
  const out = boxShrink(img, 2);
  assert.equal(out.width, 3);
  assert.equal(out.height, 2);
  // block (0,0): 0, 10, 50, 60 -> 30; block (2,0): 40, 90 -> 65; block (0,1): 100, 110 -> 105; block (2,1): 140
  assert.deepEqual(Array.from(out.data), [30, 50, 65, 105, 125, 140]);
  assert.equal(boxShrink(img, 1), img, 'a factor of 1 is the raster itself');
  const rgb = { data: Uint8Array.from([10, 20, 30, 30, 40, 50]), width: 2, height: 1, channels: 3 };
  assert.deepEqual(Array.from(boxShrink(rgb, 2).data), [20, 30, 40], 'channels kept apart');
});

test('a shrink by 2x or more averages what each output pixel covers, at non-integer factors too', async () => {
  const { resample } = await import('../../dist/preprocess/object.js');
  // 7 -> 3 (factor 2.33): a left half black, right half white row; total brightness is kept
  const row = { data: Uint8Array.from([0, 0, 0, 255, 255, 255, 255]), width: 7, height: 1, channels: 1 };
  const out = resample(row, 3, 1);
  // output 1 covers source [2.33, 4.67): 2/3 of pixel 2 (0), pixel 3 and 2/3 of pixel 4 (255)
  assert.deepEqual(Array.from(out.data), [0, Math.round((255 + 255 * 2 / 3) / (7 / 3)), 255]);
});

test('the gray object box agrees with the per-channel scan on random pictures', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let k = 0; k < 50; k++) {
    const w = 5 + Math.floor(rand() * 20);
    const h = 5 + Math.floor(rand() * 20);
    const gray = raster(w, h, 200, 200, { left: 0, top: 0, width: 0, height: 0 });
    for (let i = 0; i < 1 + rand() * 4; i++) gray.data[Math.floor(rand() * w * h)] = Math.floor(rand() * 256);
    // the same picture in RGB takes the general path
    const rgb = { data: new Uint8Array(w * h * 3).map((_, i) => gray.data[Math.floor(i / 3)]), width: w, height: h, channels: 3 };
    assert.deepEqual(objectBox(gray, [200], 16), objectBox(rgb, [200, 200, 200], 16), `picture ${k}`);
  }
});
