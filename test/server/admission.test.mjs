// The admission gate refuses requests to a full queue before fastify (infer, versioned infer and
// image routes alike), answers exactly what the routed refusal would, and paces a retry storm.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, get, binaryBody, waitBusy } from '../helpers.mjs';

let server;
let url;
// A refusal budget of 20/s with a burst of 1: the second refusal in a row waits ~50 ms.
before(async () => { server = await start(undefined, { overrides: { maxQueueSize: 1 }, maxRefusalRate: 20 }); url = server.url; });
after(() => server.close());

function matpow(N, path = '/v2/models/matpow/infer') {
  const { body, headers } = binaryBody({
    inputs: [{ name: 'x', shape: [1, N, N], datatype: 'FP32', parameters: { binary_data_size: N * N * 4 } }],
    outputs: [{ name: 'y', parameters: { binary_data: true } }],
  }, [new Float32Array(N * N).fill(0.01)]);
  return fetch(`${url}${path}`, { method: 'POST', body, headers });
}

test('a full queue: every queued route is refused with QUEUE_FULL and Retry-After; past the budget refusals wait their turn', async () => {
  const running = matpow(1536); // ~1 s on one instance: longer than the three refusals below take
  await waitBusy(url, 'matpow');
  const queued = matpow(4);
  await waitBusy(url, 'matpow', { queued: 1 });

  const before = (await get(`${url}/metrics`)).text;
  const pacedBefore = Number(/ferry_refusals_paced_total (\d+)/.exec(before)?.[1] ?? 0);
  const times = [];
  const answers = [];
  for (const path of ['/v2/models/matpow/infer', '/v2/models/matpow/versions/1/infer', '/v2/models/matpow/infer?x=1']) {
    const t0 = performance.now();
    const res = await matpow(4, path);
    times.push(performance.now() - t0);
    answers.push({ status: res.status, retry: res.headers.get('retry-after'), type: res.headers.get('content-type'), body: await res.json() });
  }
  for (const a of answers) {
    assert.equal(a.status, 503);
    assert.equal(a.retry, '1');
    assert.match(a.type, /application\/json/);
    assert.equal(a.body.code, 'QUEUE_FULL');
    assert.match(a.body.error, /model "matpow": the queue is full \(max_queue_size 1\)/);
  }
  // In a row, faster than 20/s: three refusals need three tokens, one in the bucket and two more
  // at 50 ms each, so they take at least ~100 ms together however the first one was delayed.
  const total = times.reduce((a, b) => a + b, 0);
  assert.ok(total >= 90, `refusal times ${times.map((t) => t.toFixed(1)).join(', ')} ms`);

  assert.deepEqual((await Promise.all([running, queued])).map((r) => r.status), [200, 200]);
  const metrics = (await get(`${url}/metrics`)).text;
  assert.match(metrics, /ferry_requests_total\{model="matpow",outcome="rejected"\} 3/);
  assert.match(metrics, /ferry_http_errors_total\{code="QUEUE_FULL"\} 3/);
  assert.ok(Number(/ferry_refusals_paced_total (\d+)/.exec(metrics)[1]) - pacedBefore >= 1);
  assert.equal((await matpow(4)).status, 200, 'takes work again');
});

test('requests the gate does not own go on to fastify: unknown models, other methods, bad paths', async () => {
  const unknown = await matpow(4, '/v2/models/nope/infer');
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).code, 'MODEL_NOT_FOUND');
  const wrongVersion = await matpow(4, '/v2/models/matpow/versions/9/infer');
  assert.equal(wrongVersion.status, 404);
  assert.equal((await wrongVersion.json()).code, 'VERSION_NOT_FOUND');
  const badEscape = await matpow(4, '/v2/models/%E0%A4%A/infer');
  assert.ok(badEscape.status === 400 || badEscape.status === 404, `status ${badEscape.status}`);
  const meta = await fetch(`${url}/v2/models/matpow`);
  assert.equal(meta.status, 200);
});

test('queuedRouteModel: which requests the gate looks at', async () => {
  const { queuedRouteModel } = await import('../../dist/server/admission.js');
  const calls = [];
  const repo = (ready) => ({
    ready: () => ready,
    get: (name, version) => {
      calls.push([name, version]);
      if (name !== 'm b' && name !== 'solo') throw new Error('unknown');
      return { name, version };
    },
  });
  const r = repo(['solo']);
  assert.deepEqual(queuedRouteModel('POST', '/v2/models/m%20b/infer', r, undefined), { name: 'm b', version: undefined });
  assert.deepEqual(queuedRouteModel('POST', '/v2/models/m%20b/versions/2/infer?a=b', r, undefined), { name: 'm b', version: '2' });
  assert.deepEqual(queuedRouteModel('PUT', '/v2/models/m%20b/image', r, undefined), { name: 'm b', version: undefined });
  assert.deepEqual(queuedRouteModel('POST', '/image', r, undefined), { name: 'solo', version: undefined });
  assert.deepEqual(queuedRouteModel('POST', '/predict', r, 'm b'), { name: 'm b', version: undefined });
  assert.equal(queuedRouteModel('PUT', '/v2/models/m%20b/infer', r, undefined), undefined, 'infer is POST only');
  assert.equal(queuedRouteModel('GET', '/v2/models/m%20b/infer', r, undefined), undefined);
  assert.equal(queuedRouteModel('PUT', '/predict', r, undefined), undefined);
  assert.equal(queuedRouteModel('POST', '/image', repo(['a', 'b']), undefined), undefined, 'no default model among several');
  assert.equal(queuedRouteModel('POST', '/v2/models/x/infer', r, undefined), undefined, 'unknown model: left to fastify');
  assert.equal(queuedRouteModel('POST', '/v2/models/m%20b/ready', r, undefined), undefined);
  assert.equal(queuedRouteModel('POST', '/v2/models/a/b/c/infer', r, undefined), undefined);
  assert.equal(queuedRouteModel('POST', '/v2/models/%E0%A4%A/infer', r, undefined), undefined, 'bad escape: left to fastify');
});
