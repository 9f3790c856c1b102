// The schema ferry decodes with is the onnx-ml.proto kept in src/onnx/proto (embedded, so dist/ needs no data files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ONNX_PROTO } from '../../dist/onnx/proto/schema.js';

test('the embedded schema is src/onnx/proto/onnx-ml.proto (regenerate: node src/onnx/proto/embed.mjs)', () => {
  const file = readFileSync(new URL('../../src/onnx/proto/onnx-ml.proto', import.meta.url), 'utf8');
  assert.ok(ONNX_PROTO === file, 'schema.ts is stale: run node src/onnx/proto/embed.mjs');
  assert.match(file, /SPDX-License-Identifier: Apache-2.0/, 'the license header is kept');
  assert.match(file, /FLOAT8E4M3FN = 17/, 'a schema with the float8 types (onnx >= 1.14)');
});
