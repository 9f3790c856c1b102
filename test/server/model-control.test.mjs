// Repository load/unload is secure by default: off unless --model-control explicit, behind a bearer
// token when one is set, and a load request cannot reach a file outside the repository.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { FIXTURES, start, get, post } from '../helpers.mjs';

const x = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };
const servers = [];
after(() => Promise.all(servers.map((s) => s.close())));
async function serve(modelPath, options) {
  const s = await start(modelPath, options);
  servers.push(s);
  return s;
}
const load = (url, model, body = '', headers = {}) => post(`${url}/v2/repository/models/${model}/load`, body, headers);
const unload = (url, model, headers = {}) => post(`${url}/v2/repository/models/${model}/unload`, '', headers);
/** POSTs to a path sent as it is (fetch would resolve the dot segments of /models/../load itself). */
function rawPost(url, path) {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', path }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('default (--model-control none): load and unload are refused, the index and the models still answer', async () => {
  const { url } = await serve(FIXTURES);
  for (const r of [await load(url, 'scale'), await unload(url, 'scale')]) {
    assert.equal(r.status, 403);
    assert.equal(r.json.code, 'MODEL_CONTROL_DISABLED');
    assert.match(r.json.error, /--model-control explicit/);
  }
  assert.equal((await post(`${url}/v2/repository/index`, '')).status, 200);
  assert.deepEqual((await post(`${url}/v2/models/scale/infer`, x)).json.outputs[0].data, [2, 4, 6, 8], 'scale still serves');
});

test('--admin-token: no token, another scheme and a wrong token are refused with 401; the right one loads', async () => {
  const { url } = await serve(FIXTURES, { modelControl: 'explicit', adminToken: 's3cret-token' });
  let r = await load(url, 'scale');
  assert.equal(r.status, 401);
  assert.equal(r.json.code, 'ADMIN_TOKEN_MISSING');
  assert.match(r.headers.get('www-authenticate'), /^Bearer realm="ferry"/);
  r = await unload(url, 'scale', { authorization: 'Basic czNjcmV0LXRva2Vu' });
  assert.equal(r.json.code, 'ADMIN_TOKEN_MISSING');
  for (const wrong of ['s3cret-toke', 's3cret-token2', 'S3CRET-TOKEN']) {
    r = await unload(url, 'scale', { authorization: `Bearer ${wrong}` });
    assert.equal(r.status, 401, wrong);
    assert.equal(r.json.code, 'ADMIN_TOKEN_INVALID');
    assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
  }
  assert.equal((await get(`${url}/v2/models/scale/ready`)).status, 200, 'nothing was unloaded');
  r = await load(url, 'scale', '', { authorization: 'Bearer s3cret-token' });
  assert.equal(r.status, 200, r.text);
  r = await unload(url, 'dyn', { authorization: 'bearer s3cret-token' });
  assert.equal(r.status, 200, 'the scheme is case-insensitive');
  assert.notEqual((await get(`${url}/v2/models/dyn/ready`)).status, 200);
});

test('a load request cannot name files outside the repository: each refusal', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-confine-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const repo = join(dir, 'repo');
  const outside = join(dir, 'outside');
  await mkdir(repo);
  await cp(join(FIXTURES, 'scale'), join(repo, 'scale'), { recursive: true });
  await cp(join(FIXTURES, 'scale'), join(outside, 'stolen'), { recursive: true });
  await writeFile(join(outside, 'secret.txt'), 'root:x:0:0\n');
  // A config file that is a symlink out of the repository, and a model file that is one.
  await cp(join(FIXTURES, 'scale'), join(repo, 'linked'), { recursive: true });
  await writeFile(join(outside, 'config.yaml'), 'max_batch_size: 4\n');
  await symlink(join(outside, 'config.yaml'), join(repo, 'linked', 'config.yaml'));
  await mkdir(join(repo, 'filelink', '1'), { recursive: true });
  await symlink(join(outside, 'stolen', '1', 'model.onnx'), join(repo, 'filelink', '1', 'model.onnx'));
  // A config on disk whose label file is a symlink out.
  await cp(join(FIXTURES, 'scale'), join(repo, 'labelled'), { recursive: true });
  await writeFile(join(repo, 'labelled', 'config.yaml'), 'output:\n  - name: y\n    label_filename: labels.txt\n');
  await symlink(join(outside, 'secret.txt'), join(repo, 'labelled', 'labels.txt'));

  // At start-up the operator's repository loads as it is; only request-driven loads are confined.
  const { url } = await serve(repo, { modelControl: 'explicit' });
  const refused = async (r, pattern) => {
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.code, 'PATH_OUTSIDE_REPOSITORY');
    assert.match(r.json.error, pattern);
  };
  const cfg = (over) => ({ parameters: { config: JSON.stringify({ name: 'scale', ...over }) } });

  await refused(await load(url, '..%2Foutside%2Fstolen'), /model name "\.\.\/outside\/stolen" is not a folder name/);
  await refused(await rawPost(url, '/v2/repository/models/../load'), /model name "\.\."/);
  await refused(await load(url, '.hidden'), /leading dot/);
  await refused(await load(url, 'a%5Cb'), /model name "a\\\\b"/);
  await refused(await load(url, 'scale%00'), /model name/);
  await refused(await unload(url, '..%2Fscale'), /model name/);
  await refused(await load(url, 'scale', cfg({ default_model_filename: join(outside, 'stolen', '1', 'model.onnx') })), /default_model_filename ".*stolen.*" in the load request for "scale" leaves the model folder/);
  await refused(await load(url, 'scale', cfg({ default_model_filename: '../../outside/stolen/1/model.onnx' })), /default_model_filename/);
  await refused(await load(url, 'scale', cfg({ output: [{ name: 'y', label_filename: '../../outside/secret.txt' }] })), /label_filename of "y"/);
  await refused(await load(url, 'scale', cfg({ output: [{ name: 'y', label_filename: '/etc/passwd' }] })), /label_filename of "y" "\/etc\/passwd"/);
  await refused(await load(url, 'linked'), /config file .*linked.* resolves to .*outside.*config\.yaml, outside the repository/);
  await refused(await load(url, 'filelink'), /model file .*filelink.* resolves to .*outside/);
  await refused(await load(url, 'labelled'), /label file .*labels\.txt resolves to .*secret\.txt/);

  // A refused load changes nothing: scale still serves its original version.
  assert.deepEqual((await post(`${url}/v2/models/scale/infer`, x)).json.outputs[0].data, [2, 4, 6, 8]);
  // And a load that stays inside still works.
  assert.equal((await load(url, 'scale', cfg({ default_model_filename: 'model.onnx' }))).status, 200);
});
