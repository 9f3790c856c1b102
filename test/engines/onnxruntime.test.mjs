// What only the ONNX Runtime engine does: execution providers, spinning threads, and giving up
// when a dead instance cannot be replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../../dist/engines/registry.js';
import { FIXTURES } from '../helpers.mjs';

const SCALE = join(FIXTURES, 'scale/1/model.onnx');

test('onnxruntime: execution providers that are not there are refused clearly', async () => {
  await assert.rejects(createEngine('onnxruntime', { modelPath: SCALE, parameters: { execution_providers: ['warp-drive'] } }),
    (err) => err.code === 'CONFIG_INVALID' && /"warp-drive", which is not one of cpu, cuda/.test(err.message));
  await assert.rejects(createEngine('onnxruntime', { modelPath: SCALE, parameters: { execution_providers: ['cuda'] } }),
    (err) => err.code === 'ENGINE_UNAVAILABLE' && /"cuda"/.test(err.message));
});

test('onnxruntime: sessions with sleeping (non-spinning) threads load and run the same', async () => {
  const e = await createEngine('onnxruntime', { modelPath: SCALE, parameters: { intra_op_threads: 2, allow_spinning: false } });
  try {
    const r = await e.run({ x: { datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) } });
    assert.deepEqual([...r.outputs.y.data], [2, 4, 6, 8]);
  } finally { await e.dispose(); }
});

test('onnxruntime: when a dead instance cannot be replaced, the engine says why and refuses runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ort-'));
  const file = join(dir, 'model.onnx');
  await copyFile(SCALE, file);
  const reasons = [];
  const e = await createEngine('onnxruntime', { modelPath: file, onUnavailable: (r) => reasons.push(r) });
  try {
    await writeFile(file, 'gone bad'); // the replacement will not load
    await e.terminateInstance(0);
    const t0 = Date.now();
    while (reasons.length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(reasons.length, 1);
    assert.match(reasons[0], /replacement could not load the model/);
    await assert.rejects(e.run({ x: { datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) } }),
      (err) => err.code === 'INFERENCE_FAILED' && /unavailable/.test(err.message));
  } finally { await e.dispose(); }
});
