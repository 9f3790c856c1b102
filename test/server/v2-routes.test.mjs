// KServe v2 routes and Triton's extensions, against the real server on a loopback port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, get, post, binaryBody, readBinaryResponse } from '../helpers.mjs';

let server;
let url;
before(async () => { server = await start(undefined, { modelControl: 'explicit' }); url = server.url; });
after(() => server.close());

test('GET /v2 names the server and its extensions', async () => {
  const r = await get(`${url}/v2`);
  assert.equal(r.status, 200);
  assert.equal(r.json.name, 'ferry');
  assert.match(r.json.version, /^\d+\.\d+\.\d+/);
  for (const ext of ['binary_tensor_data', 'model_repository', 'schedule_policy', 'statistics', 'model_configuration']) assert.ok(r.json.extensions.includes(ext), ext);
});

test('health: live and ready', async () => {
  assert.equal((await get(`${url}/v2/health/live`)).status, 200);
  assert.equal((await get(`${url}/v2/health/ready`)).status, 200);
});

test('model metadata, with and without a version', async () => {
  const r = await get(`${url}/v2/models/scale`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, {
    name: 'scale', versions: ['1'], platform: 'onnxruntime_onnx',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }],
  });
  assert.equal((await get(`${url}/v2/models/scale/versions/1`)).json.name, 'scale');
  const missing = await get(`${url}/v2/models/scale/versions/7`);
  assert.equal(missing.status, 404);
  assert.equal(missing.json.code, 'VERSION_NOT_FOUND');
  assert.match(missing.json.error, /version "7"/);
});

test('model ready: 200, and non-200 for an unknown model', async () => {
  assert.equal((await get(`${url}/v2/models/scale/ready`)).status, 200);
  assert.equal((await get(`${url}/v2/models/scale/versions/1/ready`)).status, 200);
  assert.notEqual((await get(`${url}/v2/models/nope/ready`)).status, 200);
});

test('model config in Triton form', async () => {
  const r = await get(`${url}/v2/models/scale/config`);
  assert.equal(r.status, 200);
  assert.equal(r.json.max_batch_size, 32);
  assert.deepEqual(r.json.input, [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }]);
  assert.equal(r.json.output[0].data_type, 'TYPE_FP32');
  assert.equal(r.json.dynamic_batching.max_queue_delay_microseconds, 0);
  assert.equal(r.json.dynamic_batching.default_queue_policy.max_queue_size, 1024);
  assert.equal(r.json.instance_group[0].count, 1);
});

test('infer with JSON tensors, nested or flat, echoing the id', async () => {
  const r = await post(`${url}/v2/models/scale/infer`, {
    id: 'req-1',
    inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: [[1, 2, 3, 4], [5, 6, 7, 8]] }],
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { model_name: 'scale', model_version: '1', id: 'req-1', outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 4], data: [2, 4, 6, 8, 10, 12, 14, 16] }] });
  const flat = await post(`${url}/v2/models/scale/versions/1/infer`, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [0.5, -1, 0, 3] }] });
  assert.deepEqual(flat.json.outputs[0].data, [1, -2, 0, 6]);
});

test('every datatype round-trips through JSON', async () => {
  const r = await post(`${url}/v2/models/types/infer`, {
    inputs: [
      { name: 'a', shape: [2, 2], datatype: 'INT64', data: [1, -2, 9007199254740991, 4] },
      { name: 'b', shape: [2, 3], datatype: 'UINT8', data: [0, 1, 2, 253, 254, 255] },
      { name: 'c', shape: [2, 1], datatype: 'BOOL', data: [true, false] },
      { name: 'd', shape: [2, 2], datatype: 'FP16', data: [1.5, -2, 65504, 0.000061035] },
    ],
  });
  assert.equal(r.status, 200, r.text);
  const out = Object.fromEntries(r.json.outputs.map((o) => [o.name, o]));
  assert.deepEqual(out.a_out.data, [1, -2, 9007199254740991, 4]);
  assert.equal(out.a_out.datatype, 'INT64');
  assert.deepEqual(out.b_out.data, [0, 1, 2, 253, 254, 255]);
  assert.deepEqual(out.c_out.data, [true, false]);
  assert.equal(out.d_out.data[0], 1.5);
  assert.equal(out.d_out.data[2], 65504);
  assert.ok(Math.abs(out.d_out.data[3] - 0.000061035) < 1e-7);
});

