// The config `ferry tune` writes: the four knobs set, everything else of the model's config kept
// (comments and layout byte for byte when the knobs already exist), in the forms the file uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { tunedConfigText } from '../../dist/tune/config-file.js';
import { parseModelConfig } from '../../dist/repository/config.js';
import { FASHION } from '../helpers.mjs';

const VALUES = { instances: 2, threads: 1, maxBatchSize: 8, maxQueueDelayMs: 15 };

function lines(text) {
  return text.split('\n');
}

test('the Fashion config: only the four values change, every other line stays as it was', async () => {
  const file = join(FASHION, 'config.yaml');
  const text = await readFile(file, 'utf8');
  const out = tunedConfigText({ file, text }, 'fashion', VALUES, ['ferry tune, a test:', 'second line']);
  const before = lines(text);
  const after = lines(out);
  assert.deepEqual(after.slice(0, 2), ['# ferry tune, a test:', '#  second line']);
  const changed = after.slice(2).map((l, i) => [before[i], l]).filter(([a, b]) => a !== b);
  assert.deepEqual(changed, [
    ['max_batch_size: 64', 'max_batch_size: 8'],
    ['  max_queue_delay_ms: 0', '  max_queue_delay_ms: 15'],
    ['  count: 1', '  count: 2'],
  ]);
  assert.equal(after.length, before.length + 2);
  const c = parseModelConfig(parse(out), file, 'fashion');
  assert.equal(c.instances, 2);
  assert.equal(c.maxBatchSize, 8);
  assert.equal(c.batching.maxQueueDelayMs, 15);
  assert.equal(c.parameters.intra_op_threads, 1);
  assert.equal(c.image.width, 28);
  assert.equal(c.outputs[0].labelFile, 'labels.txt');
  // tuned again: the old header goes, the new one comes, nothing piles up
  const again = tunedConfigText({ file, text: out }, 'fashion', { ...VALUES, threads: 2 }, ['ferry tune, again']);
  assert.equal(lines(again)[0], '# ferry tune, again');
  assert.equal((again.match(/ferry tune/g) ?? []).length, 1);
  assert.match(again, /\n {2}intra_op_threads: 2\n/);
  assert.equal(lines(again).length, before.length + 1);
});

test("Triton's forms stay Triton's: an instance_group list, microseconds, string_value parameters", () => {
  const text = [
    'name: m',
    'max_batch_size: 4',
    'dynamic_batching:',
    '  max_queue_delay_microseconds: 100',
    'instance_group:',
    '  - count: 1',
    '    kind: KIND_CPU',
    'parameters:',
    '  intra_op_threads: { string_value: "2" }',
    '  allow_spinning: false',
    '',
  ].join('\n');
  const out = tunedConfigText({ file: 'm/config.yaml', text }, 'm', VALUES);
  assert.equal(out, text
    .replace('max_batch_size: 4', 'max_batch_size: 8')
    .replace('microseconds: 100', 'microseconds: 15000')
    .replace('- count: 1', '- count: 2')
    .replace('string_value: "2"', 'string_value: "1"'));
  const c = parseModelConfig(parse(out), 'm/config.yaml', 'm');
  assert.equal(c.batching.maxQueueDelayMs, 15);
  assert.equal(c.parameters.allow_spinning, false);
});

test('keys the config lacks are added; several instance groups become one of the tuned count', () => {
  const text = '# my model\nname: m\ninstance_group:\n  - count: 1\n    kind: KIND_CPU\n  - count: 3\n    kind: KIND_CPU\nimage:\n  width: 4\n  height: 4\n';
  const out = tunedConfigText({ file: 'm/config.yaml', text }, 'm', VALUES);
  const raw = parse(out);
  assert.deepEqual(raw.instance_group, [{ count: 2, kind: 'KIND_CPU' }]);
  assert.equal(raw.max_batch_size, 8);
  assert.deepEqual(raw.dynamic_batching, { max_queue_delay_ms: 15 });
  assert.deepEqual(raw.parameters, { intra_op_threads: 1 });
  assert.deepEqual(raw.image, { width: 4, height: 4 });
  assert.match(out, /^# my model\n/);
});

test('a bare model file gets a new config; a model without a batch axis keeps max_batch_size and batching as they are', () => {
  const fresh = tunedConfigText(undefined, 'resnet', VALUES, ['ferry tune']);
  assert.deepEqual(parse(fresh), { name: 'resnet', max_batch_size: 8, dynamic_batching: { max_queue_delay_ms: 15 }, instance_group: [{ kind: 'KIND_CPU', count: 2 }], parameters: { intra_op_threads: 1 } });
  const unbatched = tunedConfigText(undefined, 'fixed', { ...VALUES, maxBatchSize: 0 });
  assert.deepEqual(parse(unbatched), { name: 'fixed', instance_group: [{ kind: 'KIND_CPU', count: 2 }], parameters: { intra_op_threads: 1 } });
  // threads undefined: the engine's default stays
  assert.equal(parse(tunedConfigText(undefined, 'x', { instances: 1, maxBatchSize: 4, maxQueueDelayMs: 0 })).parameters, undefined);
});

test('a JSON config stays JSON', () => {
  const text = JSON.stringify({ name: 'j', max_batch_size: 2, instance_group: [{ count: 1, kind: 'KIND_CPU' }], output: [{ name: 'y', label_filename: 'l.txt' }] });
  const out = tunedConfigText({ file: 'j/config.json', text }, 'j', VALUES, ['ignored in JSON']);
  const raw = JSON.parse(out);
  assert.equal(raw.max_batch_size, 8);
  assert.deepEqual(raw.instance_group, [{ count: 2, kind: 'KIND_CPU' }]);
  assert.deepEqual(raw.output, [{ name: 'y', label_filename: 'l.txt' }]);
  assert.equal(raw.dynamic_batching.max_queue_delay_ms, 15);
});
