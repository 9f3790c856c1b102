// Dynamic batching through the real server: correctness under concurrency, queue limits, timeouts,
// clients that go away, unloading under load, and an event loop that stays free while a batch runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { start, get, post, binaryBody, waitBusy, FIXTURES } from '../helpers.mjs';

let server;
let url;
before(async () => { server = await start(undefined, { modelControl: 'explicit' }); url = server.url; });
after(() => server.close());

// matpow costs n^3: a 1024x1024 request keeps the one instance busy for ~0.3 s here (the blocker),
// a 4x4 one is instant and queues behind it.
function slowRequest(signal, extra = {}, N = 1024) {
  const { body, headers } = binaryBody({
    inputs: [{ name: 'x', shape: [1, N, N], datatype: 'FP32', parameters: { binary_data_size: N * N * 4 } }],
    outputs: [{ name: 'y', parameters: { binary_data: true } }],
    ...extra,
  }, [new Float32Array(N * N).fill(0.01)]);
  return fetch(`${url}/v2/models/matpow/infer`, { method: 'POST', body, headers, signal });
}
const stats = async (model) => (await get(`${url}/v2/models/${model}/stats`)).json.model_stats[0];

test('64 concurrent requests are batched and each gets its own answer', async (t) => {
  // With no queue delay (the auto-default for a light model) requests batch only when they arrive
  // faster than a batch computes, which depends on the machine; a queue delay makes the batching
  // this test checks certain anywhere.
  const own = await start(join(FIXTURES, 'scale'), { overrides: { maxQueueDelayMs: 50 } });
  t.after(() => own.close());
  const stats = async (model) => (await get(`${own.url}/v2/models/${model}/stats`)).json.model_stats[0];
  const before = await stats('scale');
  const rs = await Promise.all(Array.from({ length: 64 }, (_, i) =>
    post(`${own.url}/v2/models/scale/infer`, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [i, i + 0.5, 10 - i, 1] }] })));
  rs.forEach((r, i) => assert.deepEqual(r.json.outputs[0].data, [2 * i, 2 * i + 1, 20 - 2 * i, 2]));
  const after = await stats('scale');
  const runs = after.execution_count - before.execution_count;
  assert.equal(after.inference_count - before.inference_count, 64);
  assert.ok(runs < 64, `64 requests ran in ${runs} batches`);
  assert.ok(after.batch_stats.some((b) => b.batch_size > 1));
});

test('requests of several rows and several shapes are never mixed up', async () => {
  const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => {
    const len = 1 + (i % 4);
    const rows = 1 + (i % 3);
    const data = Array.from({ length: rows * len }, (_, k) => i * 100 + k);
    return post(`${url}/v2/models/dyn/infer`, { inputs: [{ name: 'x', shape: [rows, len], datatype: 'FP32', data }] }).then((r) => ({ r, data, rows, len }));
  }));
  for (const { r, data, rows, len } of rs) {
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.outputs[0].shape, [rows, len]);
    assert.deepEqual(r.json.outputs[0].data, data.map((v) => v + 1));
  }
});

test('the event loop keeps serving while a batch computes', async () => {
  const slow = slowRequest();
  await waitBusy(url, 'matpow'); // the blocker is running
  const t0 = performance.now();
  const live = await get(`${url}/v2/health/live`);
  const ms = performance.now() - t0;
  assert.equal(live.status, 200);
  assert.ok(ms < 60, `health answered in ${ms.toFixed(1)} ms during a batch`);
  assert.equal((await slow).status, 200);
});

test('a request whose timeout passes in the queue gets 503 and is never run', async () => {
  const before = await stats('matpow');
  const running = slowRequest();
  await waitBusy(url, 'matpow'); // the blocker is running
  const t0 = performance.now();
  const late = await slowRequest(undefined, { parameters: { timeout: 20_000 } }, 4); // 20 ms, in microseconds
  const body = await late.json();
  assert.equal(late.status, 503);
  assert.equal(body.code, 'REQUEST_TIMEOUT');
  assert.ok(performance.now() - t0 < 90, 'answered when the timeout passed, not after the running batch');
  assert.equal((await running).status, 200);
  const after = await stats('matpow');
  assert.equal(after.inference_count - before.inference_count, 1, 'only the first request ran');
});

test('a client that disconnects while queued: its request is dropped before it runs', async () => {
  const before = await stats('matpow');
  const running = slowRequest();
  await waitBusy(url, 'matpow'); // the blocker is running
  const ac = new AbortController();
  const gone = slowRequest(ac.signal, {}, 4).catch((err) => err.name);
  await waitBusy(url, 'matpow', { queued: 1 });
  ac.abort();
  assert.equal(await gone, 'AbortError');
  assert.equal((await running).status, 200);
  await sleep(30);
  const after = await stats('matpow');
  assert.equal(after.inference_count - before.inference_count, 1, 'the abandoned request never ran');
  const metrics = (await get(`${url}/metrics`)).text;
  assert.match(metrics, /ferry_requests_total\{model="matpow",outcome="cancelled"\} 1/);
});

test('unloading a model finishes its in-flight requests first', async () => {
  const inflight = [slowRequest(), slowRequest(undefined, {}, 4), slowRequest(undefined, {}, 8)];
  await waitBusy(url, 'matpow'); // the blocker is running
  const unload = post(`${url}/v2/repository/models/matpow/unload`, '');
  await sleep(5);
  const refused = await slowRequest(undefined, {}, 4);
  assert.ok([404, 503].includes(refused.status), `new request during unload: ${refused.status}`);
  const results = await Promise.all(inflight);
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
  assert.equal((await unload).status, 200);
  assert.equal((await post(`${url}/v2/repository/models/matpow/load`, '')).status, 200);
  assert.equal((await slowRequest(undefined, {}, 4)).status, 200);
});

test('reloading a model while requests run drops none of them', async () => {
  const inflight = Array.from({ length: 30 }, (_, i) => post(`${url}/v2/models/scale/infer`, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [i, 0, 0, 0] }] }));
  const reload = post(`${url}/v2/repository/models/scale/load`, '');
  const more = Array.from({ length: 30 }, (_, i) => post(`${url}/v2/models/scale/infer`, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [i, 0, 0, 0] }] }));
  const all = await Promise.all([...inflight, ...more]);
  assert.ok(all.every((r) => r.status === 200), all.map((r) => r.status).join(','));
  assert.equal((await reload).status, 200);
});
