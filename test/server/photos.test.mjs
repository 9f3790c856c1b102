// The default model on pictures as users send them: product photos (dark on white, 4:3, hundreds of
// pixels, JPEG) as well as the 28x28 originals, through the real /image route; and the
// low_confidence signal on pictures unlike the training data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { FASHION, start } from '../helpers.mjs';
import { FASHION_DIR, fashion } from '../quantize/data.mjs';
import { productPhoto } from '../../examples/fashion/make-samples.mjs';

const skip = !existsSync(FASHION_DIR) && `no ${FASHION_DIR} (apt-get install dataset-fashion-mnist)`;
const N = 500;
let server;
before(async () => { server = await start(FASHION); });
after(() => server?.close());

async function classifyAll(bodies) {
  const answers = new Array(bodies.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      const res = await fetch(`${server.url}/image`, { method: 'POST', body: await bodies[i]() });
      answers[i] = await res.json();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return answers;
}

test(`top-1 on ${N} test images as product photos >= 80 %, as the 28x28 originals >= 91 %`, { skip }, async (t) => {
  const { pixels, labels } = fashion('test', 0, N);
  const image = (i) => pixels.subarray(i * 784, (i + 1) * 784);
  const photos = await classifyAll(Array.from({ length: N }, (_, i) => () => productPhoto(image(i), { width: 320 + (i % 5) * 80, landscape: i % 2 === 0 })));
  const originals = await classifyAll(Array.from({ length: N }, (_, i) => () => sharp(Buffer.from(image(i)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer()));
  const top1 = (answers) => answers.filter((a, i) => a.index === labels[i]).length / N;
  const [p, o] = [top1(photos), top1(originals)];
  t.diagnostic(`top-1: product photos ${(p * 100).toFixed(1)} %, originals ${(o * 100).toFixed(1)} %`);
  assert.ok(p >= 0.80, `product photos: top-1 ${p}`);
  assert.ok(o >= 0.91, `originals: top-1 ${o}`);
  const lowShare = photos.filter((a) => a.low_confidence).length / N;
  assert.ok(lowShare < 0.1, `${lowShare} of the photos are low confidence`);
});

test('a camera-sized photo (6000x4000 JPEG, boot small in the frame) is answered right', { skip }, async () => {
  const { pixels } = fashion('test', 0, 1); // an ankle boot
  const boot = await sharp(await productPhoto(pixels, { width: 1600 })).resize(1600).raw().toBuffer({ resolveWithObject: true });
  const big = await sharp({ create: { width: 6000, height: 4000, channels: 3, background: '#ffffff' } })
    .composite([{ input: await sharp(boot.data, { raw: boot.info }).png().toBuffer(), left: 2200, top: 1400 }]).jpeg({ quality: 90 }).toBuffer();
  const t0 = performance.now();
  const res = await fetch(`${server.url}/image`, { method: 'POST', body: big });
  const answer = await res.json();
  assert.equal(res.status, 200, JSON.stringify(answer));
  assert.equal(answer.label, 'Ankle boot');
  assert.equal(answer.low_confidence, false);
  assert.ok(performance.now() - t0 < 5000);
});

test('pictures unlike the training data are answered with low_confidence and the reasons', async () => {
  const ask = async (body) => (await fetch(`${server.url}/image`, { method: 'POST', body })).json();
  const tiny = await ask(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#cc3333' } }).png().toBuffer());
  assert.equal(tiny.low_confidence, true);
  assert.match(tiny.low_confidence_reasons.join('; '), /nothing in the picture stands out/);
  const blank = await ask(await sharp({ create: { width: 400, height: 300, channels: 3, background: '#ffffff' } }).jpeg().toBuffer());
  assert.equal(blank.low_confidence, true);
  const sample = await ask(await sharp(new URL('../../examples/fashion/samples/photo-ankle-boot.jpg', import.meta.url).pathname).toBuffer());
  assert.equal(sample.label, 'Ankle boot');
  assert.equal(sample.low_confidence, false);
  assert.equal(sample.low_confidence_reasons, undefined);
});
