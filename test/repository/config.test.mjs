// Model config: every mistake names the file and the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig, readModelConfig } from '../../dist/repository/config.js';
import { ModelRepository } from '../../dist/repository/repository.js';
import { FIXTURES } from '../helpers.mjs';

const bad = (raw, key, problem) => () =>
  assert.throws(() => parseModelConfig(raw, 'models/m/config.yaml', 'm'), (err) => {
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.ok(err.message.startsWith('models/m/config.yaml: '), err.message);
    assert.ok(err.message.includes(key), `"${err.message}" names ${key}`);
    assert.match(err.message, problem);
    return true;
  });

test('defaults: backend from the model file, instances and delay chosen at load, queue 1024, latest version', () => {
  const c = parseModelConfig({}, 'f', 'm');
  assert.equal(c.name, 'm');
  assert.equal(c.backend, undefined, 'chosen by the model file\'s extension');
  assert.deepEqual(c.parameters, {});
  assert.equal(c.instances, undefined, 'chosen at load (auto-defaults)');
  assert.deepEqual(c.batching, { preferredBatchSizes: [], maxQueueSize: 1024, defaultTimeoutMs: 0, priorityLevels: 1, defaultPriorityLevel: 1 });
  assert.deepEqual(c.versionPolicy, { latest: 1 });
});

test('Triton keys are read: microseconds, instance groups, version policy, image', () => {
  const c = parseModelConfig({
    max_batch_size: 8,
    input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, -1] }],
    dynamic_batching: { max_queue_delay_microseconds: 500, preferred_batch_size: [4, 8], priority_levels: 3 },
    instance_group: [{ count: 2, kind: 'KIND_CPU' }],
    version_policy: { specific: { versions: [1, 3] } },
    image: { width: 8, height: 8, color: 'bgr', mean: [1, 2, 3], std: [0.5] },
  }, 'f', 'm');
  assert.equal(c.maxBatchSize, 8);
  assert.deepEqual(c.inputs, [{ name: 'x', datatype: 'FP32', dims: [3, -1] }]);
  assert.equal(c.batching.maxQueueDelayMs, 0.5);
  assert.deepEqual(c.batching.preferredBatchSizes, [4, 8]);
  assert.equal(c.batching.defaultPriorityLevel, 2);
  assert.equal(c.instances, 2);
  assert.deepEqual(c.versionPolicy, { specific: [1, 3] });
  assert.deepEqual(c.image.std, [0.5, 0.5, 0.5]);
  assert.equal(c.image.layout, 'NCHW');
});

test('engine parameters are kept for the engine to read (each backend has its own)', () => {
  const c = parseModelConfig({ parameters: { intra_op_threads: 1, anything: { string_value: 'x' } } }, 'f', 'm');
  assert.deepEqual(c.parameters, { intra_op_threads: 1, anything: { string_value: 'x' } });
});
test('parameters must be a mapping', bad({ parameters: [1] }, 'parameters', /must be a mapping/));
test('backend and platform: Triton names map to the engine', () => {
  assert.equal(parseModelConfig({ platform: 'onnxruntime_onnx' }, 'f', 'm').backend, 'onnxruntime');
  assert.equal(parseModelConfig({ backend: 'onnxruntime' }, 'f', 'm').backend, 'onnxruntime');
});
test('unknown backend', bad({ backend: 'tvm' }, 'backend', /no engine of ferry's runs \(known: onnxruntime, onnxruntime_onnx/));

test('unknown key', bad({ dynamic_batching: { max_queue_sise: 3 } }, 'dynamic_batching.max_queue_sise', /not a known key/));
test('wrong type', bad({ max_batch_size: 'lots' }, 'max_batch_size', /integer >= 0 \(got "lots"\)/));
test('negative queue', bad({ dynamic_batching: { max_queue_size: -1 } }, 'dynamic_batching.max_queue_size', /integer >= 0/));
test('unknown data type', bad({ input: [{ name: 'x', data_type: 'TYPE_FLOAT' }] }, 'input[0].data_type', /not a known type/));
test('bad dims', bad({ input: [{ name: 'x', dims: [3, 'a'] }] }, 'input[0].dims[1]', /integer >= -1/));
test('name differs from folder', bad({ name: 'other' }, 'name', /folder is "m"/));
test('image colour', bad({ image: { width: 2, height: 2, color: 'cmyk' } }, 'image.color', /gray, rgb, bgr/));
test('image mean length', bad({ image: { width: 2, height: 2, color: 'rgb', mean: [1, 2] } }, 'image.mean', /1 or 3 values/));
test('image std zero', bad({ image: { width: 2, height: 2, std: [0] } }, 'image.std', /must not contain 0/));
test('default priority above levels', bad({ dynamic_batching: { priority_levels: 2, default_priority_level: 3 } }, 'dynamic_batching.default_priority_level', /at most priority_levels/));
test('version policy', bad({ version_policy: { newest: {} } }, 'version_policy.newest', /not a known key/));

test('invalid YAML names the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-cfg-'));
  const file = join(dir, 'config.yaml');
  await writeFile(file, 'max_batch_size: [1,\n');
  await assert.rejects(readModelConfig(file, 'm'), (err) => err.code === 'CONFIG_INVALID' && err.message.includes(file) && /not valid YAML/.test(err.message));
});

