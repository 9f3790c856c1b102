import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHalfBits, fromHalfBits, fromConfigType, fromOrtType, DATATYPES } from '../../dist/tensors/dtype.js';

test('fp16 conversion matches IEEE 754 half for normals, subnormals, overflow and specials', () => {
  const cases = [[0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00],
    [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -26, 0x0000], [Infinity, 0x7c00], [-Infinity, 0xfc00], [0.1, 0x2e66], [1 / 3, 0x3555]];
  for (const [v, bits] of cases) assert.equal(toHalfBits(v), bits, `toHalf(${v})`);
  assert.ok(Number.isNaN(fromHalfBits(toHalfBits(NaN))));
  for (let bits = 0; bits < 0x7c00; bits += 97) assert.equal(toHalfBits(fromHalfBits(bits)), bits, `round trip 0x${bits.toString(16)}`);
});

test('datatype table: Triton, v2 and onnxruntime names agree', () => {
  assert.equal(fromConfigType('TYPE_FP32'), DATATYPES.FP32);
  assert.equal(fromConfigType('INT64'), DATATYPES.INT64);
  assert.equal(fromConfigType('TYPE_STRING'), undefined);
  assert.equal(fromOrtType('float16').v2, 'FP16');
  assert.equal(fromOrtType('bool').bytes, 1);
  assert.equal(fromOrtType('string'), undefined);
  for (const d of Object.values(DATATYPES)) assert.equal(fromOrtType(d.ort), d);
});
