// `ferry convert --to ort`: ONNX Runtime's FlatBuffer format ("ORTM"), loaded back by ONNX
// Runtime, matching the .onnx; its required_operators.config lists what ORT's own
// convert_onnx_models_to_ort lists (where ORT's Python package is in .venv); and `ferry serve
// model.ort` answers what `ferry serve model.onnx` answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertToOrt } from '../../dist/targets/ort/convert.js';
import { startServer } from '../../dist/index.js';
import { FASHION_MODEL, ROOT } from './helpers.mjs';

let dir;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-ort-')); });
after(() => rm(dir, { recursive: true, force: true }));

const opLines = (text) => text.split('\n').filter((l) => l && !l.startsWith('#'));

test('fashion -> .ort: ORT format, same outputs, required_operators.config in ORT\'s format', async () => {
  const r = await convertToOrt(FASHION_MODEL, join(dir, 'fashion'), {});
  assert.equal(r.output, join(dir, 'fashion.ort'));
  const bytes = await readFile(r.output);
  assert.equal(bytes.subarray(4, 8).toString(), 'ORTM', 'FlatBuffer file identifier of the ORT format');
  assert.ok(r.parity.pass, JSON.stringify(r.parity.outputs));
  assert.ok(r.parity.outputs.every((o) => o.stats.maxAbs === 0 || o.stats.maxAbs < 1e-5));
  const config = await readFile(r.config, 'utf8');
  assert.match(config, /^# Generated from model\/s:\n# - .*fashion\.ort\n/);
  const lines = opLines(config);
  assert.ok(lines.every((l) => /^[\w.]+;\d+;[\w,]+$/.test(l)), config);
  assert.ok(lines.includes('ai.onnx;12;MaxPool'), config); // MaxPool's schema in force at opset 13 is version 12
  assert.ok(lines.some((l) => /Conv/.test(l)), config);
});

const venvPython = join(ROOT, '.venv/bin/python');
const ortPython = existsSync(venvPython) && spawnSync(venvPython, ['-c', 'import onnxruntime.tools.convert_onnx_models_to_ort'], { encoding: 'utf8' }).status === 0;

test('the config lists the operators ORT\'s convert_onnx_models_to_ort lists', { skip: ortPython ? false : 'no onnxruntime in .venv (.venv/bin/pip install --no-deps onnxruntime flatbuffers)' }, async () => {
  const work = join(dir, 'ref');
  const model = join(work, 'fashion.onnx');
  await rm(work, { recursive: true, force: true });
  await (await import('node:fs/promises')).mkdir(work, { recursive: true });
  await copyFile(FASHION_MODEL, model);
  const py = spawnSync(venvPython, ['-m', 'onnxruntime.tools.convert_onnx_models_to_ort', model, '--optimization_style', 'Fixed'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(py.status, 0, py.stderr);
  const reference = opLines(await readFile(join(work, 'fashion.required_operators.config'), 'utf8'));
  const ours = opLines(await readFile(join(dir, 'fashion.required_operators.config'), 'utf8'));
  assert.deepEqual(ours, reference);
});

test('ferry serve answers the same from the .ort as from the .onnx', async () => {
  const input = Float32Array.from({ length: 784 }, (_, i) => Math.sin(i) * 0.8);
  const ask = async (path) => {
    const server = await startServer({ modelPath: path, port: 0, host: '127.0.0.1', logLevel: 'silent' });
    try {
      const res = await fetch(`${server.url}/v2/models/fashion/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array.from(input) }] }),
      });
      assert.equal(res.status, 200);
      return (await res.json()).outputs[0].data;
    } finally {
      await server.close();
    }
  };
  await copyFile(FASHION_MODEL, join(dir, 'fashion.onnx'));
  const a = await ask(join(dir, 'fashion.onnx'));
  const b = await ask(join(dir, 'fashion.ort'));
  assert.equal(a.length, 10);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5, `logit ${i}: ${a[i]} vs ${b[i]}`);
});
