// `ferry check` accepts every model of ONNX's backend conformance suite (Debian: libonnx-testdata,
// ~1,070 models: node/, simple/, pytorch-operator/, pytorch-converted/), checked in process, and the
// valid models this repository ships; the CLI says so and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkModelFile } from '../../dist/onnx/check/index.js';
import { FASHION_ONNX, ONNX_FIXTURES, SERVING_FIXTURES, RESNET18_ONNX } from './helpers.mjs';

const SUITE = '/usr/share/libonnx-testdata/data';
const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Every model.onnx one level under each suite folder (data/real holds only download links). */
function suiteModels() {
  const out = [];
  for (const group of readdirSync(SUITE).sort()) {
    for (const name of readdirSync(join(SUITE, group)).sort()) {
      const file = join(SUITE, group, name, 'model.onnx');
      if (existsSync(file)) out.push(file);
    }
  }
  return out;
}

/** Checks files; returns `path: first errors` for each rejected one. */
async function rejected(files) {
  const out = [];
  for (const file of files) {
    try {
      const r = await checkModelFile(file);
      if (!r.ok) out.push(`${file}: ${r.errors.slice(0, 3).map((e) => `${e.where}: ${e.message}`).join(' | ')}`);
    } catch (err) {
      out.push(`${file}: ${err.code ?? ''} ${err.message}`);
    }
  }
  return out;
}

test('every model of the ONNX backend conformance suite passes', async () => {
  assert.ok(existsSync(SUITE), `${SUITE} is missing: install the ONNX conformance models with \`apt-get install libonnx-testdata\``);
  const files = suiteModels();
  assert.ok(files.length > 1000, `expected over 1,000 suite models, found ${files.length}`);
  assert.ok(files.filter((f) => f.includes('/node/')).length > 900, 'the node tests are there');
  const t0 = performance.now();
  const bad = await rejected(files);
  const ms = performance.now() - t0;
  assert.deepEqual(bad, [], `${bad.length} of ${files.length} suite models rejected:\n${bad.join('\n')}`);
  assert.ok(ms < 30_000, `checking ${files.length} models took ${ms.toFixed(0)} ms`);
});

test("the repository's models pass: the example, serving fixtures, ONNX fixtures (and ResNet-18 when exported)", async () => {
  const files = [
    FASHION_ONNX,
    ...readdirSync(SERVING_FIXTURES).map((m) => join(SERVING_FIXTURES, m, '1', 'model.onnx')).filter(existsSync),
    ...readdirSync(ONNX_FIXTURES).filter((f) => f.endsWith('.onnx')).map((f) => join(ONNX_FIXTURES, f)),
    join(ONNX_FIXTURES, 'external', 'model.onnx'),
    ...(existsSync(RESNET18_ONNX) ? [RESNET18_ONNX] : []),
  ];
  assert.ok(files.length >= 10);
  assert.deepEqual(await rejected(files), []);
  for (const f of files) assert.deepEqual((await checkModelFile(f)).warnings, [], `${f} has no warnings`);
});

test('the CLI: "ok: N nodes checked" and exit 0; --json for machines', async () => {
  const run = (...args) => new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'check', ...args], { encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
  const text = await run(FASHION_ONNX);
  assert.equal(text.code, 0, text.stderr);
  assert.deepEqual(text.stdout.trimEnd().split('\n'), [
    `${FASHION_ONNX}: IR version 7, opset ai.onnx 13 (schemas of onnx 1.23.2)`,
    'ok: 13 nodes checked',
  ]);
  const json = await run(join(ONNX_FIXTURES, 'control-flow.onnx'), '--json');
  assert.equal(json.code, 0);
  const report = JSON.parse(json.stdout);
  assert.equal(report.ok, true);
  assert.equal(report.nodes, 6, 'If and Loop with their subgraph nodes');
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.opsets, { 'ai.onnx': 13 });
  const help = await run('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: ferry check MODEL/);
});
