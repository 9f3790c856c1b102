// Installed as a command, not only inside the repository: `npm pack`, then `npm install -g` of the
// tarball into a temporary prefix, gives a `ferry` that works from any directory and serves the
// bundled default model. (Dependencies come from npm's cache, which `npm ci` filled.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('npm pack + npm install -g gives a ferry that serves the default model from any directory', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-global-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    // onnxruntime-node's own install step would fetch CUDA binaries from nuget.org (README: Install).
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_audit: 'false', npm_config_fund: 'false' } });
  npm(['pack', '--pack-destination', dir, '--silent'], ROOT);
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  assert.ok(tgz, 'npm pack wrote a tarball');
  const prefix = join(dir, 'prefix');
  npm(['install', '-g', '--prefix', prefix, '--prefer-offline', join(dir, tgz)], dir);
  const ferry = join(prefix, 'bin', 'ferry');
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  assert.equal(execFileSync(ferry, ['--version'], { cwd: tmpdir(), encoding: 'utf8' }).trim(), version);

  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(ferry, ['serve', '--port', String(port), '--log-level', 'warn'], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  t.after(() => child.kill('SIGKILL'));
  let ready = false;
  for (let i = 0; i < 150 && !ready && child.exitCode === null; i++) {
    ready = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).then((r) => r.ok, () => false);
    if (!ready) await sleep(100);
  }
  assert.ok(ready, `the installed ferry serve became ready: ${log}`);
  const photo = readFileSync(join(ROOT, 'examples/fashion/samples/photo-trouser.jpg'));
  const answer = await (await fetch(`http://127.0.0.1:${port}/image`, { method: 'POST', body: photo })).json();
  assert.equal(answer.model, 'fashion');
  assert.equal(answer.label, 'Trouser');
  assert.doesNotMatch(log, /warn|error/i, 'no warnings of ours at start-up');
});
