// `ferry serve` in a cluster: configured from FERRY_ variables alone, readiness 503 the moment
// SIGTERM arrives while it keeps serving (--drain-delay-ms), and a drain deadline (--drain-timeout-ms).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BIN, FIXTURES, binaryBody, serveProcess, waitBusy } from '../helpers.mjs';

/** `ferry serve ARGS` with `env` added, its port given as FERRY_HTTP_PORT. */
const serveWithEnv = (args, env = {}) => serveProcess(args, { env, portFromEnv: true });

const x = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
const inferScale = (url) => fetch(`${url}/v2/models/scale/infer`, { method: 'POST', body: x, headers: { 'content-type': 'application/json' } }).then((r) => r.status, (e) => e.message);
function slow(url, N = 1024) {
  const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [1, N, N], datatype: 'FP32', parameters: { binary_data_size: N * N * 4 } }],
    outputs: [{ name: 'y', parameters: { binary_data: true } }] }, [new Float32Array(N * N).fill(0.01)]);
  return fetch(`${url}/v2/models/matpow/infer`, { method: 'POST', body, headers }).then((r) => r.status, (e) => `failed: ${e.cause?.code ?? e.message}`);
}

test('configured from the environment alone: FERRY_MODEL_REPOSITORY, FERRY_HTTP_PORT, FERRY_MAX_BATCH_SIZE, FERRY_MODEL_CONTROL', async () => {
  const { child, url } = await serveWithEnv([], { FERRY_MODEL_REPOSITORY: FIXTURES, FERRY_MAX_BATCH_SIZE: '4', FERRY_MODEL_CONTROL: 'explicit', FERRY_ADMIN_TOKEN: 'tok', FERRY_LOG_LEVEL: 'warn' });
  try {
    assert.equal((await (await fetch(`${url}/v2/models/scale/config`)).json()).max_batch_size, 4);
    const load = (auth) => fetch(`${url}/v2/repository/models/scale/load`, { method: 'POST', headers: auth ? { authorization: auth } : {} });
    assert.equal((await load()).status, 401, 'FERRY_ADMIN_TOKEN guards load');
    assert.equal((await load('Bearer tok')).status, 200);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

test('SIGTERM: /v2/health/ready answers 503 at once while the server keeps serving for --drain-delay-ms, then it drains and exits 0', async () => {
  const { child, url, log } = await serveWithEnv([FIXTURES, '--drain-delay-ms', '1500', '--log-level', 'info']);
  assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
  const t0 = performance.now();
  child.kill('SIGTERM');
  let ready = 200;
  while (ready === 200 && performance.now() - t0 < 1000) {
    ready = (await fetch(`${url}/v2/health/ready`)).status;
  }
  const flippedMs = performance.now() - t0;
  assert.equal(ready, 503, 'readiness flipped');
  assert.ok(flippedMs < 500, `readiness flipped ${flippedMs.toFixed(0)} ms after SIGTERM`);
  assert.equal((await fetch(`${url}/v2/health/live`)).status, 200, 'still live');
  assert.deepEqual(await Promise.all([inferScale(url), inferScale(url), slow(url, 256)]), [200, 200, 200], 'still serving inference during the delay');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, log());
  assert.ok(performance.now() - t0 >= 1400, 'it waited out --drain-delay-ms before stopping');
  assert.match(log(), /shutting down: not ready/);
});

test('--drain-timeout-ms: requests still queued when it runs out are cut, and ferry serve exits 1 with DRAIN_TIMEOUT', async () => {
  const { child, url, log } = await serveWithEnv([FIXTURES, '--drain-timeout-ms', '150', '--log-level', 'info', '--instances', '1']);
  const exited = once(child, 'exit');
  let running, queued;
  try {
    running = slow(url, 1536);
    await waitBusy(url, 'matpow');
    // Each of a size of its own, so the batcher cannot put them in one batch.
    queued = Array.from({ length: 6 }, (_, i) => slow(url, 8 + i));
    await waitBusy(url, 'matpow', { queued: 6 });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 1, log());
  assert.match(log(), /6 requests were still queued and 1 batch running 150 ms after the server stopped accepting \(--drain-timeout-ms\).*\[DRAIN_TIMEOUT\]/);
  // Without the deadline all seven would be answered 200 once the big one ran (test/cli/serve.test.mjs).
  const answers = await Promise.all([running, ...queued]);
  assert.ok(answers.every((a) => a !== 200), `every request was cut: ${answers}`);
});

test('FERRY_VERBOSE=1 prints the stack of a failure, as --verbose does', async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '/no/such/models'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_VERBOSE: '1', FERRY_HTTP_PORT: '0' } });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const [code] = await once(child, 'exit');
  assert.equal(code, 1);
  assert.match(err, /\[MODEL_LOAD_FAILED\]\n.*FerryError/s);
});
