// ChunkedBytes: a body kept as its chunks — ranges, copies and text across chunk boundaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedBytes } from '../../dist/tensors/chunked-bytes.js';

const whole = Buffer.from('héllo, wörld: 0123456789abcdef', 'utf8');
/** The same bytes cut at every given offset. */
function cut(buf, offsets) {
  const chunks = [];
  let at = 0;
  for (const o of [...offsets, buf.length]) { chunks.push(buf.subarray(at, o)); at = o; }
  return new ChunkedBytes(chunks);
}

test('every range reads the same bytes, however the body was cut', () => {
  for (const offsets of [[], [1], [2, 3], [5, 6, 7, 20], [...Array(whole.length - 1).keys()].map((i) => i + 1)]) {
    const body = cut(whole, offsets);
    assert.equal(body.length, whole.length);
    for (const [s, e] of [[0, whole.length], [0, 0], [1, 2], [2, 9], [10, whole.length], [whole.length, whole.length]]) {
      const sub = body.subarray(s, e);
      assert.equal(sub.length, e - s);
      assert.deepEqual(sub.toBuffer(), whole.subarray(s, e), `cut at ${offsets} range ${s}-${e}`);
      const dst = new Uint8Array(e - s + 3);
      sub.copyTo(dst, 3);
      assert.deepEqual(Buffer.from(dst.subarray(3)), whole.subarray(s, e));
    }
    // "é" and "ö" are two bytes each: text decoded across a cut inside them stays whole.
    assert.equal(body.toString('utf8'), whole.toString('utf8'));
    assert.equal(body.toString('utf8', 0, 6), 'héllo');
  }
});

test('one chunk: toBuffer is a view, not a copy; bad ranges and overflows throw', () => {
  const one = ChunkedBytes.of(whole);
  const view = one.toBuffer();
  assert.equal(view.buffer, whole.buffer);
  assert.throws(() => one.subarray(5, 2), RangeError);
  assert.throws(() => one.subarray(0, whole.length + 1), RangeError);
  assert.throws(() => one.copyTo(new Uint8Array(4)), RangeError);
});