test('binary tensor extension: binary inputs, binary outputs', async () => {
  const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const { body, headers } = binaryBody({
    inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }],
    outputs: [{ name: 'y', parameters: { binary_data: true } }],
  }, [x]);
  const res = await fetch(`${url}/v2/models/scale/infer`, { method: 'POST', body, headers });
  assert.equal(res.status, 200);
  const { header, rest } = await readBinaryResponse(res);
  assert.deepEqual(header.outputs, [{ name: 'y', datatype: 'FP32', shape: [2, 4], parameters: { binary_data_size: 32 } }]);
  assert.deepEqual([...new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + 32))], [2, 4, 6, 8, 10, 12, 14, 16]);
});

test('binary_data_output: true makes every output binary; binary inputs of several types', async () => {
  const a = new BigInt64Array([5n, -6n]);
  const b = new Uint8Array([7, 8, 9]);
  const c = new Uint8Array([1]);
  const d = new Uint16Array([0x3c00, 0xc000]); // 1, -2
  const { body, headers } = binaryBody({
    inputs: [
      { name: 'a', shape: [1, 2], datatype: 'INT64', parameters: { binary_data_size: 16 } },
      { name: 'b', shape: [1, 3], datatype: 'UINT8', parameters: { binary_data_size: 3 } },
      { name: 'c', shape: [1, 1], datatype: 'BOOL', parameters: { binary_data_size: 1 } },
      { name: 'd', shape: [1, 2], datatype: 'FP16', parameters: { binary_data_size: 4 } },
    ],
    parameters: { binary_data_output: true },
  }, [a, b, c, d]);
  const res = await fetch(`${url}/v2/models/types/infer`, { method: 'POST', body, headers });
  assert.equal(res.status, 200);
  const { header, rest } = await readBinaryResponse(res);
  assert.deepEqual(header.outputs.map((o) => o.parameters.binary_data_size), [16, 3, 1, 4]);
  assert.deepEqual([...new BigInt64Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + 16))], [5n, -6n]);
  assert.deepEqual([...rest.subarray(16, 19)], [7, 8, 9]);
  assert.deepEqual([...rest.subarray(19, 20)], [1]);
  assert.deepEqual([...new Uint16Array(rest.buffer.slice(rest.byteOffset + 20, rest.byteOffset + 24))], [0x3c00, 0xc000]);
});

