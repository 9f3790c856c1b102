// ferry's multipart/form-data parser for buffered bodies, checked against busboy (the streaming
// parser fastify's and express's multipart plugins use) on bodies as real clients make them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Busboy from 'busboy';
import { parseMultipart, multipartBoundary } from '../../dist/server/multipart.js';

/** busboy's reading of the body: name -> bytes (first part of a name wins, as ferry's). */
function busboyParts(body, contentType) {
  return new Promise((resolve, reject) => {
    const got = new Map();
    const bb = Busboy({ headers: { 'content-type': contentType } });
    const keep = (name, bytes) => { if (!got.has(name)) got.set(name, bytes); };
    bb.on('file', (name, stream) => { const chunks = []; stream.on('data', (c) => chunks.push(c)); stream.on('end', () => keep(name, Buffer.concat(chunks))); });
    bb.on('field', (name, value) => keep(name, Buffer.from(value, 'latin1')));
    bb.on('close', () => resolve(got));
    bb.on('error', reject);
    bb.end(body);
  });
}

const same = async (body, contentType) => {
  const ours = parseMultipart(body, contentType);
  const theirs = await busboyParts(body, contentType);
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort()); // busboy reports a file part when its stream ends
  for (const [k, v] of theirs) assert.ok(ours.get(k).equals(v), `field ${k}: ${ours.get(k).length} bytes vs busboy's ${v.length}`);
};

test('what fetch\'s FormData sends (the seed client\'s shape) parses as busboy parses it', async () => {
  const blob = Buffer.from(Array.from({ length: 112 * 112 * 3 }, (_, i) => (i * 131) % 256));
  const form = new FormData();
  form.append('meta', JSON.stringify({ shape: [112, 112, 3] }));
  form.append('blob', new Blob([blob]), 'blob');
  const r = new Request('http://x/', { method: 'POST', body: form });
  const body = Buffer.from(await r.arrayBuffer());
  const type = r.headers.get('content-type');
  await same(body, type);
  const parts = parseMultipart(body, type);
  assert.ok(parts.get('blob').equals(blob));
  assert.equal(parts.get('blob').buffer, body.buffer, 'a view into the body, not a copy');
});

test('preamble, epilogue, quoted boundaries, header case, empty and binary parts, CRLF inside data', async () => {
  const b = 'x-y_z.1';
  const bin = Buffer.from([0, 13, 10, 45, 45, 255, 13, 10]); // CR LF "--" inside the data
  const body = Buffer.concat([
    Buffer.from(`this is a preamble\r\n--${b}\r\ncontent-disposition: form-data; name="meta"\r\n\r\n{"shape":[1,1,1]}\r\n--${b}\r\n`),
    Buffer.from(`Content-Type: application/octet-stream\r\nCONTENT-DISPOSITION: form-data; name=blob; filename="b.bin"\r\n\r\n`), bin,
    Buffer.from(`\r\n--${b}\r\nContent-Disposition: form-data; name="empty"\r\n\r\n\r\n--${b}--\r\nepilogue`),
  ]);
  await same(body, `multipart/form-data; boundary="${b}"`);
  await same(body, `Multipart/Form-Data; charset=utf-8; boundary=${b}`);
  const parts = parseMultipart(body, `multipart/form-data; boundary=${b}`);
  assert.ok(parts.get('blob').equals(bin));
  assert.equal(parts.get('empty').length, 0);
  // RFC 2046's transport padding (spaces after a boundary), which busboy does not take
  const padded = parseMultipart(Buffer.from(body.toString('latin1').replace(`--${b}\r\ncontent`, `--${b} \t \r\ncontent`), 'latin1'), `multipart/form-data; boundary=${b}`);
  assert.deepEqual([...padded.keys()], ['meta', 'blob', 'empty']);
  assert.equal(padded.get('meta').toString(), '{"shape":[1,1,1]}');
});

test('a name sent twice keeps its first part', async () => {
  const body = Buffer.from('--B\r\nContent-Disposition: form-data; name="a"\r\n\r\none\r\n--B\r\nContent-Disposition: form-data; name="a"\r\n\r\ntwo\r\n--B--\r\n');
  await same(body, 'multipart/form-data; boundary=B');
  assert.equal(parseMultipart(body, 'multipart/form-data; boundary=B').get('a').toString(), 'one');
});

test('malformed bodies are BAD_REQUEST naming what is wrong', () => {
  const cases = [
    ['multipart/form-data', '--B\r\n\r\n', /names no boundary/],
    ['multipart/form-data; boundary=B', 'no delimiter at all', /no part starts with the boundary "B"/],
    ['multipart/form-data; boundary=B', '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated', /ends inside a part/],
    ['multipart/form-data; boundary=B', '--B\r\nContent-Disposition: form-data; name="a"', /headers do not end/],
    ['multipart/form-data; boundary=B', '--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--', /no Content-Disposition/],
    ['multipart/form-data; boundary=B', '--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--', /Content-Disposition has no name/],
    ['multipart/form-data; boundary=B', '--Bjunk\r\n', /boundary line does not end with CRLF/],
    [`multipart/form-data; boundary=${'b'.repeat(71)}`, '', /longer than 70/],
  ];
  for (const [type, body, message] of cases) {
    assert.throws(() => parseMultipart(Buffer.from(body), type), (err) => err.code === 'BAD_REQUEST' && /^bad multipart body: /.test(err.message) && message.test(err.message), `${type} ${JSON.stringify(body)}`);
  }
  const many = '--B\r\n' + Array.from({ length: 65 }, (_, i) => `Content-Disposition: form-data; name="f${i}"\r\n\r\nx\r\n--B\r\n`).join('') + 'Content-Disposition: form-data; name="z"\r\n\r\nx\r\n--B--';
  assert.throws(() => parseMultipart(Buffer.from(many), 'multipart/form-data; boundary=B'), /more than 64 parts/);
  assert.equal(multipartBoundary('multipart/form-data; boundary="a\\"b"'), 'a"b');
});
