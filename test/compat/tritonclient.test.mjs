// Triton's Python client (tritonclient.http), unchanged, against a real ferry server:
// runs test/compat/tritonclient_check.py in the project's .venv and wants exit 0.
// Skipped, with the reason, where .venv/bin/python is missing or cannot import tritonclient:
//   /usr/bin/python3 -m venv --system-site-packages .venv && .venv/bin/pip install 'tritonclient[http]'
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { startServer } from '../../dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const python = path.join(root, '.venv/bin/python');
const script = path.join(root, 'test/compat/tritonclient_check.py');

/** Why the check cannot run here, or undefined when it can. */
function unavailable() {
  if (!existsSync(python)) return `${path.relative(root, python)} does not exist (make it: /usr/bin/python3 -m venv --system-site-packages .venv && .venv/bin/pip install 'tritonclient[http]')`;
  const probe = spawnSync(python, ['-c', 'import tritonclient.http, tritonclient.http.aio'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.status !== 0) return `${path.relative(root, python)} cannot import tritonclient.http (.venv/bin/pip install 'tritonclient[http]'): ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}`;
  return undefined;
}

/** Runs a command to the end; resolves with its exit code and combined output. */
function run(cmd, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

test('tritonclient.http works unchanged against ferry', async (t) => {
  const reason = unavailable();
  if (reason) {
    t.skip(reason);
    return;
  }
  const server = await startServer({ modelPath: path.join(root, 'test/fixtures/models'), port: 0, logLevel: 'silent', modelControl: 'explicit' });
  try {
    const { code, signal, output } = await run(python, [script, server.url], 90_000);
    for (const line of output.trimEnd().split('\n')) t.diagnostic(line);
    assert.equal(signal, null, `tritonclient_check.py was killed (${signal}) after 90 s:\n${output}`);
    const failed = output.split('\n').filter((l) => l.startsWith('FAIL')).join('\n');
    assert.equal(code, 0, `tritonclient_check.py exited ${code} (its output is in the diagnostics above):\n${failed}`);
  } finally {
    await server.close();
  }
});
