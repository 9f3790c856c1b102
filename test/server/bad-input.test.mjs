// Bad input gets a clear 4xx naming the problem, fast, and the server keeps serving around it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { start, get, post, binaryBody } from '../helpers.mjs';

let server;
let url;
before(async () => { server = await start(undefined, { maxBodyBytes: 1 << 20 }); url = server.url; });
after(() => server.close());

const x = (over = {}) => ({ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4], ...over });
const inferUrl = () => `${url}/v2/models/scale/infer`;

const cases = [
  ['malformed JSON', () => post(inferUrl(), '{"inputs": [', { 'content-type': 'application/json' }), 400, 'BAD_JSON', /not valid JSON/],
  ['empty body', () => post(inferUrl(), ''), 400, 'BAD_REQUEST', /empty/],
  ['no inputs', () => post(inferUrl(), { outputs: [] }), 400, 'BAD_REQUEST', /"inputs"/],
  ['inputs not objects', () => post(inferUrl(), { inputs: [3] }), 400, 'BAD_REQUEST', /inputs\[0\]/],
  ['wrong datatype name', () => post(inferUrl(), { inputs: [x({ datatype: 'FLOAT' })] }), 400, 'BAD_DATATYPE', /"FLOAT" is not one of/],
  ['datatype the model does not take', () => post(inferUrl(), { inputs: [x({ datatype: 'INT32' })] }), 400, 'BAD_DATATYPE', /datatype INT32, but model "scale" takes FP32/],
  ['wrong shape', () => post(inferUrl(), { inputs: [x({ shape: [1, 5], data: [1, 2, 3, 4, 5] })] }), 400, 'BAD_SHAPE', /does not match the model's \[-1,4\]/],
  ['wrong rank', () => post(inferUrl(), { inputs: [x({ shape: [4], data: [1, 2, 3, 4] })] }), 400, 'BAD_SHAPE', /rank 1/],
  ['negative dim', () => post(inferUrl(), { inputs: [x({ shape: [-1, 4] })] }), 400, 'BAD_SHAPE', /non-negative integers/],
  ['fractional dim', () => post(inferUrl(), { inputs: [x({ shape: [1.5, 4] })] }), 400, 'BAD_SHAPE', /non-negative integers/],
  ['absurd dims', () => post(inferUrl(), { inputs: [x({ shape: [1e9, 1e9] })] }), 400, 'BAD_SHAPE', /absurdly large/],
  ['data shorter than shape', () => post(inferUrl(), { inputs: [x({ data: [1, 2, 3] })] }), 400, 'BAD_DATA_LENGTH', /3 elements of data, but shape \[1,4\] needs 4/],
  ['data longer than shape', () => post(inferUrl(), { inputs: [x({ data: [1, 2, 3, 4, 5] })] }), 400, 'BAD_DATA_LENGTH', /5 elements/],
  ['a string in FP32 data', () => post(inferUrl(), { inputs: [x({ data: [1, 'two', 3, 4] })] }), 400, 'BAD_DATA_VALUE', /element 1 is "two"/],
  ['FP32 value past its range', () => post(inferUrl(), { inputs: [x({ data: [1e50, 1, 1, 1] })] }), 400, 'BAD_DATA_VALUE', /element 0 is 1e\+50, outside FP32's range/],
  ['"NaN" as a string in FP32 data', () => post(inferUrl(), { inputs: [x({ data: ['NaN', 1, 1, 1] })] }), 400, 'BAD_DATA_VALUE', /element 0 is "NaN", FP32 data must be numbers/],
  ['UINT8 value 300', () => post(`${url}/v2/models/types/infer`, { inputs: [{ name: 'b', shape: [1, 3], datatype: 'UINT8', data: [300, 1, 3] }] }), 400, 'BAD_DATA_VALUE', /300, not a UINT8/],
  ['FP16 value past its range', () => post(`${url}/v2/models/types/infer`, { inputs: [{ name: 'd', shape: [1, 2], datatype: 'FP16', data: [1, 70000] }] }), 400, 'BAD_DATA_VALUE', /70000, outside FP16's range/],
  ['INT value out of range', () => post(`${url}/v2/models/types/infer`, { inputs: [{ name: 'b', shape: [1, 3], datatype: 'UINT8', data: [1, 256, 3] }] }), 400, 'BAD_DATA_VALUE', /256, not a UINT8/],
  ['unknown input', () => post(inferUrl(), { inputs: [x(), x({ name: 'z' })] }), 400, 'UNKNOWN_INPUT', /no input "z"/],
  ['missing input', () => post(`${url}/v2/models/types/infer`, { inputs: [{ name: 'a', shape: [1, 2], datatype: 'INT64', data: [1, 2] }] }), 400, 'MISSING_INPUT', /needs input "b"/],
  ['duplicate input', () => post(inferUrl(), { inputs: [x(), x()] }), 400, 'BAD_REQUEST', /appears twice/],
  ['unknown output', () => post(inferUrl(), { inputs: [x()], outputs: [{ name: 'q' }] }), 400, 'UNKNOWN_OUTPUT', /no output "q"/],
  ['batch above max_batch_size', () => post(inferUrl(), { inputs: [x({ shape: [33, 4], data: new Array(132).fill(0) })] }), 400, 'BATCH_TOO_LARGE', /1 to 32/],
  ['zero batch', () => post(inferUrl(), { inputs: [x({ shape: [0, 4], data: [] })] }), 400, 'BAD_SHAPE', /batch of 0/],
  ['negative priority', () => post(inferUrl(), { inputs: [x()], parameters: { priority: -1 } }), 400, 'BAD_PARAMETER', /priority must be a non-negative integer/],
  ['classification of zero classes', () => post(inferUrl(), { inputs: [x()], outputs: [{ name: 'y', parameters: { classification: 0 } }] }), 400, 'BAD_PARAMETER', /classification must be a positive integer/],
  ['bad timeout', () => post(inferUrl(), { inputs: [x()], parameters: { timeout: 'soon' } }), 400, 'BAD_PARAMETER', /timeout/],
  ['unknown model', () => post(`${url}/v2/models/nope/infer`, { inputs: [x()] }), 404, 'MODEL_NOT_FOUND', /model "nope" is not loaded/],
  ['unknown version', () => post(`${url}/v2/models/scale/versions/3/infer`, { inputs: [x()] }), 404, 'VERSION_NOT_FOUND', /no version "3"/],
  ['binary header longer than body', () => {
    const { body } = binaryBody({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, [new Float32Array(4)]);
    return post(inferUrl(), body, { 'inference-header-content-length': String(body.length + 10) });
  }, 400, 'BAD_BINARY_HEADER', /body has only/],
  ['binary header length not a number', () => post(inferUrl(), '{}', { 'inference-header-content-length': 'ten' }), 400, 'BAD_BINARY_HEADER', /"ten"/],
  ['binary_data_size past the end', () => {
    const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 64 } }] }, [new Float32Array(4)]);
    return post(inferUrl(), body, headers);
  }, 400, 'BAD_BINARY_HEADER', /runs past the end/],
  ['binary data of the wrong length', () => {
    const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 12 } }] }, [new Float32Array(3)]);
    return post(inferUrl(), body, headers);
  }, 400, 'BAD_DATA_LENGTH', /12 bytes of data, but shape \[1,4\] of FP32 needs 16/],
  ['trailing binary bytes', () => {
    const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, [new Float32Array(5)]);
    return post(inferUrl(), body, headers);
  }, 400, 'BAD_BINARY_HEADER', /4 bytes of binary data/],
  ['oversized body', () => post(inferUrl(), Buffer.alloc(2 << 20, 32)), 413, 'BODY_TOO_LARGE', /larger than this server accepts/],
];

