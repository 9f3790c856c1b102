// The scheduler alone: a real DynamicBatcher driving an executor that records the batches it gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamicBatcher } from '../../dist/batching/dynamic-batcher.js';

const defaults = { maxBatchSize: 8, maxQueueDelayMs: 0, preferredBatchSizes: [], maxQueueSize: 0, defaultTimeoutMs: 0, priorityLevels: 1, defaultPriorityLevel: 1, instances: 1 };

/** A batcher whose executor holds each batch until `release()` and records it. */
function harness(options = {}) {
  const batches = [];
  const gates = [];
  const b = new DynamicBatcher({ ...defaults, ...options }, (entries, size) => {
    batches.push({ ids: entries.map((e) => e.job.id), size });
    return new Promise((resolve) => gates.push(() => { for (const e of entries) e.job.done('ok'); resolve(); }));
  });
  const submit = (id, { size = 1, shapeKey = '', ...opts } = {}) => {
    let settle;
    const result = new Promise((resolve) => { settle = resolve; });
    const job = { id, size, shapeKey, reject: (err) => settle(err.code), done: (v) => settle(v) };
    const entry = b.enqueue(job, opts);
    return { entry, result };
  };
  const release = async () => { await sleep(0); gates.shift()?.(); await sleep(0); };
  return { b, batches, submit, release };
}

test('delay 0: the first request runs alone, the rest gather while it runs', async () => {
  const h = harness();
  const rs = [1, 2, 3, 4].map((i) => h.submit(i).result);
  assert.deepEqual(h.batches, [{ ids: [1], size: 1 }]);
  await h.release();
  assert.deepEqual(h.batches[1], { ids: [2, 3, 4], size: 3 });
  await h.release();
  assert.deepEqual(await Promise.all(rs), ['ok', 'ok', 'ok', 'ok']);
});

test('max_batch_size caps a batch, and a request never splits', async () => {
  const h = harness({ maxBatchSize: 4 });
  h.submit('a'); // runs alone
  h.submit('b', { size: 3 }); h.submit('c', { size: 2 }); h.submit('d', { size: 2 });
  await h.release();
  assert.deepEqual(h.batches[1], { ids: ['b'], size: 3 }, 'b+c would be 5 > 4');
  await h.release();
  assert.deepEqual(h.batches[2], { ids: ['c', 'd'], size: 4 });
});

test('requests of different shapes are never mixed', async () => {
  const h = harness();
  h.submit(0);
  h.submit(1, { shapeKey: '3,5' }); h.submit(2, { shapeKey: '3,5' }); h.submit(3, { shapeKey: '3,7' }); h.submit(4, { shapeKey: '3,5' });
  await h.release();
  assert.deepEqual(h.batches[1].ids, [1, 2]);
  await h.release();
  assert.deepEqual(h.batches[2].ids, [3]);
  await h.release();
  assert.deepEqual(h.batches[3].ids, [4]);
});

test('max_queue_delay_ms waits for a fuller batch, then sends what it has', async () => {
  const h = harness({ maxQueueDelayMs: 40 });
  const t0 = performance.now();
  const r = [h.submit(1).result, h.submit(2).result];
  assert.equal(h.batches.length, 0, 'nothing sent before the delay');
  await sleep(10);
  h.submit(3);
  await sleep(60);
  assert.deepEqual(h.batches[0].ids, [1, 2, 3]);
  assert.ok(performance.now() - t0 >= 39);
  await h.release();
  assert.deepEqual(await Promise.all(r), ['ok', 'ok']);
});

test('a full batch goes at once, without waiting out the delay', async () => {
  const h = harness({ maxQueueDelayMs: 10_000, maxBatchSize: 3 });
  [1, 2, 3].forEach((i) => h.submit(i));
  assert.deepEqual(h.batches[0].ids, [1, 2, 3]);
  await h.release();
});

test('preferred batch sizes: the largest goes at once; on expiry a preferred prefix is cut', async () => {
  const h = harness({ maxQueueDelayMs: 30, maxBatchSize: 16, preferredBatchSizes: [2, 4] });
  [1, 2, 3, 4].forEach((i) => h.submit(i));
  assert.deepEqual(h.batches[0]?.ids, [1, 2, 3, 4], 'reaching the largest preferred size sends at once');
  await h.release();
  [5, 6, 7].forEach((i) => h.submit(i));
  assert.equal(h.batches.length, 1);
  await sleep(50);
  assert.deepEqual(h.batches[1].ids, [5, 6], 'cut to preferred size 2 when the delay expired');
  await h.release();
  await sleep(50);
  assert.deepEqual(h.batches[2].ids, [7]);
  await h.release();
});

test('a full queue rejects at once with QUEUE_FULL and Retry-After', async () => {
  const h = harness({ maxQueueSize: 2 });
  h.submit(1); // running, not queued
  h.submit(2); h.submit(3);
  assert.throws(() => h.submit(4), (err) => err.code === 'QUEUE_FULL' && err.status === 503 && err.headers['retry-after'] === '1');
  await h.release();
  await h.release();
});

