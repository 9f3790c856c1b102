// Settings a config leaves out are chosen from one measured inference and the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseDefaults, HEAVY_MS } from '../../dist/repository/auto-defaults.js';
import { ModelRepository } from '../../dist/repository/repository.js';
import { FIXTURES } from '../helpers.mjs';
import { join } from 'node:path';

test('a light model: one single-threaded instance, max batch 32, no delay; a heavy one: an instance per core', () => {
  const light = chooseDefaults(0.07, 2);
  assert.deepEqual({ ...light, why: undefined }, { instances: 1, intraOpThreads: 1, maxBatchSize: 32, maxQueueDelayMs: 0, why: undefined });
  assert.match(light.why, /one inference takes 0\.07 ms on one thread, 2 cores: 1 instance x 1 thread/);
  const heavy = chooseDefaults(34, 2);
  assert.equal(heavy.instances, 2);
  assert.equal(heavy.intraOpThreads, 1);
  assert.equal(heavy.maxBatchSize, 8);
  assert.equal(heavy.maxQueueDelayMs, 17, 'half an inference');
  assert.equal(chooseDefaults(200, 4).maxQueueDelayMs, 20, 'at most 20 ms');
  assert.equal(chooseDefaults(HEAVY_MS + 1, 1).instances, 1, 'one core: one instance');
});

test('a model without a config gets them at load, and says so in the log', async () => {
  const lines = [];
  const repo = await ModelRepository.open({ path: join(FIXTURES, 'scale'), log: (msg) => lines.push(msg) });
  await repo.loadAll();
  try {
    const v = repo.get('scale');
    assert.equal(v.engine.instances, 1);
    assert.equal(v.io.maxBatchSize, 32);
    assert.equal(v.config.batching.maxQueueDelayMs, 0);
    assert.ok(v.engine.warmupMs > 0);
    assert.ok(lines.some((l) => /model "scale" version 1: one inference takes .* ms on one thread, \d+ cores?: 1 instance x 1 thread, max batch 32/.test(l)), lines.join('\n'));
  } finally {
    await repo.close();
  }
});

test('what the config says is kept: given instances mean no probe', async () => {
  const lines = [];
  const repo = await ModelRepository.open({ path: join(FIXTURES, 'scale'), overrides: { instances: 2 }, log: (msg) => lines.push(msg) });
  await repo.loadAll();
  try {
    assert.equal(repo.get('scale').engine.instances, 2);
    assert.ok(!lines.some((l) => /chosen because/.test(l)));
  } finally {
    await repo.close();
  }
});
