// Helpers for the bridge, export and compare tests: the CLI as a child process, the system Python.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const PYTORCH_FIXTURES = fileURLToPath(new URL('../fixtures/pytorch/models.py', import.meta.url));
export const ONNX_FIXTURES = fileURLToPath(new URL('../fixtures/models', import.meta.url));

/** Debian's interpreter: python3-torch, python3-numpy (CI installs them). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

function canImport(modules) {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore' });
  return r.status === 0;
}

/** node:test `skip` value: false when /usr/bin/python3 has torch, else the reason. */
export const SKIP_NO_TORCH = canImport('torch, numpy') ? false : `${SYSTEM_PYTHON} cannot import torch and numpy (apt-get install python3-torch python3-numpy)`;
export const SKIP_NO_NUMPY = canImport('numpy') ? false : `${SYSTEM_PYTHON} cannot import numpy (apt-get install python3-numpy)`;

/** Runs `ferry ARGS`; resolves { code, stdout, stderr }. */
export function ferry(args, { env = process.env, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs Python code with /usr/bin/python3; returns stdout (throws with stderr on failure). */
export function python(code, args = []) {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', code, ...args], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(prefix = 'ferry-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes an executable shell script `name` in `dir` and returns its path. */
export function script(dir, name, body) {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
