// The grid `ferry tune` builds and how it walks it: every point asked gets exactly one row, the
// placements fit the cores, and the staged search measures fewer points but never loses track of
// one. The measure function here is a made-up landscape (no server): the walk is what is tested;
// tune.test.mjs runs it against the real server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGrid, defaultDelays, powersUpTo, pointKey } from '../../dist/tune/grid.js';
import { eligible, pickBest, search } from '../../dist/tune/search.js';

const m = (inferencesPerS, p99Ms = 10, extra = {}) => ({
  inferencesPerS, requestsPerS: inferencesPerS, p50Ms: p99Ms / 2, p99Ms, ok: 100, errors: 0, errorsByStatus: {}, meanBatch: 1, ...extra,
});

/** Throughput that rewards 2 instances x 1 thread, larger batches up to 8 and a delay near 10 ms. */
function landscape(p) {
  const place = p.instances === 2 && p.threads === 1 ? 100 : p.instances * p.threads === 2 ? 90 : 50;
  const batch = Math.min(p.maxBatchSize, 8) / 8;
  const delay = 1 - Math.abs(p.maxQueueDelayMs - 10) / 100;
  return m(place * (0.5 + 0.5 * batch) * delay, 200 / (place * batch));
}

test('powersUpTo and the default delays', () => {
  assert.deepEqual(powersUpTo(1), [1]);
  assert.deepEqual(powersUpTo(2), [1, 2]);
  assert.deepEqual(powersUpTo(6), [1, 2, 4, 6]);
  assert.deepEqual(powersUpTo(16), [1, 2, 4, 8, 16]);
  // fractions of one in-process run, 2 significant digits, at least 1 ms
  assert.deepEqual(defaultDelays(77), [0, 4.8, 9.6, 19, 39]);
  assert.deepEqual(defaultDelays(0.4), [0, 1]);
  assert.deepEqual(defaultDelays(undefined), [0, 1, 5]);
});

test('the grid: every placement within the cores, every batch and delay; batch <= 1 never waits', () => {
  const g = buildGrid({ instances: [2, 1, 4], threads: [1, 2], maxBatchSizes: [8, 1], delaysMs: [5, 0] }, 4);
  assert.deepEqual(g.placements, [[1, 1], [1, 2], [2, 1], [2, 2], [4, 1]]);
  assert.deepEqual(g.leftOut, [[4, 2]]);
  assert.equal(g.points.length, 5 * 2 * 2);
  for (const p of g.points) assert.ok(p.instances * p.threads <= 4);
  assert.equal(new Set(g.points.map(pointKey)).size, g.points.length);
  const same = g.points.filter((p) => p.sameAs);
  assert.deepEqual(same.map((p) => [p.maxBatchSize, p.maxQueueDelayMs]), Array(5).fill([1, 5]));
  assert.ok(same.every((p) => p.sameAs.maxQueueDelayMs === 0));
});

test('exhaustive: every point of the grid measured once, in grid order, except those that run the same server', async () => {
  const g = buildGrid({ instances: [1, 2], threads: [1, 2], maxBatchSizes: [1, 4, 8], delaysMs: [0, 10] }, 2);
  const seen = [];
  const rows = await search(g, async (p) => { seen.push(pointKey(p)); return landscape(p); }, { objective: 'throughput', exhaustive: true });
  assert.deepEqual(rows.map(pointKey), g.points.map(pointKey));
  assert.equal(new Set(seen).size, seen.length, 'no point measured twice');
  assert.deepEqual(seen.sort(), g.points.filter((p) => !p.sameAs).map(pointKey).sort());
  for (const r of rows) assert.equal(r.status, r.maxBatchSize === 1 && r.maxQueueDelayMs === 10 ? 'skipped' : 'measured', pointKey(r));
  assert.equal(pickBest(rows, 'throughput').instances, 2);
});

test('staged: fewer points, one row for each, the same best as the exhaustive walk on a smooth landscape', async () => {
  const g = buildGrid({ instances: [1, 2], threads: [1, 2], maxBatchSizes: [1, 2, 4, 8, 16], delaysMs: [0, 5, 10, 20, 40] }, 2);
  const seen = [];
  const rows = await search(g, async (p, stage) => { seen.push([pointKey(p), stage]); return landscape(p); }, { objective: 'throughput' });
  assert.deepEqual(rows.map(pointKey), g.points.map(pointKey));
  assert.ok(seen.length < g.points.filter((p) => !p.sameAs).length / 2, `measured ${seen.length}`);
  // stage order: placements first (largest batch, smallest delay), then batches, then delays
  const stages = seen.map(([, s]) => s);
  assert.deepEqual(stages.slice(0, 3), ['placement', 'placement', 'placement']);
  assert.ok(stages.lastIndexOf('batch') < stages.indexOf('delay'));
  // 1 x 1 (half the throughput) is dropped after its placement point, with the reason
  const oneByOne = rows.filter((r) => r.instances === 1 && r.threads === 1);
  assert.equal(oneByOne.filter((r) => r.status === 'measured').length, 1);
  assert.match(oneByOne.find((r) => r.status === 'skipped').reason, /reached 5\d% of the best placement \(2 x 1\)/);
  for (const r of rows) {
    if (r.status === 'skipped') assert.ok(r.reason.length > 10);
    else assert.ok(r.result);
  }
  const exhaustive = await search(g, async (p) => landscape(p), { objective: 'throughput', exhaustive: true });
  const best = pickBest(rows, 'throughput');
  const truth = pickBest(exhaustive, 'throughput');
  assert.equal(pointKey(best), pointKey(truth));
});

test('a point that fails is a row with the reason, and the walk goes on', async () => {
  const g = buildGrid({ instances: [1, 2], threads: [1], maxBatchSizes: [4], delaysMs: [0] }, 2);
  const rows = await search(g, async (p) => { if (p.instances === 2) throw new Error('no such luck'); return landscape(p); }, { objective: 'throughput' });
  assert.deepEqual(rows.map((r) => r.status), ['measured', 'failed']);
  assert.equal(rows[1].reason, 'no such luck');
});

test('objective p99 and --max-p99-ms pick by latency; points with errors are never chosen', () => {
  const rows = [
    { name: 'fast', result: m(100, 50) },
    { name: 'tail', result: m(120, 80) },
    { name: 'errors', result: m(150, 20, { errors: 3 }) },
  ];
  assert.equal(pickBest(rows, 'throughput').name, 'tail');
  assert.equal(pickBest(rows, 'p99').name, 'fast');
  assert.equal(pickBest(rows, 'throughput', 60).name, 'fast');
  assert.equal(pickBest(rows, 'throughput', 10), undefined);
  assert.equal(eligible(m(1, 1, { ok: 0 })), false);
});
