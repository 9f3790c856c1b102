// `ferry convert` and `ferry compare` with an ncnn .param, as a user runs them (child processes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_MODEL, ncnnSkip } from './helpers.mjs';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const ferry = (...args) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
const skip = ncnnSkip();
let dir;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-convert-cli-')); });
after(() => rm(dir, { recursive: true, force: true }));

test('ferry convert --to ncnn writes OUT.param/.bin/.io.json and reports PASS; ferry compare model.onnx OUT.param passes', { skip }, () => {
  const out = join(dir, 'fashion');
  const c = ferry('convert', FASHION_MODEL, '--to', 'ncnn', '-o', out);
  assert.equal(c.status, 0, c.stderr + c.stdout);
  assert.match(c.stdout, /wrote +.*fashion\.param +\(9 layers/);
  assert.match(c.stdout, /^PASS: cosine >= 0\.9999/m);
  const k = ferry('compare', FASHION_MODEL, `${out}.param`, '--atol', '1e-4', '--rtol', '1e-3');
  assert.equal(k.status, 0, k.stderr + k.stdout);
  assert.match(k.stdout, /B +.*fashion\.param +ncnn/);
  assert.match(k.stdout, /logits +\[1,10\].*PASS/);
});

test('ferry convert: usage errors and an unreadable model fail with one line naming the problem', () => {
  const noTo = ferry('convert', FASHION_MODEL, '-o', join(dir, 'x'));
  assert.notEqual(noTo.status, 0);
  assert.match(noTo.stderr, /--to must be ncnn or ort/);
  const tflite = ferry('convert', FASHION_MODEL, '--to', 'tflite', '-o', join(dir, 'x'));
  assert.notEqual(tflite.status, 0);
  assert.match(tflite.stderr, /--to must be ncnn or ort \(got "tflite"\)/);
  const both = ferry('convert', FASHION_MODEL, '--to', 'ncnn', '--fp16', '--int8', '--calibrate', dir, '-o', join(dir, 'x'));
  assert.match(both.stderr, /give --fp16 or --int8, not both/);
  const r = ferry('convert', join(dir, 'missing.onnx'), '--to', 'ncnn', '-o', join(dir, 'x'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /\[ONNX_INVALID\]|\[MODEL_LOAD_FAILED\]/);
});