async function modelDir(config, { versions = [1], model = 'scale' } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'ferry-repo-'));
  const dir = join(root, 'm');
  for (const v of versions) {
    await mkdir(join(dir, String(v)), { recursive: true });
    await copyFile(join(FIXTURES, model, '1', 'model.onnx'), join(dir, String(v), 'model.onnx'));
  }
  if (config !== undefined) await writeFile(join(dir, 'config.yaml'), config);
  return { root, dir };
}

test('config that contradicts the model is refused at load, naming file and input', async () => {
  const { root, dir } = await modelDir('input:\n  - name: x\n    data_type: TYPE_INT32\n');
  const repo = await ModelRepository.open({ path: root });
  await assert.rejects(repo.load('m'), (err) => err.code === 'CONFIG_INVALID' && err.message.includes(join(dir, 'config.yaml')) && /declared TYPE_INT32 but the model has TYPE_FP32/.test(err.message));
  const idx = await repo.index();
  assert.equal(idx[0].state, 'UNAVAILABLE');
  assert.match(idx[0].reason, /TYPE_INT32/);
});

test('config naming an input the model lacks is refused', async () => {
  const { root } = await modelDir('input:\n  - name: pixels\n');
  const repo = await ModelRepository.open({ path: root });
  await assert.rejects(repo.load('m'), /input "pixels" is not in the model, whose inputs are "x"/);
});

test('max_batch_size on a model without a batch axis is refused', async () => {
  const { root } = await modelDir('max_batch_size: 4\n', { model: 'fixed' });
  const repo = await ModelRepository.open({ path: root });
  await assert.rejects(repo.load('m'), (err) => err.code === 'CONFIG_INVALID' && /max_batch_size is 4 but input "x" has a fixed first axis \[2,2\]/.test(err.message));
});

test('versions: latest by default, all on request, a single .onnx file, a single model folder', async () => {
  const { root, dir } = await modelDir(undefined, { versions: [1, 2, 10] });
  let repo = await ModelRepository.open({ path: root });
  await repo.load('m');
  assert.deepEqual(repo.versions('m').map((v) => v.version), ['10']);
  assert.equal(repo.get('m').version, '10');
  await repo.close();

  await writeFile(join(dir, 'config.yaml'), 'version_policy:\n  all: {}\n');
  repo = await ModelRepository.open({ path: dir });
  await repo.loadAll();
  assert.deepEqual(repo.versions('m').map((v) => v.version).sort(), ['1', '10', '2']);
  assert.equal(repo.get('m').version, '10', 'the newest serves requests without a version');
  assert.equal(repo.get('m', '2').version, '2');
  await repo.close();

  repo = await ModelRepository.open({ path: join(dir, '2', 'model.onnx') });
  await repo.loadAll();
  assert.deepEqual(repo.ready(), ['model']);
  await repo.close();
});

test('a path that is not there says so', async () => {
  await assert.rejects(ModelRepository.open({ path: '/no/such/dir' }), (err) => err.code === 'MODEL_LOAD_FAILED' && /\/no\/such\/dir does not exist/.test(err.message));
});
