// /metrics across replicas: latencies are histograms (never summaries) whose buckets are the same
// fixed list on every replica whatever its traffic, so they add up; queue depth per model is there
// for an autoscaler, 0 when idle and the queue's length when busy.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, post, binaryBody, waitBusy } from '../helpers.mjs';
import { LATENCY_BUCKETS_SECONDS } from '../../dist/index.js';

const servers = [await start(), await start()];
after(() => Promise.all(servers.map((s) => s.close())));
const metrics = async (s) => (await fetch(`${s.url}/metrics`)).text();
const LATENCIES = ['ferry_request_duration_seconds', 'ferry_queue_duration_seconds', 'ferry_compute_duration_seconds'];

/** The `le` bounds a histogram shows for a model, in order. */
function buckets(text, name, model) {
  return [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)",model="${model}"\\}`, 'gm'))].map((m) => m[1]);
}

test('latency metrics are fixed-bucket histograms, the same bounds on every replica whatever its traffic', async () => {
  // Different traffic on each replica: fast requests on one, slow ones on the other.
  const x = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };
  await Promise.all(Array.from({ length: 20 }, () => post(`${servers[0].url}/v2/models/scale/infer`, x)));
  const N = 512;
  const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [1, N, N], datatype: 'FP32', parameters: { binary_data_size: N * N * 4 } }] }, [new Float32Array(N * N).fill(0.01)]);
  await post(`${servers[1].url}/v2/models/matpow/infer`, body, headers);
  await post(`${servers[1].url}/v2/models/scale/infer`, x);
  const [a, b] = await Promise.all(servers.map(metrics));
  for (const text of [a, b]) {
    assert.doesNotMatch(text, /^# TYPE \S+ summary$/m, 'no summaries: their quantiles cannot be summed across replicas');
    for (const name of LATENCIES) assert.match(text, new RegExp(`^# TYPE ${name} histogram$`, 'm'));
  }
  const expected = [...LATENCY_BUCKETS_SECONDS.map(String), '+Inf'];
  for (const name of LATENCIES) {
    assert.deepEqual(buckets(a, name, 'scale'), expected, `${name} on replica 0`);
    assert.deepEqual(buckets(b, name, 'scale'), expected, `${name} on replica 1`);
  }
  assert.deepEqual(buckets(b, 'ferry_request_duration_seconds', 'matpow'), expected);
  assert.match(a, /^ferry_request_duration_seconds_count\{model="scale"\} 20$/m);
});

test('ferry_queue_depth{model}: every ready model, 0 when idle, the queue length when busy', async () => {
  const s = servers[1];
  const idle = await metrics(s);
  for (const model of s.repository.ready()) assert.match(idle, new RegExp(`^ferry_queue_depth\\{model="${model}"\\} 0$`, 'm'), model);
  const slow = (N) => {
    const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [1, N, N], datatype: 'FP32', parameters: { binary_data_size: N * N * 4 } }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }] }, [new Float32Array(N * N).fill(0.01)]);
    return fetch(`${s.url}/v2/models/matpow/infer`, { method: 'POST', body, headers }).then((r) => r.status);
  };
  const running = slow(1024);
  await waitBusy(s.url, 'matpow');
  const queued = [slow(4), slow(5), slow(6)];
  await waitBusy(s.url, 'matpow', { queued: 3 });
  assert.match(await metrics(s), /^ferry_queue_depth\{model="matpow"\} 3$/m);
  assert.deepEqual(await Promise.all([running, ...queued]), [200, 200, 200, 200]);
  assert.match(await metrics(s), /^ferry_queue_depth\{model="matpow"\} 0$/m);
});
