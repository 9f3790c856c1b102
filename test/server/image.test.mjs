// The seed's image routes on the bundled Fashion model: encoded images, raw pixels, and bad images.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { start, get, post, FASHION, FIXTURES } from '../helpers.mjs';

const SAMPLES = join(FASHION, 'samples');
const expected = JSON.parse(await readFile(join(SAMPLES, 'expected.json'), 'utf8'));

let server;
let url;
before(async () => { server = await start(FASHION); url = server.url; });
after(() => server.close());

const send = (path, body, { method = 'POST', headers = {} } = {}) =>
  fetch(`${url}${path}`, { method, body, headers }).then(async (r) => ({ status: r.status, json: await r.json() }));

test('every sample is classified right through PUT /image (curl -T), no content type', async () => {
  for (const [file, want] of Object.entries(expected)) {
    const r = await send('/image', await readFile(join(SAMPLES, file)), { method: 'PUT' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.label, want.label, file);
    assert.equal(r.json.index, want.index, file);
    assert.ok(r.json.score > 0.5 && r.json.score <= 1);
    assert.equal(r.json.top.length, 5);
    assert.equal(r.json.top[0].label, want.label);
  }
});

test('POST with an image content type (the seed\'s requests client), and ?top=', async () => {
  const jpg = await readFile(join(SAMPLES, 'ankle-boot-rgb.jpg'));
  const r = await send('/v2/models/fashion/image?top=2', jpg, { headers: { 'content-type': 'image/jpg' } });
  assert.equal(r.status, 200);
  assert.equal(r.json.label, 'Ankle boot');
  assert.equal(r.json.model, 'fashion');
  assert.equal(r.json.top.length, 2);
  const v = await send('/v2/models/fashion/versions/1/image', jpg);
  assert.equal(v.json.label, 'Ankle boot');
  const scores = (await send('/image', jpg)).json.top.map((t) => t.score);
  assert.ok(Math.abs(scores.reduce((a, b) => a + b, 0) - 1) < 0.01, 'softmax scores of the top 5 nearly sum to 1');
});

test('WebP and a large RGBA PNG are decoded, resized and converted to gray', async () => {
  const png = await readFile(join(SAMPLES, '2-trouser.png'));
  const webp = await sharp(png).webp({ lossless: true }).toBuffer();
  assert.equal((await send('/image', webp)).json.label, 'Trouser');
  const big = await sharp(png).resize(300, 300).ensureAlpha().png().toBuffer();
  assert.equal((await send('/image', big)).json.label, 'Trouser');
});

async function multipart(meta, blob) {
  const form = new FormData();
  form.append('meta', new Blob([typeof meta === 'string' ? meta : JSON.stringify(meta)]), 'meta');
  form.append('blob', new Blob([blob]), 'blob');
  return fetch(`${url}/predict`, { method: 'POST', body: form }).then(async (r) => ({ status: r.status, json: await r.json() }));
}

test('POST /predict: the seed\'s Flask client, raw BGR pixels with meta.shape', async () => {
  for (const [file, want] of Object.entries(expected)) {
    if (!file.endsWith('.png')) continue;
    const { data, info } = await sharp(join(SAMPLES, file)).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 3);
    const bgr = Buffer.alloc(data.length);
    for (let i = 0; i < data.length; i += 3) { bgr[i] = data[i + 2]; bgr[i + 1] = data[i + 1]; bgr[i + 2] = data[i]; }
    const r = await multipart({ shape: [info.height, info.width, 3] }, bgr);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.label, want.label, file);
  }
  const gray = await sharp(join(SAMPLES, '8-sandal.png')).extractChannel(0).raw().toBuffer();
  assert.equal(gray.length, 28 * 28);
  assert.equal((await multipart({ shape: [28, 28, 1] }, gray)).json.label, 'Sandal');
  assert.equal((await multipart({ shape: [28, 28] }, gray)).json.label, 'Sandal');
});

