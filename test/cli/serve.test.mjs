// `ferry serve` as a user runs it: a child process, a loopback port, SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { FIXTURES, binaryBody, waitBusy, serveProcess, BIN } from '../helpers.mjs';

test('SIGTERM: stops accepting, finishes what is queued and running, exits 0', async () => {
  const { child, url, log } = await serveProcess([FIXTURES]);
  const n = 1024;
  const slow = (N) => {
    const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [1, N, N], datatype: 'FP32', parameters: { binary_data_size: N * N * 4 } }] ,
      outputs: [{ name: 'y', parameters: { binary_data: true } }] }, [new Float32Array(N * N).fill(0.01)]);
    return fetch(`${url}/v2/models/matpow/infer`, { method: 'POST', body, headers }).then((r) => r.status, (e) => e.message);
  };
  const running = slow(n);
  await waitBusy(url, 'matpow');
  const queued = [slow(4), slow(8)];
  await waitBusy(url, 'matpow', { queued: 2 });
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, log());
  assert.deepEqual([await running, ...(await Promise.all(queued))], [200, 200, 200], 'in-flight requests were answered');
  assert.match(log(), /shutting down/);
  await assert.rejects(fetch(`${url}/v2/health/live`), 'no longer listening');
});

test('flags override the config: --max-batch-size shows in the model config', async () => {
  const { child, url } = await serveProcess([FIXTURES, '--max-batch-size', '4', '--max-queue-size', '7', '--max-queue-delay-ms', '2']);
  try {
    const cfg = await (await fetch(`${url}/v2/models/scale/config`)).json();
    assert.equal(cfg.max_batch_size, 4);
    assert.equal(cfg.dynamic_batching.default_queue_policy.max_queue_size, 7);
    assert.equal(cfg.dynamic_batching.max_queue_delay_microseconds, 2000);
    const fixed = await (await fetch(`${url}/v2/models/fixed/config`)).json();
    assert.equal(fixed.max_batch_size, 0, 'a model without a batch axis keeps 0');
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

test('bad flags and bad paths: a clear message and a non-zero exit', async () => {
  const run = async (args) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const [code] = await once(child, 'exit');
    return { code, err };
  };
  let r = await run(['serve', '--max-batch-size', 'many']);
  assert.equal(r.code, 1);
  assert.match(r.err, /--max-batch-size must be an integer >= 0 \(got "many"\).*\[BAD_FLAG\]\n$/);
  r = await run(['serve', '/no/such/models', '--port', '0']);
  assert.equal(r.code, 1);
  assert.match(r.err, /\/no\/such\/models does not exist: .* \[MODEL_LOAD_FAILED\]/);
  r = await run(['frobnicate']);
  assert.equal(r.code, 1);
  assert.match(r.err, /unknown command "frobnicate"/);
});
