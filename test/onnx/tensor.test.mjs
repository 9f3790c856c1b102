// Tensors: every TensorProto storage decodes to the bytes ONNX's numpy_helper gives (storage.json),
// sub-byte and float8 types, the constructors and their checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  loadModel, decodeModel, encodeModel, Tensor, DataType, dataTypeName, parseDataType, rawByteLength, Model, Graph, ValueInfo,
  toBFloat16Bits, fromBFloat16Bits,
} from '../../dist/onnx/index.js';
import { encodeMessage } from '../../dist/onnx/proto/codec.js';
import { ONNX_FIXTURES } from './helpers.mjs';

const expected = JSON.parse(readFileSync(join(ONNX_FIXTURES, 'storage.json'), 'utf8'));
const hex = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

test('every storage (raw_data, float/int32/int64/double/uint64/string_data) reads as numpy wrote it', async () => {
  const model = await loadModel(join(ONNX_FIXTURES, 'storage.onnx'));
  const inits = model.graph.initializers;
  assert.equal(inits.size, Object.keys(expected).length);
  for (const [name, e] of Object.entries(expected)) {
    const t = inits.get(name);
    assert.ok(t, name);
    assert.equal(t.dataType, e.type, `${name} type`);
    assert.deepEqual(t.dims, e.dims, `${name} dims`);
    if (e.type === DataType.STRING) {
      assert.deepEqual(t.strings(), e.values);
      assert.equal(t.byteLength, e.values.reduce((n, s) => n + Buffer.byteLength(s), 0));
      continue;
    }
    assert.equal(hex(t.bytes()), e.hex, `${name} bytes`);
    assert.equal(t.byteLength, e.hex.length / 2, `${name} byteLength`);
    assert.equal(hex(t.data()), e.hex, `${name} data()`);
    assert.equal(Buffer.concat([...t.chunks(3)].map((c) => Buffer.from(c))).toString('hex'), e.hex, `${name} chunks()`);
    const dt = dataTypeName(t.dataType);
    if (dt === 'INT64' || dt === 'UINT64') {
      assert.deepEqual([...t.data()].map(String), e.values.map(String), `${name} exact 64-bit values`);
    } else if (dt === 'FLOAT16') {
      t.numbers().forEach((v, i) => assert.ok(Math.abs(v - e.values[i]) <= Math.abs(e.values[i]) * 1e-3, `${name}[${i}] ${v} ~ ${e.values[i]}`));
    } else if (dt === 'BFLOAT16') {
      t.numbers().forEach((v, i) => assert.ok(Math.abs(v - e.values[i]) <= Math.abs(e.values[i]) * 1e-2, `${name}[${i}] ${v} ~ ${e.values[i]}`));
    } else if (dt === 'BOOL') {
      assert.deepEqual(t.numbers(), e.values.map(Number));
    } else if (dt !== 'COMPLEX64') {
      assert.deepEqual(t.numbers(), [...new (dt === 'DOUBLE' ? Float64Array : Float32Array)(e.values)].map((v, i) => (dt === 'FLOAT' || dt === 'DOUBLE' ? v : e.values[i])));
    }
  }
  assert.throws(() => inits.get('c64_field').numbers(), TypeError);
  assert.throws(() => inits.get('str').data(), TypeError);
});

test('field and raw storage of the same values are the same tensor data', async () => {
  const inits = (await loadModel(join(ONNX_FIXTURES, 'storage.onnx'))).graph.initializers;
  for (const name of inits.keys()) {
    if (!name.endsWith('_field')) continue;
    const raw = inits.get(name.replace('_field', '_raw'));
    if (!raw) continue;
    assert.equal(hex(inits.get(name).data()), hex(raw.data()), name);
    assert.equal(inits.get(name).data().constructor, raw.data().constructor, `${name}: same typed array class`);
  }
});

/** A one-initializer model built from TensorProto fields, as another exporter might write it. */
function modelWithTensor(tensorProto) {
  const bytes = encodeMessage('ModelProto', {
    ir_version: 10, opset_import: [{ domain: '', version: 21 }],
    graph: { name: 'g', initializer: [tensorProto], output: [{ name: tensorProto.name }] },
  });
  return decodeModel(bytes);
}

