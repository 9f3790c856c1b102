// `ferry inspect` on TorchScript: the seed's `traced_cell.code`, through the bridge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ferry, PYTORCH_FIXTURES, SKIP_NO_TORCH, SYSTEM_PYTHON } from './helpers.mjs';

test('inspect shows a scripted module\'s code, signature, submodules and parameters', { skip: SKIP_NO_TORCH }, async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'ferry-ts-')), 'cell.pt');
  const exp = await ferry(['export', `${PYTORCH_FIXTURES}:make_cell`, '--input-shape', '3,4', '--input-shape', '3,4', '--to', 'torchscript', '--method', 'script', '--python', SYSTEM_PYTHON, '-o', out]);
  assert.equal(exp.code, 0, exp.stderr);
  const r = await ferry(['inspect', out, '--python', SYSTEM_PYTHON]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /format {6}TorchScript \(torch [\d.]+/);
  assert.match(r.stdout, /module MyCell/);
  assert.match(r.stdout, /parameters {2}20 \(80 B\)/, 'Linear(4, 4): 16 weights + 4 biases');
  assert.match(r.stdout, /dg {6}MyDecisionGate/);
  assert.match(r.stdout, /def forward\(self,\n {4}x: Tensor,\n {4}h: Tensor\) -> Tuple\[Tensor, Tensor\]:/);
  const json = JSON.parse((await ferry(['inspect', out, '--json', '--python', SYSTEM_PYTHON])).stdout);
  assert.equal(json.format, 'torchscript');
  assert.deepEqual(json.inputs.map((i) => i.name), ['x', 'h']);
  assert.match(json.code, /torch\.tanh/);
});