test('outputs: only the requested ones come back', async () => {
  const r = await post(`${url}/v2/models/types/infer`, {
    inputs: [
      { name: 'a', shape: [1, 2], datatype: 'INT64', data: [1, 2] },
      { name: 'b', shape: [1, 3], datatype: 'UINT8', data: [1, 2, 3] },
      { name: 'c', shape: [1, 1], datatype: 'BOOL', data: [true] },
      { name: 'd', shape: [1, 2], datatype: 'FP16', data: [1, 2] },
    ],
    outputs: [{ name: 'b_out' }],
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.outputs.map((o) => o.name), ['b_out']);
});

test('dynamic dims: a request takes any length the model allows', async () => {
  const r = await post(`${url}/v2/models/dyn/infer`, { inputs: [{ name: 'x', shape: [1, 5], datatype: 'FP32', data: [0, 1, 2, 3, 4] }] });
  assert.deepEqual(r.json.outputs[0].data, [1, 2, 3, 4, 5]);
  assert.deepEqual(r.json.outputs[0].shape, [1, 5]);
});

test('statistics count successes and batches', async () => {
  const r = await get(`${url}/v2/models/scale/stats`);
  assert.equal(r.status, 200);
  const s = r.json.model_stats[0];
  assert.equal(s.name, 'scale');
  assert.ok(s.inference_stats.success.count >= 3);
  assert.ok(s.execution_count >= 1);
  assert.ok(s.batch_stats.length >= 1);
  assert.ok(s.inference_stats.compute_infer.ns > 0);
  const all = await get(`${url}/v2/models/stats`);
  assert.ok(all.json.model_stats.some((m) => m.name === 'types'));
});

test('repository: index, unload (then 404/503), load again', async () => {
  const idx = await post(`${url}/v2/repository/index`, '');
  assert.equal(idx.status, 200);
  assert.deepEqual(idx.json.map((m) => m.name), ['dyn', 'fixed', 'matpow', 'scale', 'types']);
  assert.ok(idx.json.every((m) => m.state === 'READY'));

  assert.equal((await post(`${url}/v2/repository/models/dyn/unload`, '')).status, 200);
  const gone = await post(`${url}/v2/models/dyn/infer`, { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] });
  assert.equal(gone.status, 404);
  assert.equal(gone.json.code, 'MODEL_NOT_FOUND');
  const after = await post(`${url}/v2/repository/index`, '');
  assert.deepEqual(after.json.find((m) => m.name === 'dyn'), { name: 'dyn', state: 'UNAVAILABLE', reason: 'unloaded' });

  assert.equal((await post(`${url}/v2/repository/models/dyn/load`, '')).status, 200);
  const back = await post(`${url}/v2/models/dyn/infer`, { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] });
  assert.deepEqual(back.json.outputs[0].data, [2]);

  const unknown = await post(`${url}/v2/repository/models/nothere/load`, '');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.code, 'MODEL_NOT_FOUND');
});