test('float8, int4, uint2 and float6 data from int32_data and raw_data', () => {
  const cases = [
    // FLOAT8E4M3FN: one element per int32 (its bits)
    { t: { name: 'f8', data_type: DataType.FLOAT8E4M3FN, dims: [3], int32_data: [0x38, 0xc0, 0x7e] }, bytes: '38c07e' },
    // INT4: two elements per int32_data value (a packed byte): [1, -1, 7] -> 0xf1, 0x07
    { t: { name: 'i4', data_type: DataType.INT4, dims: [3], int32_data: [0xf1, 0x07] }, bytes: 'f107' },
    { t: { name: 'i4raw', data_type: DataType.INT4, dims: [3], raw_data: Buffer.from([0xf1, 0x07]) }, bytes: 'f107' },
    // UINT2: four per byte: [1, 2, 3, 0, 1] -> 0b00111001, 0b01
    { t: { name: 'u2', data_type: DataType.UINT2, dims: [5], int32_data: [0x39, 0x01] }, bytes: '3901' },
    // FLOAT6E2M3: one element per int32, packed LSB-first into 3 bytes per 4
    { t: { name: 'f6', data_type: DataType.FLOAT6E2M3, dims: [4], int32_data: [0x01, 0x02, 0x03, 0x3f] }, bytes: Buffer.from([0x01 | (0x02 << 6), (0x02 >> 2) | (0x03 << 4), (0x03 >> 4) | (0x3f << 2)]).toString('hex') },
  ];
  for (const c of cases) {
    const model = modelWithTensor(c.t);
    const t = model.graph.initializers.get(c.t.name);
    assert.equal(hex(t.data()), c.bytes, c.t.name);
    assert.equal(t.byteLength, rawByteLength(c.t.data_type, t.elementCount), `${c.t.name} byteLength`);
    assert.throws(() => t.numbers(), TypeError, `${c.t.name}: numbers() refuses sub-byte/float8`);
    // The storage survives a round trip (int32_data stays int32_data)
    const again = decodeModel(encodeModel(model)).graph.initializers.get(c.t.name);
    assert.equal(hex(again.data()), c.bytes, `${c.t.name} after a round trip`);
  }
});

test('data() refuses stored data that does not match the dims, naming the tensor', () => {
  const model = modelWithTensor({ name: 'short', data_type: DataType.FLOAT, dims: [4], raw_data: Buffer.alloc(12) });
  const t = model.graph.initializers.get('short');
  assert.equal(t.byteLength, 12);
  assert.throws(() => t.data(), (e) => e.code === 'ONNX_INVALID' && /"short".*12 bytes.*needs 16/.test(e.message));
  const field = modelWithTensor({ name: 'f', data_type: DataType.FLOAT, dims: [2], float_data: [1] }).graph.initializers.get('f');
  assert.throws(() => field.data(), (e) => e.code === 'ONNX_INVALID' && /float_data holds 1/.test(e.message));
  assert.throws(() => modelWithTensor({ name: 'neg', data_type: DataType.FLOAT, dims: [-1] }), (e) => e.code === 'ONNX_INVALID' && /"neg"/.test(e.message));
});

test('unaligned raw_data is copied to an aligned array; aligned data is a view (no copy)', () => {
  const buf = Buffer.alloc(13);
  const view = new Float32Array([1, 2, 3]);
  Buffer.from(view.buffer).copy(buf, 1);
  const t = Tensor.fromBytes({ name: 'u', dataType: DataType.FLOAT, dims: [3], bytes: buf.subarray(1) });
  assert.deepEqual([...t.data()], [1, 2, 3]);
  const aligned = Tensor.fromArray({ name: 'a', dims: [3], data: view });
  assert.equal(aligned.data(), view, 'a typed array is kept as given');
  assert.equal(aligned.bytes().buffer, view.buffer);
});

