// Finding the Python with PyTorch: the search order, what an explicit choice means, and the one
// clear line when no interpreter has torch. Fake interpreters are shell scripts around
// /usr/bin/python3: `-S` hides site-packages, so they have neither torch nor numpy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { findPython, pythonCandidates } from '../../dist/bridge/python.js';
import { SKIP_NO_TORCH, SYSTEM_PYTHON, PYTORCH_FIXTURES, ferry, script, tempDir } from './helpers.mjs';

test('candidates: --python, else FERRY_PYTHON, else python3 on PATH then /usr/bin/python3', () => {
  assert.deepEqual(pythonCandidates({ python: '/opt/py', env: { FERRY_PYTHON: '/x' } }), [{ command: '/opt/py', source: '--python' }]);
  assert.deepEqual(pythonCandidates({ env: { FERRY_PYTHON: '/x' } }), [{ command: '/x', source: 'FERRY_PYTHON' }]);
  assert.deepEqual(pythonCandidates({ env: {} }), [{ command: 'python3', source: 'PATH' }, { command: '/usr/bin/python3', source: 'fallback' }]);
});

test('search order: the first interpreter with torch wins; named ones are the only ones tried', { skip: SKIP_NO_TORCH }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const noTorchDir = join(dir, 'no-torch');
    const torchDir = join(dir, 'torch');
    mkdirSync(noTorchDir);
    mkdirSync(torchDir);
    const noTorch = script(noTorchDir, 'python3', `exec ${SYSTEM_PYTHON} -S "$@"`);
    const withTorch = script(torchDir, 'python3', `exec ${SYSTEM_PYTHON} "$@"`);

    // python3 on PATH lacks torch -> the fallback is used
    let found = await findPython({ env: { PATH: noTorchDir }, fallbacks: [withTorch] });
    assert.equal(found.source, 'fallback');
    assert.equal(found.command, withTorch);
    // python3 on PATH has torch -> it wins over the fallback
    found = await findPython({ env: { PATH: torchDir }, fallbacks: [noTorch] });
    assert.equal(found.source, 'PATH');
    assert.match(found.version, /^3\.\d+/);
    // FERRY_PYTHON beats PATH
    found = await findPython({ env: { PATH: torchDir, FERRY_PYTHON: withTorch } });
    assert.equal(found.source, 'FERRY_PYTHON');
    // --python beats FERRY_PYTHON
    found = await findPython({ python: withTorch, env: { PATH: noTorchDir, FERRY_PYTHON: noTorch } });
    assert.equal(found.source, '--python');
    // a named interpreter without torch is an error, even though others have it
    await assert.rejects(findPython({ python: noTorch, env: { PATH: torchDir } }), { code: 'PYTHON_UNAVAILABLE', message: /tried --python .*no-torch\/python3 \(Python 3\.\d+\.\d+ without torch\);/ });
    await assert.rejects(findPython({ env: { PATH: torchDir, FERRY_PYTHON: noTorch } }), { code: 'PYTHON_UNAVAILABLE', message: /FERRY_PYTHON=/ });
  } finally {
    cleanup();
  }
});

test('no interpreter has torch: one line naming each one tried and what to install', async () => {
  const { dir, cleanup } = tempDir();
  try {
    script(dir, 'python3', `exec ${SYSTEM_PYTHON} -S "$@"`); // python3 on PATH, without torch
    const broken = script(dir, 'broken', 'echo "fatal: no stdlib" >&2; exit 1');
    const err = await findPython({ env: { PATH: dir }, fallbacks: [broken, join(dir, 'missing-python')] }).catch((e) => e);
    assert.equal(err.code, 'PYTHON_UNAVAILABLE');
    assert.equal(err.message.split('\n').length, 1, 'one line');
    assert.match(err.message, /python3 on PATH \(Python 3\.\d+\.\d+ without torch\)/);
    assert.match(err.message, /broken \(not a working Python \(exited 1: fatal: no stdlib\)\)/);
    assert.match(err.message, /missing-python \(not found\)/);
    assert.match(err.message, /apt-get install python3-torch/);
    assert.match(err.message, /pip install torch/);
  } finally {
    cleanup();
  }
});

test('ferry export --python <no torch>: exit 1 and the PYTHON_UNAVAILABLE line', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const noTorch = script(dir, 'python-no-torch', `exec ${SYSTEM_PYTHON} -S "$@"`);
    const r = await ferry(['export', `${PYTORCH_FIXTURES}:make_cell`, '--input-shape', '3,4', '--input-shape', '3,4',
      '--to', 'torchscript', '-o', join(dir, 'cell.pt'), '--python', noTorch]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^ferry export: no Python with PyTorch: tried --python .*python-no-torch .*apt-get install python3-torch.*\[PYTHON_UNAVAILABLE\]$/);
  } finally {
    cleanup();
  }
});

test('an interpreter whose torch fails to import is reported by the bridge as PYTHON_UNAVAILABLE', { skip: SKIP_NO_TORCH }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    // torch is found on the path, but importing it fails (a broken install)
    mkdirSync(join(dir, 'site', 'torch'), { recursive: true });
    writeFileSync(join(dir, 'site', 'torch', '__init__.py'), 'raise ImportError("libtorch_cpu.so: cannot open shared object file")\n');
    const fake = script(dir, 'python', `PYTHONPATH=${join(dir, 'site')}:$PYTHONPATH exec ${SYSTEM_PYTHON} "$@"`);
    const r = await ferry(['compare', `${PYTORCH_FIXTURES}:make_cnn`, `${PYTORCH_FIXTURES}:make_cnn`, '--input-shape', 'x:1,3,8,8', '--python', fake]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot import the bridge's needs \(ImportError: libtorch_cpu\.so: cannot open shared object file\).*apt-get install python3-torch.*\[PYTHON_UNAVAILABLE\]/);
  } finally {
    cleanup();
  }
});
