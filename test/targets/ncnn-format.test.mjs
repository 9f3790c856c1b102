// ncnn's file formats, byte by byte, and the refusals: the .param text (magic, counts, typed
// params, arrays), float spelling ParamDict reads back exactly, the .bin's storage tags and
// 4-byte alignment, and an unsupported op refused naming the node with nothing written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatFloat, writeParam } from '../../dist/targets/ncnn/param-writer.js';
import { TAG_FP16, TAG_INT8, writeBin } from '../../dist/targets/ncnn/bin-writer.js';
import { Net, layer, p, floatWeight } from '../../dist/targets/ncnn/net.js';
import { convertToNcnn } from '../../dist/targets/ncnn/convert.js';
import { parseTable, writeTable } from '../../dist/targets/ncnn/int8/table.js';
import { float2int8 } from '../../dist/targets/ncnn/int8/quantize-net.js';
import { Model, Graph, Node, Tensor, ValueInfo, DataType, attr } from '../../dist/onnx/index.js';
import { saveModel } from '../../dist/onnx/io/save.js';
import { FerryError } from '../../dist/errors.js';

test('floats are spelled so ncnn reads a float back exactly: "." or "e", at most 15 characters, at most 9 decimals', () => {
  for (const v of [0, 1, 6, -6, 0.5, 1 / 6, 1e-5, 9.999999747378752e-6, 3.4028234663852886e38, -3.4028234663852886e38, 1.17549435e-38, 123456.789, 0.0001234567]) {
    const s = formatFloat(v);
    assert.match(s, /[.e]/, `${v} -> ${s}`);
    assert.ok(s.length <= 15, `${v} -> ${s}`);
    const decimals = s.split('e')[0].split('.')[1] ?? '';
    assert.ok(decimals.length <= 9, `${v} -> ${s}`);
    assert.equal(Math.fround(Number(s)), Math.fround(v), `${v} -> ${s}`);
  }
  assert.equal(formatFloat(6), '6e0');
  assert.equal(formatFloat(0), '0.0');
});

test('.param: magic, layer and blob counts, one layer a line, typed k=v params, -23300-k arrays', () => {
  const net = new Net();
  net.layers.push(layer({ type: 'Input', name: 'in', tops: ['data'], params: [[0, p.int(4)], [1, p.int(4)], [2, p.int(1)]] }));
  net.layers.push(layer({ type: 'Clip', name: 'clip', bottoms: ['data'], tops: ['c'], params: [[1, p.float(6)], [0, p.float(0)]] }));
  net.layers.push(layer({ type: 'Crop', name: 'crop', bottoms: ['c'], tops: ['y'], params: [[9, p.ints([0, 1])], [10, p.ints([2, 3])], [11, p.ints([1, 2])]] }));
  const lines = writeParam(net).trimEnd().split('\n');
  assert.equal(lines[0], '7767517');
  assert.equal(lines[1], '3 3');
  assert.deepEqual(lines[2].split(/\s+/), ['Input', 'in', '0', '1', 'data', '0=4', '1=4', '2=1']);
  assert.deepEqual(lines[3].split(/\s+/), ['Clip', 'clip', '1', '1', 'data', 'c', '0=0.0', '1=6e0']);
  assert.deepEqual(lines[4].split(/\s+/).slice(6), ['-23309=2,0,1', '-23310=2,2,3', '-23311=2,1,2']);
});

test('.bin: fp32 tag 0, fp16 tag 0x01306B47, int8 tag 0x000D4B38, untagged raw fp32, each padded to 4 bytes', () => {
  const net = new Net();
  const w = Float32Array.of(1, -2, 0.5);
  net.layers.push(layer({ type: 'Convolution', name: 'c', weights: [floatWeight(w, true), floatWeight(Float32Array.of(7, 1e-40), false)] }));
  net.layers.push(layer({ type: 'InnerProduct', name: 'ip', weights: [{ kind: 'int8', data: Int8Array.of(1, -127, 5) }, floatWeight(Float32Array.of(3), false)] }));
  const fp32 = Buffer.from(writeBin(net, 'fp32'));
  assert.equal(fp32.length, 4 + 12 + 8 + 4 + 4 + 4);
  assert.equal(fp32.readUInt32LE(0), 0);
  assert.deepEqual([fp32.readFloatLE(4), fp32.readFloatLE(8), fp32.readFloatLE(12)], [1, -2, 0.5]);
  assert.equal(fp32.readFloatLE(16), 7);
  assert.equal(fp32.readFloatLE(20), 0, 'denormals are flushed to zero');
  assert.equal(fp32.readUInt32LE(24), TAG_INT8);
  assert.deepEqual([...fp32.subarray(28, 32)].map((b) => (b << 24) >> 24), [1, -127, 5, 0]);
  assert.equal(fp32.readFloatLE(32), 3);
  const fp16 = Buffer.from(writeBin(net, 'fp16'));
  assert.equal(fp16.readUInt32LE(0), TAG_FP16);
  assert.equal(fp16.length, 4 + 8 + 8 + 8 + 4, 'three halves padded to 8 bytes; untagged stays fp32');
  assert.deepEqual([fp16.readUInt16LE(4), fp16.readUInt16LE(6), fp16.readUInt16LE(8), fp16.readUInt16LE(10)], [0x3c00, 0xc000, 0x3800, 0]);
  assert.equal(TAG_FP16, 0x01306b47);
  assert.equal(TAG_INT8, 0x000d4b38);
});