test('GET /metrics exposes Prometheus metrics', async () => {
  const r = await get(`${url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.text, /ferry_requests_total\{model="scale",outcome="success"\} \d+/);
  assert.match(r.text, /ferry_batch_size_bucket\{le="1",model="scale"\}/);
  assert.match(r.text, /ferry_queue_depth\{model="scale"\} 0/);
  assert.match(r.text, /ferry_compute_duration_seconds_count\{model="scale"\}/);
  assert.match(r.text, /ferry_queue_duration_seconds_count\{model="scale"\}/);
});

test('unknown routes: 404 with a code', async () => {
  const r = await get(`${url}/v3/what`);
  assert.equal(r.status, 404);
  assert.equal(r.json.code, 'NOT_FOUND');
  assert.match(r.json.error, /GET \/v3\/what/);
});

test('a model without a batch axis (max_batch_size 0) takes its exact shape', async () => {
  const meta = await get(`${url}/v2/models/fixed`);
  assert.deepEqual(meta.json.inputs, [{ name: 'x', datatype: 'FP32', shape: [2, 2] }]);
  assert.equal((await get(`${url}/v2/models/fixed/config`)).json.max_batch_size, 0);
  const rs = await Promise.all([1, 2, 3].map((v) => post(`${url}/v2/models/fixed/infer`, { inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [v, v, v, v] }] })));
  rs.forEach((r, i) => assert.deepEqual(r.json.outputs[0], { name: 'y', datatype: 'FP32', shape: [2, 2], data: Array(4).fill(3 * (i + 1)) }));
  const wrong = await post(`${url}/v2/models/fixed/infer`, { inputs: [{ name: 'x', shape: [1, 2, 2], datatype: 'FP32', data: [1, 1, 1, 1] }] });
  assert.equal(wrong.json.code, 'BAD_SHAPE');
});

test('INT64 beyond 2^53 survives JSON both ways, exactly', async () => {
  const big = ['9007199254740993', '-4611686018427387903', '9223372036854775807', '-9223372036854775808'];
  const body = `{"inputs":[{"name":"a","shape":[2,2],"datatype":"INT64","data":[${big.join(',')}]},` +
    '{"name":"b","shape":[2,3],"datatype":"UINT8","data":[0,0,0,0,0,0]},{"name":"c","shape":[2,1],"datatype":"BOOL","data":[true,true]},' +
    '{"name":"d","shape":[2,2],"datatype":"FP16","data":[0,0,0,0]}],"outputs":[{"name":"a_out"}]}';
  const r = await post(`${url}/v2/models/types/infer`, body);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.text.includes(`"data":[${big.join(',')}]`), r.text);
  const over = body.replace('9223372036854775807', '9223372036854775808');
  const bad = await post(`${url}/v2/models/types/infer`, over);
  assert.equal(bad.json.code, 'BAD_DATA_VALUE');
  assert.match(bad.json.error, /9223372036854775808, not a INT64 value/);
});

test('classification extension: top-k as "score:index" strings', async () => {
  const r = await post(`${url}/v2/models/scale/infer`, {
    inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: [-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5] }],
    outputs: [{ name: 'y', parameters: { classification: 2 } }],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.outputs[0], { name: 'y', datatype: 'BYTES', shape: [2, 2], data: ['-1.000000:3', '-3.000000:2', '7.000000:3', '5.000000:2'] });
});

test('Content-Encoding gzip and deflate request bodies (tritonclient request_compression_algorithm)', async () => {
  const { gzipSync, deflateSync } = await import('node:zlib');
  const json = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
  for (const [enc, fn] of [['gzip', gzipSync], ['deflate', deflateSync]]) {
    const r = await post(`${url}/v2/models/scale/infer`, fn(json), { 'content-encoding': enc });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.outputs[0].data, [2, 4, 6, 8]);
  }
  // the binary extension's header length counts the inflated body
  const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, [new Float32Array([1, 1, 1, 1])]);
  const r = await post(`${url}/v2/models/scale/infer`, gzipSync(body), { ...headers, 'content-encoding': 'gzip' });
  assert.deepEqual(r.json.outputs[0].data, [2, 2, 2, 2]);
  const junk = await post(`${url}/v2/models/scale/infer`, Buffer.from('not gzip'), { 'content-encoding': 'gzip' });
  assert.equal(junk.json.code, 'BAD_REQUEST');
  const zstd = await post(`${url}/v2/models/scale/infer`, json, { 'content-encoding': 'zstd' });
  assert.equal(zstd.status, 415);
});

test('a gzip bomb is refused with 413, not inflated', async () => {
  const { gzipSync } = await import('node:zlib');
  const bomb = gzipSync(Buffer.alloc(200 << 20)); // 200 MiB of zeros in ~200 KB
  const r = await post(`${url}/v2/models/scale/infer`, bomb, { 'content-encoding': 'gzip' });
  assert.equal(r.status, 413);
  assert.equal(r.json.code, 'BODY_TOO_LARGE');
});

test('load with a config override (Triton), then reload from the repository', async () => {
  const cfg = (await get(`${url}/v2/models/scale/config`)).json;
  const override = { ...cfg, max_batch_size: 4 };
  let r = await post(`${url}/v2/repository/models/scale/load`, { parameters: { config: JSON.stringify(override) } });
  assert.equal(r.status, 200, r.text);
  assert.equal((await get(`${url}/v2/models/scale/config`)).json.max_batch_size, 4);
  r = await post(`${url}/v2/repository/models/scale/load`, { parameters: { config: JSON.stringify({ ...cfg, max_batch_size: 'four' }) } });
  assert.equal(r.status, 400);
  assert.equal(r.json.code, 'CONFIG_INVALID');
  assert.match(r.json.error, /parameters.config of the load request for "scale": max_batch_size must be an integer/);
  r = await post(`${url}/v2/repository/models/scale/load`, { parameters: { file: 'x' } });
  assert.equal(r.json.code, 'BAD_PARAMETER');
  assert.equal((await post(`${url}/v2/repository/models/scale/load`, '')).status, 200);
  assert.equal((await get(`${url}/v2/models/scale/config`)).json.max_batch_size, 32);
  const ready = await post(`${url}/v2/repository/index`, { ready: true });
  assert.ok(ready.json.every((m) => m.state === 'READY'));
});
