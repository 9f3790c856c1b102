// The refusal pacer's token bucket: within budget at once, beyond it in arrival order at the rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalPacer } from '../../dist/server/refusal-pacer.js';

test('refusals within the burst are answered at once; the rest wait their turn, in order, at the rate', async () => {
  const pacer = new RefusalPacer(200, 5); // 200/s: one token every 5 ms
  const answered = [];
  const t0 = performance.now();
  for (let i = 0; i < 25; i++) pacer.submit(() => answered.push({ i, ms: performance.now() - t0 }));
  assert.equal(answered.length, 5, 'the burst goes at once');
  assert.equal(pacer.held, 20);
  assert.equal(pacer.paced, 20);
  while (pacer.held > 0) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(answered.map((a) => a.i), [...Array(25).keys()], 'in arrival order');
  const last = answered.at(-1).ms;
  // 20 tokens at 200/s take 100 ms; timers may fire late but never early.
  assert.ok(last >= 90 && last < 1000, `last answered after ${last.toFixed(1)} ms`);
});

test('a rate of 0 never paces; flush answers everything held at once', async () => {
  const never = new RefusalPacer(0);
  let n = 0;
  for (let i = 0; i < 1000; i++) never.submit(() => n++);
  assert.equal(n, 1000);
  assert.equal(never.paced, 0);

  const slow = new RefusalPacer(1, 1);
  let m = 0;
  for (let i = 0; i < 10; i++) slow.submit(() => m++);
  assert.equal(m, 1);
  slow.flush();
  assert.equal(m, 10);
  assert.equal(slow.held, 0);
});

test('tokens come back with time: after a quiet spell a new burst goes at once', async () => {
  const pacer = new RefusalPacer(1000, 10);
  let n = 0;
  for (let i = 0; i < 10; i++) pacer.submit(() => n++);
  assert.equal(n, 10);
  await new Promise((r) => setTimeout(r, 30));
  for (let i = 0; i < 10; i++) pacer.submit(() => n++);
  assert.equal(n, 20);
});

test('the adaptive budget: about one refusal per request completed, at most a tenth of a core by cost, never under the floor', async () => {
  const { RefusalBudget } = await import('../../dist/server/refusal-budget.js');
  let served = 0;
  const clock = setInterval(() => { served += 50; }, 10); // ~5000 completed a second
  try {
    const budget = new RefusalBudget({ served: () => served });
    assert.equal(budget.ratePerS(), 20, 'before anything is measured: the floor');
    await new Promise((r) => setTimeout(r, 1100));
    const byLoad = budget.ratePerS();
    assert.ok(byLoad > 2500 && byLoad < 6000, `follows the completion rate: ${byLoad.toFixed(0)}/s`);
    for (let i = 0; i < 200; i++) budget.noteCost(1); // refusals now cost 1 ms each (600 KB bodies)
    await new Promise((r) => setTimeout(r, 120));
    const byCost = budget.ratePerS();
    assert.ok(byCost <= 110 && byCost >= 90, `a tenth of a core at ~1 ms a refusal: ${byCost.toFixed(0)}/s`);
    const capped = new RefusalBudget({ served: () => served, maxRatePerS: 10, minRatePerS: 5 });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(capped.ratePerS(), 10, '--max-refusal-rate caps it');
  } finally {
    clearInterval(clock);
  }
});

test('a pacer that follows a changing rate', async () => {
  let rate = 1000;
  const pacer = new RefusalPacer(() => rate);
  let n = 0;
  for (let i = 0; i < 50; i++) pacer.submit(() => n++);
  assert.equal(n, 50, 'a burst of 50 ms worth at 1000/s');
  rate = 0; // pacing off: everything held goes at once
  pacer.submit(() => n++);
  assert.equal(n, 51);
});
