import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { runLoadStep } from '../../dist/bench/load.js';

/** A loopback server answering 200, except every third request 503. */
async function withServer(fn) {
  let n = 0;
  const seen = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      seen.push({ url: req.url, body: Buffer.concat(chunks).toString(), type: req.headers['content-type'] });
      n++;
      res.statusCode = n % 3 === 0 ? 503 : 200;
      res.end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await fn(`http://127.0.0.1:${server.address().port}`, seen);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const requests = [
  { path: '/a', headers: { 'content-type': 'text/plain' }, body: Buffer.from('one'), inferences: 2 },
  { path: '/b', headers: { 'content-type': 'text/plain' }, body: Buffer.from('two'), inferences: 2 },
];

test('a closed-loop step counts 2xx, 503s and inferences, and ends on time', async () => {
  await withServer(async (url, seen) => {
    const t0 = performance.now();
    const r = await runLoadStep({ kind: 'concurrency', concurrency: 3 }, { url, requests, durationS: 0.5, warmupS: 0.2 });
    assert.ok(performance.now() - t0 < 2000);
    assert.ok(r.ok > 10, `ok ${r.ok}`);
    assert.equal(r.inferences, 2 * r.ok);
    assert.equal(r.errors['503'], r.rejected);
    assert.ok(r.rejected > 0 && Math.abs(r.rejected - r.ok / 2) <= 0.2 * r.ok + 3, `503 ${r.rejected} ok ${r.ok}`);
    assert.equal(r.rejectLatency.count, r.rejected);
    assert.equal(r.latency.count, r.ok);
    assert.ok(r.latency.p50 <= r.latency.p99 && r.latency.p99 <= r.latency.max);
    assert.ok(seen.length >= r.ok + r.rejected); // warm-up requests are sent but not counted
    assert.deepEqual(new Set(seen.map((s) => s.url)), new Set(['/a', '/b']));
    assert.ok(seen.every((s) => (s.url === '/a' ? s.body === 'one' : s.body === 'two')));
  });
});

test('an open-loop step keeps to its rate', async () => {
  await withServer(async (url) => {
    const r = await runLoadStep({ kind: 'rate', rate: 200, arrivals: 'constant' }, { url, requests, durationS: 1, warmupS: 0.1 });
    assert.ok(r.sent >= 170 && r.sent <= 215, `sent ${r.sent}`);
    assert.equal(r.dropped, 0);
    assert.ok(Math.abs(r.ok + r.rejected - r.sent) <= 5);
  });
});

test('failures are counted as network errors, not thrown', async () => {
  const r = await runLoadStep({ kind: 'concurrency', concurrency: 1 }, { url: 'http://127.0.0.1:1', requests, durationS: 0.2 });
  assert.equal(r.ok, 0);
  assert.ok(r.errors.network > 0);
});

test('with --backoff-ms a closed-loop client waits after a 503', async () => {
  const server = createServer((req, res) => { req.resume(); req.on('end', () => { res.statusCode = 503; res.end(); }); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${server.address().port}`;
    const r = await runLoadStep({ kind: 'concurrency', concurrency: 2 }, { url, requests, durationS: 0.5, backoffMs: 100 });
    assert.equal(r.ok, 0);
    assert.ok(r.rejected >= 2 && r.rejected <= 14, `503s ${r.rejected}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
