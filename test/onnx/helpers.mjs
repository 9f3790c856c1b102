// Shared by the ONNX tests: fixture paths, temp folders, and onnxruntime-node as the reference runtime.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';

export const ONNX_FIXTURES = fileURLToPath(new URL('../fixtures/onnx/', import.meta.url));
export const SERVING_FIXTURES = fileURLToPath(new URL('../fixtures/models/', import.meta.url));
export const FASHION_ONNX = fileURLToPath(new URL('../../examples/fashion/1/model.onnx', import.meta.url));
/** ResNet-18 made by bench/resnet18/export.py (git-ignored: tests using it skip without it). */
export const RESNET18_ONNX = fileURLToPath(new URL('../../bench/models/resnet18/1/model.onnx', import.meta.url));

/** A fresh temp folder, removed after the test (`t` is the node:test context). */
export function tempDir(t, prefix = 'ferry-onnx-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function randomFloats(n, seed = 1) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Runs a model (a path or its bytes) in onnxruntime-node; returns { name: { type, dims, data } }. */
export async function runOrt(model, feeds = {}) {
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { type: v.type, dims: [...v.dims], data: Array.from(v.data) }]));
  } finally {
    await session.release();
  }
}

export function tensor(type, data, dims) {
  return new ort.Tensor(type, data, dims);
}

/** Asserts two runOrt results are identical: names, types, dims and every element (bit for bit for floats). */
export function assertSameOutputs(actual, expected, what) {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${what}: output names`);
  for (const k of Object.keys(expected)) {
    assert.equal(actual[k].type, expected[k].type, `${what}: ${k} type`);
    assert.deepEqual(actual[k].dims, expected[k].dims, `${what}: ${k} dims`);
    assert.deepEqual(actual[k].data, expected[k].data, `${what}: ${k} data`);
  }
}