test('int8: round half away from zero and clamp to +-127 (ncnn float2int8); table in ncnn2table format', () => {
  assert.deepEqual([2.5, -2.5, 0.49, 200, -200].map(float2int8), [3, -3, 0, 127, -127]);
  const text = writeTable([{ layer: 'conv1', weightScales: Float32Array.of(10.5, 20), bottomScale: 50.25 }, { layer: 'fc', weightScales: Float32Array.of(3), bottomScale: 7 }]);
  assert.deepEqual(text.split('\n').filter(Boolean), ['conv1_param_0 10.500000 20.000000 ', 'fc_param_0 3.000000 ', 'conv1 50.250000 ', 'fc 7.000000 ']);
  assert.deepEqual(parseTable(text).get('conv1'), { weightScales: [10.5, 20], bottomScale: 50.25 });
});

function withOp(opType) {
  const graph = new Graph({
    name: 'g',
    inputs: [ValueInfo.tensor('x', DataType.FLOAT, [1, 3, 8, 8])],
    outputs: [ValueInfo.tensor('y', DataType.FLOAT, [1, 3, 8, 8])],
    initializers: [Tensor.fromArray({ name: 'w', dims: [3, 3, 1, 1], data: new Float32Array(9).fill(0.5) })],
    nodes: [
      new Node({ opType: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['c'], attributes: { kernel_shape: attr.ints([1, 1]) } }),
      new Node({ opType, name: 'odd_one', inputs: ['c'], outputs: ['y'] }),
    ],
  });
  return new Model({ graph, opsetImports: new Map([['', 13]]), irVersion: 7 });
}

test('an unsupported op is refused naming the node and the op; nothing is written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ncnn-refuse-'));
  try {
    await saveModel(withOp('Det'), join(dir, 'm.onnx'));
    await assert.rejects(convertToNcnn(join(dir, 'm.onnx'), join(dir, 'out/m'), { verify: false }), (err) => {
      assert.ok(err instanceof FerryError);
      assert.equal(err.code, 'UNSUPPORTED_OP');
      assert.match(err.message, /Det "odd_one"/);
      assert.match(err.message, /operator Det/);
      return true;
    });
    assert.deepEqual((await readdir(dir)).sort(), ['m.onnx']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a supported op with an attribute ncnn cannot express is refused the same way', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ncnn-refuse-'));
  try {
    const m = withOp('Relu');
    const g = m.graph;
    const ints = (name, v) => g.addInitializer(Tensor.fromArray({ name, dims: [1], data: BigInt64Array.of(BigInt(v)) }));
    ints('s0', 0); ints('s1', 8); ints('ax', 3); ints('st', 2);
    g.addNode(new Node({ opType: 'Slice', name: 'strided', inputs: ['y', 's0', 's1', 'ax', 'st'], outputs: ['z'] }));
    g.outputs = [ValueInfo.tensor('z', DataType.FLOAT, [1, 3, 8, 4])];
    await saveModel(m, join(dir, 'm.onnx'));
    await assert.rejects(convertToNcnn(join(dir, 'm.onnx'), join(dir, 'm'), { verify: false }), /Slice "strided": Slice has steps 2; ncnn's Crop takes steps of 1 \[UNSUPPORTED_OP\]|Slice "strided": Slice has steps 2/);
    assert.deepEqual(await readdir(dir), ['m.onnx']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Identity and Dropout leave no layer; a conv + relu is one Convolution with activation_type 1', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ncnn-noop-'));
  try {
    const m = withOp('Relu');
    const g = m.graph;
    g.addNode(new Node({ opType: 'Identity', name: 'id', inputs: ['y'], outputs: ['z'] }));
    g.outputs = [ValueInfo.tensor('z', DataType.FLOAT, [1, 3, 8, 8])];
    await saveModel(m, join(dir, 'm.onnx'));
    const r = await convertToNcnn(join(dir, 'm.onnx'), join(dir, 'm'), { verify: false });
    const param = await readFile(r.param, 'utf8');
    assert.deepEqual(r.layerTypes, [['Input', 1], ['Convolution', 1]]);
    assert.match(param, /Convolution .* 9=1/);
    assert.doesNotMatch(param, /Identity|Noop|ReLU/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