test('POST /predict, 24 at once: the object pass moves to a preprocessing thread and every answer is the one a lone request gets', async () => {
  const metric = async (thread) => Number(new RegExp(`ferry_image_passes_total\\{thread="${thread}"\\} (\\d+)`).exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
  const pictures = [];
  for (const file of Object.keys(expected)) {
    const { data, info } = await sharp(join(SAMPLES, file)).resize(112, 84, { fit: 'contain', background: '#fff' }).negate({ alpha: false }).flatten({ background: '#fff' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    pictures.push({ file, meta: { shape: [info.height, info.width, info.channels], order: 'rgb' }, blob: data });
  }
  const alone = [];
  for (const p of pictures) alone.push((await multipart(p.meta, p.blob)).json);
  const before = { loop: await metric('event_loop'), thread: await metric('preprocessing') };
  const together = await Promise.all(Array.from({ length: 24 }, (_, i) => multipart(pictures[i % pictures.length].meta, pictures[i % pictures.length].blob)));
  for (const [i, r] of together.entries()) {
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const want = alone[i % pictures.length];
    assert.deepEqual([r.json.label, r.json.score, r.json.low_confidence], [want.label, want.score, want.low_confidence], pictures[i % pictures.length].file);
  }
  const offloaded = (await metric('preprocessing')) - before.thread;
  assert.ok(offloaded > 0, `${offloaded} of 24 concurrent passes ran on the preprocessing thread`);
  assert.equal(offloaded + (await metric('event_loop')) - before.loop, 24);
});

const bad = [
  ['a text body', () => send('/image', 'hello, not an image'), 400, 'BAD_IMAGE', /not a readable JPEG, PNG or WebP/],
  ['an empty body', () => send('/image', ''), 400, 'BAD_IMAGE', /no image body|empty/],
  ['a truncated JPEG', async () => send('/image', (await readFile(join(SAMPLES, 'ankle-boot-rgb.jpg'))).subarray(0, 1200)), 400, 'BAD_IMAGE', /./],
  ['a GIF', async () => send('/image', await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).gif().toBuffer()), 400, 'BAD_IMAGE', /format "gif" is not accepted/],
  ['a decompression bomb (8000x8000 PNG in 64 KB)', async () => send('/image', await bomb()), 413, 'IMAGE_TOO_LARGE', /8000x8000 pixels is more than this server decodes/],
  ['/predict without multipart', () => send('/predict', '{}', { headers: { 'content-type': 'application/json' } }), 415, 'UNSUPPORTED_MEDIA_TYPE', /multipart\/form-data/],
  ['/predict with a blob of the wrong size', () => multipart({ shape: [28, 28, 3] }, Buffer.alloc(100)), 400, 'BAD_IMAGE', /100 bytes, but shape \[28,28,3\] needs 2352/],
  ['/predict with meta that is not JSON', () => multipart('{shape', Buffer.alloc(4)), 400, 'BAD_JSON', /field "meta"/],
  ['/predict with a bad shape', () => multipart({ shape: [28, -28, 3] }, Buffer.alloc(4)), 400, 'BAD_SHAPE', /height, width/],
  ['/predict with 2 channels', () => multipart({ shape: [2, 2, 2] }, Buffer.alloc(8)), 400, 'BAD_SHAPE', /2 channels/],
  ['/predict missing blob', async () => {
    const form = new FormData();
    form.append('meta', JSON.stringify({ shape: [1, 1, 1] }));
    return fetch(`${url}/predict`, { method: 'POST', body: form }).then(async (r) => ({ status: r.status, json: await r.json() }));
  }, 400, 'BAD_REQUEST', /needs multipart fields "meta" and "blob"/],
  ['a bad top', async () => send('/image?top=zero', await readFile(join(SAMPLES, '2-trouser.png'))), 400, 'BAD_PARAMETER', /top must be a positive integer/],
];

/** A real decompression bomb: a valid 8000x8000 gray PNG (64 MB of pixels) in ~64 KB. */
let bombPng;
async function bomb() {
  if (bombPng) return bombPng;
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc32 = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const side = 8000;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0); ihdr.writeUInt32BE(side, 4); ihdr[8] = 8; ihdr[9] = 0; // 8-bit gray
  const idat = deflateSync(Buffer.alloc(side * (side + 1)), { level: 9 });
  bombPng = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
  return bombPng;
}

for (const [name, sendIt, status, code, message] of bad) {
  test(`${name} → ${status} ${code}`, async () => {
    const t0 = performance.now();
    const r = await sendIt();
    const ms = performance.now() - t0;
    assert.equal(r.status, status, JSON.stringify(r.json));
    assert.equal(r.json.code, code);
    assert.match(r.json.error, message);
    if (name.includes('bomb')) assert.ok(ms < 1000, `refused from the header in ${ms.toFixed(0)} ms`);
  });
}

test('after all that, the server is healthy and still classifies', async () => {
  assert.equal((await get(`${url}/v2/health/ready`)).status, 200);
  assert.equal((await send('/image', await readFile(join(SAMPLES, '6-coat.png')))).json.label, 'Coat');
});

test('v2 infer on the Fashion model agrees with the image route', async () => {
  const data = await sharp(join(SAMPLES, '1-pullover.png')).extractChannel(0).raw().toBuffer();
  const x = Array.from(data, (p) => (p / 255 - 0.286) / 0.353);
  const r = await post(`${url}/v2/models/fashion/infer`, { inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: x }] });
  assert.equal(r.status, 200);
  const logits = r.json.outputs[0].data;
  assert.equal(logits.indexOf(Math.max(...logits)), 2);
});

test('image routes: models without image config, and several models without a default', async () => {
  const fixtures = await start(FIXTURES);
  try {
    const png = await readFile(join(SAMPLES, '2-trouser.png'));
    let r = await fetch(`${fixtures.url}/v2/models/scale/image`, { method: 'POST', body: png });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).code, 'NO_IMAGE_CONFIG');
    r = await fetch(`${fixtures.url}/image`, { method: 'POST', body: png });
    assert.equal(r.status, 404);
    const body = await r.json();
    assert.equal(body.code, 'NO_DEFAULT_MODEL');
    assert.match(body.error, /--default-model/);
  } finally {
    await fixtures.close();
  }
});
