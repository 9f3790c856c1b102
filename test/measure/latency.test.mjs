import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyRecorder, percentile, summarize, summaryJson } from '../../dist/measure/latency.js';

test('percentile uses the nearest rank', () => {
  const s = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(percentile(s, 50), 50);
  assert.equal(percentile(s, 90), 90);
  assert.equal(percentile(s, 99), 99);
  assert.equal(percentile(s, 100), 100);
  assert.equal(percentile(s, 0), 1);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.equal(percentile([1, 2, 3, 4], 51), 3);
});

test('percentile of nothing is NaN; out-of-range p throws', () => {
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], -1), RangeError);
  assert.throws(() => percentile([1], NaN), RangeError);
});

test('the recorder grows past its capacity and sorts numerically', () => {
  const r = new LatencyRecorder(2);
  for (const v of [10, 9, 100, 1, 2.5]) r.add(v);
  assert.equal(r.count, 5);
  assert.deepEqual([...r.sorted()], [1, 2.5, 9, 10, 100]); // numeric, not lexicographic
  const s = r.summary();
  assert.equal(s.min, 1);
  assert.equal(s.max, 100);
  assert.equal(s.p50, 9);
  assert.equal(s.mean, 122.5 / 5);
});

test('an empty summary is NaN, and null in JSON', () => {
  const s = summarize([]);
  assert.equal(s.count, 0);
  assert.ok(Number.isNaN(s.p99));
  assert.deepEqual(summaryJson(s), { count: 0, min: null, mean: null, p50: null, p90: null, p99: null, max: null });
  assert.equal(summaryJson(summarize([1.23456789])).p50, 1.235);
});