for (const [name, send, status, code, message] of cases) {
  test(`${name} → ${status} ${code}`, async () => {
    const t0 = performance.now();
    const r = await send();
    assert.equal(r.status, status, r.text);
    assert.equal(r.json?.code, code, r.text);
    assert.match(r.json.error, message);
    assert.ok(performance.now() - t0 < 2000, 'answered fast');
  });
}

test('a Content-Length over the limit gets 413 before the body is sent', async () => {
  const { port } = new URL(url);
  const answer = await new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), '127.0.0.1', () => {
      sock.write(`POST /v2/models/scale/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1 << 30}\r\n\r\n{"inp`);
    });
    let data = '';
    sock.on('data', (d) => { data += d; if (data.includes('\r\n\r\n')) { sock.destroy(); resolve(data); } });
    sock.on('error', reject);
    setTimeout(() => { sock.destroy(); reject(new Error('no answer while the body was still owed')); }, 3000);
  });
  assert.match(answer, /^HTTP\/1.1 413/);
});

test('the server stays healthy and answers good requests amid bad ones', async () => {
  const good = Array.from({ length: 20 }, (_, i) => post(inferUrl(), { inputs: [x({ data: [i, i, i, i] })] }));
  const bad = cases.map(([, send]) => send());
  const results = await Promise.all([...good, ...bad]);
  results.slice(0, 20).forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.outputs[0].data, [2 * i, 2 * i, 2 * i, 2 * i]);
  });
  assert.equal((await get(`${url}/v2/health/ready`)).status, 200);
  const stats = (await get(`${url}/v2/models/scale/stats`)).json.model_stats[0];
  assert.ok(stats.inference_stats.fail.count > 0, 'failures are counted');
});
