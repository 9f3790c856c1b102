// Differential test of `ferry check` against onnx.checker: test/onnx/check_mutants.py breaks valid
// models (conformance-suite models and a few with a function, a sparse initializer, external data)
// in a few dozen ways — a field dropped, a name duplicated, raw_data truncated, an unknown domain —
// and asks onnx.checker 1.23.2 about each; `ferry check` must agree on accept/reject.
//   - onnx.checker rejects and ferry accepts: never (what this test exists for);
//   - ferry rejects what onnx.checker accepts only where onnx.checker's full_check (shape
//     inference) rejects it too, or for the few faults listed in FERRY_STRICTER, each with its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkModelFile } from '../../dist/onnx/check/index.js';
import { referenceUnavailable } from './onnx-reference.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SUITE = '/usr/share/libonnx-testdata/data';

/**
 * Faults ferry rejects though onnx.checker (even with full_check) lets them through: `base/mutation`
 * (`*` for every base) to why. Each must still occur: the list cannot go stale.
 */
const FERRY_STRICTER = {
  '*/raw_extended': 'raw_data longer than its dims need: onnx.checker only asks that it be long enough; ONNX Runtime refuses the initializer',
  'function/extra_input': 'a call passing more inputs than the model-local function takes: onnx.checker does not check calls; ONNX Runtime refuses to inline it',
};

function mutants(dir) {
  return new Promise((resolve, reject) => {
    const python = join(ROOT, '.venv/bin/python');
    const env = { ...process.env, PYTHONPATH: process.env.ONNX_REFERENCE_PYTHONPATH ?? join(ROOT, '.venv/onnx-ref'), PYTHONDONTWRITEBYTECODE: '1' };
    const child = spawn(python, [join(ROOT, 'test/onnx/check_mutants.py'), dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`check_mutants.py exited ${code}:\n${err}`))));
  });
}

test('ferry check and onnx.checker agree on broken variants of valid models', async (t) => {
  const why = referenceUnavailable();
  if (why) return t.skip(why);
  assert.ok(existsSync(SUITE), `${SUITE} is missing: apt-get install libonnx-testdata`);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-check-mutants-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const t0 = performance.now();
  const { onnx, cases } = await mutants(dir);
  const bases = new Set(cases.map((c) => c.base));
  assert.ok(bases.size >= 15, `mutants of ${bases.size} base models`);
  assert.ok(cases.length >= 300, `${cases.length} mutants`);

  const missed = []; // onnx.checker rejects, ferry accepts
  const stricter = new Map(); // key -> case, ferry rejects what onnx.checker accepts
  let agree = 0;
  let byFullCheck = 0;
  for (const c of cases) {
    let ferryOk;
    let ferrySays;
    try {
      const r = await checkModelFile(c.file);
      ferryOk = r.ok;
      ferrySays = r.errors.slice(0, 2).map((e) => `${e.where}: ${e.message}`).join(' | ');
    } catch (err) {
      ferryOk = false; // ONNX_INVALID / ONNX_EXTERNAL_DATA: the loader refuses the file
      ferrySays = `${err.code}: ${err.message}`;
    }
    const onnxOk = c.onnx === null;
    if (ferryOk === onnxOk) agree++;
    else if (onnxOk) {
      if (c.onnxFull) byFullCheck++;
      else stricter.set(`${c.base}/${c.mutation}`, ferrySays);
    } else missed.push(`${c.base}/${c.mutation}: onnx.checker: ${c.onnx}`);
    if (c.mutation === 'none') assert.ok(ferryOk && onnxOk, `${c.base} unchanged is valid to both: ${ferrySays || c.onnx}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  t.diagnostic(`onnx ${onnx}: ${cases.length} models (${bases.size} bases), ${agree} agree; ferry stricter on ${byFullCheck} that full_check rejects too and ${stricter.size} listed; ${missed.length} missed; ${seconds.toFixed(1)} s`);

  assert.deepEqual(missed, [], 'every model onnx.checker rejects, ferry check rejects');
  const listed = (key) => FERRY_STRICTER[key] ?? FERRY_STRICTER[`*/${key.split('/')[1]}`];
  const unlisted = [...stricter].filter(([key]) => !listed(key)).map(([key, says]) => `${key}: ${says}`);
  assert.deepEqual(unlisted, [], 'ferry rejects only what onnx.checker full_check rejects, or a fault FERRY_STRICTER lists');
  for (const key of Object.keys(FERRY_STRICTER)) {
    const [base, mutation] = key.split('/');
    assert.ok([...stricter.keys()].some((k) => k.endsWith(`/${mutation}`) && (base === '*' || k.startsWith(`${base}/`))), `FERRY_STRICTER lists ${key}, which no longer happens: remove it`);
  }
  assert.ok(seconds < 30, `the differential run took ${seconds.toFixed(1)} s`);
});
