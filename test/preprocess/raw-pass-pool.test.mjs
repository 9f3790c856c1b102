// The JS pass of raw pixels (object pass or fit) on preprocessing threads gives what it gives on the event loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawPassPool } from '../../dist/preprocess/raw-pass-pool.js';
import { rawPass } from '../../dist/preprocess/raw-pixels.js';
import { readModelConfig } from '../../dist/repository/config.js';

const fashion = (await readModelConfig(new URL('../../examples/fashion/config.yaml', import.meta.url).pathname, 'fashion')).image;
const rgb = { ...fashion, color: 'rgb', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], invert: false, background: [255, 255, 255] };
const fill = { ...fashion, invert: false, trim: undefined, fit: 'fill', background: [0] }; // no object pass: rawFit

function picture(w, h, channels, seed) {
  const px = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const inside = Math.abs(x - w / 2) < w / 4 && Math.abs(y - h / 3) < h / 4;
    for (let k = 0; k < channels; k++) px[(y * w + x) * channels + k] = inside ? (seed * 31 + x * 7 + y * 3 + k * 50) % 160 : 230 + ((x + y + seed) % 20);
  }
  return px;
}

test('the same pixels, inverted flag and object flag as in place, for gray and colour models and a plain fit, many at once on two threads', async () => {
  const pool = new RawPassPool(2);
  try {
    const cases = [];
    for (let i = 0; i < 24; i++) {
      const [w, h, c] = [[112, 112, 3], [60, 90, 1], [200, 150, 4], [28, 28, 3]][i % 4];
      cases.push({ body: picture(w, h, c, i), raw: { width: w, height: h, channels: c, order: i % 2 ? 'rgb' : 'bgr' }, cfg: [rgb, fashion, fill][i % 3] });
    }
    const got = await Promise.all(cases.map((k) => pool.run(k.body, k.raw, k.cfg)));
    for (const [i, k] of cases.entries()) {
      const want = rawPass(k.body, k.raw, k.cfg);
      assert.deepEqual([...got[i].data], [...want.data], `case ${i}`);
      assert.equal(got[i].channels, want.channels);
      assert.equal(got[i].inverted, want.inverted);
      assert.equal(got[i].objectFound, want.objectFound);
    }
    assert.ok(cases[0].body.length > 0, 'the caller\'s pixels are copied, not taken');
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.run(picture(8, 8, 1, 0), { width: 8, height: 8, channels: 1, order: 'bgr' }, fashion), (err) => err.code === 'INTERNAL' && /closed/.test(err.message));
});

test('a failure on the thread comes back as INTERNAL with its message; the pool goes on', async () => {
  const pool = new RawPassPool(1);
  try {
    // a model side the pass cannot make (callers validate configs; this one is not): RangeError on the thread
    await assert.rejects(pool.run(picture(40, 40, 3, 1), { width: 40, height: 40, channels: 3, order: 'bgr' }, { ...fashion, width: -5, height: -5 }),
      (err) => err.code === 'INTERNAL' && /the image pass failed/.test(err.message));
    const ok = await pool.run(picture(40, 40, 3, 1), { width: 40, height: 40, channels: 3, order: 'bgr' }, fashion);
    assert.equal(ok.data.length, 28 * 28);
  } finally {
    await pool.close();
  }
});