test('Tensor.fromArray infers the type from the typed array and converts plain values', () => {
  assert.equal(Tensor.fromArray({ dims: [2], data: new Int32Array(2) }).dataType, DataType.INT32);
  assert.equal(Tensor.fromArray({ dims: [1], data: new BigInt64Array(1) }).dataType, DataType.INT64);
  const i64 = Tensor.fromArray({ name: 'shape', dataType: DataType.INT64, dims: [3], data: [1, -1, 2n ** 62n] });
  assert.deepEqual([...i64.data()], [1n, -1n, 2n ** 62n]);
  assert.deepEqual(Tensor.fromArray({ dataType: DataType.FLOAT16, dims: [2], data: [1, -2] }).numbers(), [1, -2]);
  assert.deepEqual(Tensor.fromArray({ dataType: DataType.BFLOAT16, dims: [2], data: [1.5, 3] }).numbers(), [1.5, 3]);
  assert.deepEqual(Tensor.fromArray({ dataType: DataType.BOOL, dims: [3], data: [true, false, 2] }).numbers(), [1, 0, 1]);
  assert.equal(Tensor.fromArray({ dataType: DataType.FLOAT, dims: [], data: [0.5] }).elementCount, 1, 'a scalar');
  assert.equal(Tensor.fromArray({ dataType: DataType.FLOAT, dims: [0, 3], data: [] }).byteLength, 0);
  assert.throws(() => Tensor.fromArray({ dims: [2], data: [1, 2] }), TypeError, 'plain values need a dataType');
  assert.throws(() => Tensor.fromArray({ dataType: DataType.FLOAT, dims: [2], data: new Float64Array(2) }), TypeError, 'wrong typed array');
  assert.throws(() => Tensor.fromArray({ dims: [3], data: new Float32Array(2) }), RangeError, 'wrong length');
  assert.throws(() => Tensor.fromArray({ dims: [-1], data: new Float32Array(0) }), RangeError, 'negative dim');
  assert.throws(() => Tensor.fromArray({ dataType: DataType.INT4, dims: [2], data: [1, 2] }), TypeError, 'sub-byte types take bytes');
  assert.throws(() => Tensor.fromBytes({ dataType: DataType.INT4, dims: [3], bytes: new Uint8Array(1) }), RangeError, 'INT4 x3 is 2 bytes');
  assert.equal(Tensor.fromBytes({ dataType: DataType.INT4, dims: [3], bytes: new Uint8Array(2) }).byteLength, 2);
});

test('with() renames and reshapes sharing the data; strings; toString', () => {
  const t = Tensor.fromArray({ name: 'w', dims: [2, 3], data: new Float32Array(6).fill(1) });
  const r = t.with({ name: 'w2', dims: [3, 2] });
  assert.equal(r.data(), t.data(), 'shared data');
  assert.deepEqual(r.dims, [3, 2]);
  assert.throws(() => t.with({ dims: [4] }), RangeError);
  assert.ok(Object.isFrozen(t.dims));
  const s = Tensor.fromStrings({ name: 's', dims: [2], data: ['a', 'ü'] });
  assert.deepEqual(s.strings(), ['a', 'ü']);
  assert.equal(s.byteLength, 3);
  assert.equal(String(t), 'FLOAT[2,3] "w"');
});

test('data types: names, parsing, widths; bfloat16 rounding', () => {
  assert.equal(dataTypeName(DataType.FLOAT), 'FLOAT');
  assert.equal(dataTypeName(99), 'UNKNOWN(99)');
  assert.equal(parseDataType('float16'), DataType.FLOAT16);
  assert.equal(rawByteLength(DataType.UINT2, 5), 2);
  assert.equal(rawByteLength(DataType.FLOAT6E3M2, 5), 4);
  assert.ok(Number.isNaN(rawByteLength(DataType.STRING, 1)));
  assert.equal(toBFloat16Bits(1), 0x3f80);
  assert.equal(fromBFloat16Bits(toBFloat16Bits(1.00390625)), 1, 'ties round to even');
  assert.ok(Number.isNaN(fromBFloat16Bits(toBFloat16Bits(NaN))));
});

test('a tensor built in JS saves as raw_data and reads back', () => {
  const w = Tensor.fromArray({ name: 'w', dims: [2], data: new Float32Array([1, 2]) });
  const model = new Model({
    graph: new Graph({ name: 'g', initializers: [w], outputs: [ValueInfo.tensor('w', DataType.FLOAT, [2])] }),
  });
  const back = decodeModel(encodeModel(model));
  assert.deepEqual([...back.graph.initializers.get('w').data()], [1, 2]);
  assert.equal(back.producerName, 'ferry');
});
