// `ferry quantize` and `ferry eval` on the command line: usage errors (exit 2), data and model
// errors with their codes (exit 1), and a full run with --json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { saveModel, Model, Graph, Node, ValueInfo, DataType } from '../../dist/onnx/index.js';
import { writeNpz } from '../../dist/tensors/npy.js';
import { residualCnn, rng } from './models.mjs';
import { textLine } from './data.mjs';

const FERRY = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function ferry(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [FERRY, ...args], (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

let dir;
let model;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-qcli-'));
  model = join(dir, 'cnn.onnx');
  await saveModel(residualCnn(), model);
  const r = rng(5);
  await writeNpz(join(dir, 'calib.npz'), [['x', { datatype: 'FP32', shape: [20, 3, 16, 16], data: Float32Array.from({ length: 20 * 768 }, () => r()) }]]);
  await writeNpz(join(dir, 'wrong.npz'), [['x', { datatype: 'FP32', shape: [4, 3, 8, 8], data: new Float32Array(4 * 192) }]]);
  await writeNpz(join(dir, 'ints.npz'), [['x', { datatype: 'INT32', shape: [4, 3, 16, 16], data: new Int32Array(4 * 768) }]]);
  await mkdir(join(dir, 'images'));
  await writeFile(join(dir, 'images', 'a.png'), await textLine(0, 16, 16));
  const relu = new Graph({
    inputs: [ValueInfo.tensor('x', DataType.FLOAT, [1, 4])], outputs: [ValueInfo.tensor('y', DataType.FLOAT, [1, 4])],
    nodes: [new Node({ opType: 'Relu', inputs: ['x'], outputs: ['y'] })],
  });
  await saveModel(new Model({ graph: relu, opsetImports: new Map([['', 13]]) }), join(dir, 'relu.onnx'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('usage errors exit 1 with one line pointing to --help', async () => {
  for (const args of [[model, 'o.onnx'], [model, 'o.onnx', '--int8'], [model, 'o.onnx', '--fp16', '--int8'], [model, 'o.onnx', '--int8', '--calibrate', 'x', '--dynamic'],
    [model, 'o.onnx', '--int8', '--calibrate', 'x', '--method', 'kl'], [model],
    [model, 'o.onnx', '--int8', '--dynamic', '--target-cpu', 'pentium'], [model, 'o.onnx', '--int8', '--dynamic', '--weights', 'int4'],
    [model, 'o.onnx', '--fp16', '--target-cpu', 'vnni']]) {
    const r = await ferry(['quantize', ...args]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^ferry quantize: .*\(ferry quantize --help lists the options\) \[BAD_FLAG\]\n$/);
  }
  const help = await ferry(['quantize', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--calibrate DATA/);
  assert.match(help.stdout, /Resize/);
  assert.equal((await ferry(['eval', '--help'])).code, 0);
});

test('calibration data that cannot feed the model: BAD_CALIBRATION_DATA naming the problem', async () => {
  const cases = [
    [join(dir, 'missing.npz'), /no such file/],
    [join(dir, 'wrong.npz'), /\[4,3,8,8\].*takes \[batch,3,16,16\]/],
    [join(dir, 'ints.npz'), /INT32, model input "x" takes FP32/],
    [join(dir, 'images'), /no config\.yaml/],
  ];
  for (const [data, message] of cases) {
    const r = await ferry(['quantize', model, join(dir, 'o.onnx'), '--int8', '--calibrate', data]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /\[BAD_CALIBRATION_DATA\]/);
    assert.match(r.stderr, message);
  }
  const noLabels = await ferry(['eval', model, join(dir, 'calib.npz')]);
  assert.equal(noLabels.code, 1);
  assert.match(noLabels.stderr, /needs labels.*\[BAD_CALIBRATION_DATA\]/);
});

test('a model with nothing to quantize: QUANTIZE_FAILED', async () => {
  const r = await ferry(['quantize', join(dir, 'relu.onnx'), join(dir, 'o.onnx'), '--int8', '--dynamic']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nothing to quantize.*\[QUANTIZE_FAILED\]/);
});

test('a full run with --json: the report on stdout, progress on stderr', async () => {
  const r = await ferry(['quantize', model, join(dir, 'q.onnx'), '--int8', '--calibrate', join(dir, 'calib.npz'), '--bench-seconds', '0.1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.mode, 'int8-static');
  assert.equal(j.settings.activationType, 'uint8');
  assert.ok(['vnni', 'avx512', 'avx2', 'arm64', 'any'].includes(j.int8Scheme.target), JSON.stringify(j.int8Scheme));
  const vnni = JSON.parse((await ferry(['quantize', model, join(dir, 'v.onnx'), '--int8', '--dynamic', '--target-cpu', 'vnni', '--bench-seconds', '0', '--json'])).stdout);
  assert.deepEqual([vnni.int8Scheme.target, vnni.int8Scheme.weightRange, vnni.settings.targetCpu], ['vnni', 'full', 'vnni']);
  const u8 = JSON.parse((await ferry(['quantize', model, join(dir, 'u.onnx'), '--int8', '--dynamic', '--weights', 'uint8', '--bench-seconds', '0', '--json'])).stdout);
  assert.equal(u8.int8Scheme.weightType, 'uint8');
  assert.ok(j.size.afterBytes < j.size.beforeBytes);
  assert.equal(typeof j.verdict.pays, 'boolean');
  assert.ok(j.throughput.every((t) => t.before > 0));
  const text = await ferry(['quantize', model, join(dir, 'h.onnx'), '--fp16', '--bench-seconds', '0']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /size +\d.* -> .*\(\d\.\d\dx smaller\)/);
  assert.match(text.stdout, /agreement with float on 8 seeded random input sets/);
});
