// `ferry export --to ptl`: PyTorch Mobile's lite-interpreter file (optimize_for_mobile), loaded
// back with the lite interpreter and checked against eager PyTorch, on Debian's torch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SKIP_NO_TORCH, SYSTEM_PYTHON, PYTORCH_FIXTURES, ferry, tempDir } from './helpers.mjs';

test('a CNN to .ptl: the lite interpreter loads it and matches eager', { skip: SKIP_NO_TORCH }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'cnn.ptl');
    const r = await ferry(['export', `${PYTORCH_FIXTURES}:make_cnn`, '--input-shape', '1,3,32,32', '-o', out, '--python', SYSTEM_PYTHON]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\(PyTorch Lite, optimize_for_mobile,/);
    assert.match(r.stdout, /lite interpreter \(torch\.jit\.mobile\) +x\[1,3,32,32\] .* PASS/);
    assert.ok(existsSync(out));
    // an independent load: the file is a lite-interpreter module (bytecode.pkl inside), not plain TorchScript
    const py = spawnSync(SYSTEM_PYTHON, ['-c', [
      'import sys, zipfile, torch',
      'from torch.jit.mobile import _load_for_lite_interpreter',
      'm = _load_for_lite_interpreter(sys.argv[1])',
      'print(m(torch.zeros(1, 3, 32, 32)).shape)',
      'print(any(n.endswith("bytecode.pkl") for n in zipfile.ZipFile(sys.argv[1]).namelist()))',
    ].join('\n'), out], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    assert.match(py.stdout, /torch\.Size\(\[1, \d+\]\)\nTrue/);
  } finally {
    cleanup();
  }
});
