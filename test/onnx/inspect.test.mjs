// `ferry inspect` as a user runs it: text tables and --json on the Fashion model, model folders,
// external data, and clear errors for files that are not ONNX.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_ONNX, ONNX_FIXTURES, tempDir } from './helpers.mjs';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FASHION_DIR = fileURLToPath(new URL('../../examples/fashion', import.meta.url));

function ferry(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

test('inspect prints versions, inputs and outputs with symbolic dims, operators, parameters, initializers', async () => {
  const { code, stdout, stderr } = await ferry('inspect', FASHION_ONNX);
  assert.equal(code, 0, stderr);
  const lines = stdout.split('\n');
  assert.ok(lines.includes('format      ONNX IR version 7, opset ai.onnx 13'), stdout);
  assert.ok(lines.includes('producer    pytorch 1.13.0'));
  assert.ok(lines.includes('graph       torch_jit: 13 nodes, 10 initializers'));
  assert.ok(lines.includes('parameters  130,890 (523.6 KB)'));
  assert.ok(lines.includes('input  FLOAT  [batch, 1, 28, 28]'), 'the batch dim is named');
  assert.ok(lines.includes('logits  FLOAT  [batch, 10]'));
  const ops = lines.slice(lines.indexOf('operators (5 types, 13 nodes)') + 3, lines.indexOf('operators (5 types, 13 nodes)') + 8);
  assert.deepEqual(ops, ['Relu         4', 'Conv         3', 'MaxPool      3', 'Gemm         2', 'Flatten      1'], 'sorted by count, aligned');
  assert.ok(lines.includes('classifier.2.weight  FLOAT  [128, 576]      294,912  inline'), 'largest first');
  assert.ok(lines.includes('external data  none'));
});

test('inspect --json: the same facts as data', async () => {
  const { code, stdout } = await ferry('inspect', FASHION_ONNX, '--json', '--top', '2');
  assert.equal(code, 0);
  const j = JSON.parse(stdout);
  assert.equal(j.file, FASHION_ONNX);
  assert.equal(j.fileBytes, 526547);
  assert.equal(j.irVersion, 7);
  assert.deepEqual(j.opsets, [{ domain: 'ai.onnx', version: 13 }]);
  assert.deepEqual(j.producer, { name: 'pytorch', version: '1.13.0' });
  assert.deepEqual(j.inputs, [{ name: 'input', dtype: 'FLOAT', shape: ['batch', 1, 28, 28] }]);
  assert.deepEqual(j.outputs, [{ name: 'logits', dtype: 'FLOAT', shape: ['batch', 10] }]);
  assert.equal(j.nodeCount, 13);
  assert.deepEqual(j.operators[0], { op: 'Relu', count: 4 });
  assert.deepEqual(j.parameters, { count: 130890, bytes: 523560, initializers: 10 });
  assert.deepEqual(j.largestInitializers, [
    { name: 'classifier.2.weight', dtype: 'FLOAT', shape: [128, 576], bytes: 294912, external: false },
    { name: 'onnx::Conv_46', dtype: 'FLOAT', shape: [64, 64, 3, 3], bytes: 147456, external: false },
  ]);
  assert.deepEqual(j.externalData, []);
});

test('inspect takes a model folder (the newest version in it)', async () => {
  const { code, stdout } = await ferry('inspect', FASHION_DIR, '--json');
  assert.equal(code, 0);
  assert.equal(JSON.parse(stdout).file, join(FASHION_DIR, '1', 'model.onnx'));
});

test('inspect lists external data files, and says when one is missing', async (t) => {
  const { stdout } = await ferry('inspect', join(ONNX_FIXTURES, 'external', 'model.onnx'));
  assert.match(stdout, /external data\nfile +tensors +bytes +status\n[- ]+\nmodel\.onnx\.data +2 +18,432 +18,432 bytes on disk\n/);
  assert.match(stdout, /w1 +FLOAT +\[64, 64\] +16,384 +external/);
  const dir = tempDir(t);
  copyFileSync(join(ONNX_FIXTURES, 'external', 'model.onnx'), join(dir, 'model.onnx'));
  const missing = await ferry('inspect', join(dir, 'model.onnx'));
  assert.equal(missing.code, 0, 'the graph is described even without its weights');
  assert.match(missing.stdout, /model\.onnx\.data +2 +18,432 +MISSING/);
});

test('inspect on files that are not ONNX says so, with the file and a stable code', async (t) => {
  const dir = tempDir(t);
  const zip = join(dir, 'model.pt');
  writeFileSync(zip, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(60)]));
  // A ZIP is taken for TorchScript and handed to the PyTorch bridge, which says why it is not one.
  const pt = await ferry('inspect', zip);
  assert.equal(pt.code, 1);
  assert.ok(pt.stderr.startsWith('ferry inspect: '), pt.stderr);
  assert.ok(pt.stderr.includes(zip), pt.stderr);
  assert.match(pt.stderr, /(torch\.jit\.load: RuntimeError: PytorchStreamReader failed reading zip archive.*\[PYTHON_ERROR\]|\[PYTHON_UNAVAILABLE\])\n$/);
  assert.equal(pt.stderr.split('\n').length, 2, 'one line, no traceback');

  const truncated = join(dir, 'cut.onnx');
  writeFileSync(truncated, readFileSync(FASHION_ONNX).subarray(0, 5000));
  const cut = await ferry('inspect', truncated);
  assert.equal(cut.code, 1);
  assert.match(cut.stderr, /cut\.onnx is not a valid ONNX model: protobuf decoding failed \(.*\); the file is truncated, corrupt or not ONNX \[ONNX_INVALID\]/);

  rmSync(truncated);
  const gone = await ferry('inspect', truncated);
  assert.match(gone.stderr, /cannot read .*cut\.onnx: ENOENT.*\[ONNX_INVALID\]/);

  const usage = await ferry('inspect');
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /which model\?/);
});
