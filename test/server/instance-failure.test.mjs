// An engine instance that dies under load is replaced: every request sent after it died is
// answered, and the model stays READY. When the replacement cannot load, the model goes
// UNAVAILABLE with the reason (repository index, 503 answers), and the server keeps serving the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, start, post } from '../helpers.mjs';

const body = (v) => ({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [v, v, v, v] }] });

async function copyRepo(t) {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-crash-'));
  t.after(() => import('node:fs/promises').then((fs) => fs.rm(dir, { recursive: true, force: true })));
  for (const m of ['scale', 'dyn']) await cp(join(FIXTURES, m), join(dir, m), { recursive: true });
  return dir;
}

test('a worker killed under load is replaced; every later request is answered and the model stays READY', async (t) => {
  const server = await start(await copyRepo(t), { overrides: { instances: 2, parameters: { intra_op_threads: 1 } } });
  t.after(() => server.close());
  const url = `${server.url}/v2/models/scale/infer`;
  let killedAt = Infinity;
  const results = [];
  const client = async (id) => {
    for (let i = 0; i < 60; i++) {
      const sentAt = performance.now();
      const r = await post(url, body(id * 100 + i));
      results.push({ sentAt, status: r.status, ok: r.status === 200 && r.json.outputs[0].data[0] === 2 * (id * 100 + i) });
      if (id === 0 && i === 15) {
        await server.repository.get('scale').engine.terminateInstance(0);
        killedAt = performance.now();
      }
    }
  };
  await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(client));
  const later = results.filter((r) => r.sentAt > killedAt);
  assert.ok(later.length > 300, `${later.length} requests after the kill`);
  assert.deepEqual(later.filter((r) => !r.ok).map((r) => r.status), [], 'every request sent after the kill was answered right');
  assert.ok(results.every((r) => r.status === 200 || r.status === 500), 'a request caught on the dying instance fails as INFERENCE_FAILED, nothing else');
  const index = await post(`${server.url}/v2/repository/index`, {});
  assert.deepEqual(index.json.find((m) => m.name === 'scale').state, 'READY');
});

test('when the replacement cannot load, the model is UNAVAILABLE with the reason, and the others still serve', async (t) => {
  const dir = await copyRepo(t);
  const server = await start(dir);
  t.after(() => server.close());
  assert.equal((await post(`${server.url}/v2/models/scale/infer`, body(1))).status, 200);
  await writeFile(join(dir, 'scale', '1', 'model.onnx'), 'truncated');
  await server.repository.get('scale').engine.terminateInstance(0);
  let entry;
  for (let i = 0; i < 200 && entry?.state !== 'UNAVAILABLE'; i++) {
    await new Promise((r) => setTimeout(r, 25));
    entry = (await post(`${server.url}/v2/repository/index`, {})).json.find((m) => m.name === 'scale');
  }
  assert.equal(entry.state, 'UNAVAILABLE');
  assert.match(entry.reason, /replacement could not load the model/);
  const r = await post(`${server.url}/v2/models/scale/infer`, body(1));
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 'MODEL_NOT_READY');
  assert.match(r.json.error, /model "scale" is unavailable: .*could not load/);
  const other = await post(`${server.url}/v2/models/dyn/infer`, { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] });
  assert.equal(other.status, 200);
});
