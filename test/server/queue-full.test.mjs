// A bounded queue answers 503 with Retry-After at once, and takes work again once it drains.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, get, binaryBody, waitBusy } from '../helpers.mjs';

let server;
let url;
before(async () => { server = await start(undefined, { overrides: { maxQueueSize: 2 } }); url = server.url; });
after(() => server.close());

// matpow costs n^3: 1024x1024 keeps the instance busy ~0.3 s; 4x4 requests queue behind it.
function slowRequest(N = 1024) {
  const { body, headers } = binaryBody({
    inputs: [{ name: 'x', shape: [1, N, N], datatype: 'FP32', parameters: { binary_data_size: N * N * 4 } }],
    outputs: [{ name: 'y', parameters: { binary_data: true } }],
  }, [new Float32Array(N * N).fill(0.01)]);
  return fetch(`${url}/v2/models/matpow/infer`, { method: 'POST', body, headers });
}

test('max_queue_size: the excess gets 503 QUEUE_FULL with Retry-After, quickly', async () => {
  // max_batch_size is 32, so queued requests would batch together: send them while one runs.
  const first = slowRequest();
  await waitBusy(url, 'matpow'); // the blocker is running
  const queued = [slowRequest(4), slowRequest(4)];
  await waitBusy(url, 'matpow', { queued: 2 });
  const t0 = performance.now();
  const full = await slowRequest(4);
  const ms = performance.now() - t0;
  assert.equal(full.status, 503);
  assert.equal(full.headers.get('retry-after'), '1');
  const body = await full.json();
  assert.equal(body.code, 'QUEUE_FULL');
  assert.match(body.error, /max_queue_size 2/);
  assert.ok(ms < 250, `503 in ${ms.toFixed(1)} ms (the running batch takes seconds)`);
  const ok = await Promise.all([first, ...queued]);
  assert.deepEqual(ok.map((r) => r.status), [200, 200, 200]);
  assert.equal((await slowRequest(4)).status, 200, 'takes work again');
  const metrics = (await get(`${url}/metrics`)).text;
  assert.match(metrics, /ferry_requests_total\{model="matpow",outcome="rejected"\} 1/);
  assert.match(metrics, /ferry_http_errors_total\{code="QUEUE_FULL"\} 1/);
});