test('a request past its timeout is answered REQUEST_TIMEOUT and never runs', async () => {
  const h = harness();
  h.submit(1);
  const late = h.submit(2, { timeoutMs: 20 });
  const ok = h.submit(3);
  assert.equal(await late.result, 'REQUEST_TIMEOUT');
  await h.release();
  assert.deepEqual(h.batches[1].ids, [3], 'the expired request is not in the batch');
  await h.release();
  assert.equal(await ok.result, 'ok');
});

test('default timeout applies when the request sets none', async () => {
  const h = harness({ defaultTimeoutMs: 15 });
  h.submit(1, { timeoutMs: 10_000 });
  const r = h.submit(2);
  assert.equal(await r.result, 'REQUEST_TIMEOUT');
  await h.release();
});

test('a cancelled request (client gone) is dropped before it runs', async () => {
  const h = harness();
  h.submit(1);
  const gone = h.submit(2);
  h.submit(3);
  assert.equal(h.b.cancel(gone.entry), true);
  assert.equal(await gone.result, 'CANCELLED');
  assert.equal(h.b.queued, 1);
  await h.release();
  assert.deepEqual(h.batches[1].ids, [3]);
  assert.equal(h.b.cancel(h.submit(9).entry), true);
  await h.release();
});

test('cancel after dispatch is refused: the running request completes', async () => {
  const h = harness();
  const r = h.submit(1);
  assert.equal(h.b.cancel(r.entry), false);
  await h.release();
  assert.equal(await r.result, 'ok');
});

test('priority level 1 is served before the default level', async () => {
  const h = harness({ priorityLevels: 2, defaultPriorityLevel: 2, maxBatchSize: 2 });
  h.submit('first');
  h.submit('low1'); h.submit('low2'); h.submit('high', { priority: 1 });
  await h.release();
  assert.deepEqual(h.batches[1].ids, ['high', 'low1']);
  await h.release();
  assert.deepEqual(h.batches[2].ids, ['low2']);
  await h.release();
  h.submit('block');
  h.submit('beyond', { priority: 3 }); // Triton: past the last level = the default level
  h.submit('zero', { priority: 0 });
  h.submit('top', { priority: 1 });
  await h.release();
  assert.deepEqual(h.batches[4].ids, ['top', 'beyond']);
  await h.release();
  assert.deepEqual(h.batches[5].ids, ['zero']);
  await h.release();
  assert.throws(() => h.submit('x', { priority: -1 }), (err) => err.code === 'BAD_PARAMETER');
});

test('instances: N batches run at once', async () => {
  const h = harness({ instances: 2, maxBatchSize: 1 });
  [1, 2, 3].forEach((i) => h.submit(i));
  assert.equal(h.batches.length, 2);
  assert.equal(h.b.inFlight, 2);
  await h.release(); await h.release(); await h.release();
  assert.equal(h.batches.length, 3);
});

test('maxBatchSize 0 (no batch axis): one request per run', async () => {
  const h = harness({ maxBatchSize: 0 });
  [1, 2, 3].forEach((i) => h.submit(i));
  await h.release();
  assert.deepEqual(h.batches.map((b) => b.ids), [[1], [2]]);
  await h.release(); await h.release();
});

test('close(): refuses new work and resolves once queued work has run', async () => {
  const h = harness();
  const r = [h.submit(1).result, h.submit(2).result];
  let closed = false;
  const closing = h.b.close().then(() => { closed = true; });
  assert.throws(() => h.submit(3), (err) => err.code === 'SHUTTING_DOWN');
  await h.release();
  assert.equal(closed, false, 'request 2 is still queued');
  await h.release();
  await closing;
  assert.deepEqual(await Promise.all(r), ['ok', 'ok']);
});

test('ring queue: survives growth and wrap-around in order', async () => {
  const h = harness({ maxBatchSize: 1000 });
  h.submit(-1);
  for (let i = 0; i < 300; i++) h.submit(i);
  await h.release();
  assert.deepEqual(h.batches[1].ids, Array.from({ length: 300 }, (_, i) => i));
  await h.release();
});

test('an executor that releases its instance early lets the next batch start before it answers; releasing twice is harmless', async () => {
  const order = [];
  let finish;
  const b = new DynamicBatcher({ ...defaults }, (entries, size, release) => {
    order.push(`run ${entries.map((e) => e.job.id).join(',')}`);
    if (entries[0].job.id === 1) {
      return new Promise((resolve) => {
        finish = () => {
          release(); // engine done: free the instance ...
          order.push('answer 1'); // ... then answer
          for (const e of entries) e.job.done();
          release();
          resolve();
        };
      });
    }
    for (const e of entries) e.job.done();
    return Promise.resolve();
  });
  const job = (id) => ({ id, size: 1, shapeKey: '', reject: () => {}, done: () => {} });
  b.enqueue(job(1));
  b.enqueue(job(2));
  b.enqueue(job(3));
  assert.deepEqual(order, ['run 1']);
  finish();
  assert.deepEqual(order, ['run 1', 'run 2,3', 'answer 1'], 'the next batch was dispatched before batch 1 answered');
  await b.idle();
  assert.equal(b.inFlight, 0);
  assert.equal(b.queued, 0);
});
