import { test } from 'node:test';
import assert from 'node:assert/strict';
import Busboy from 'busboy';
import {
  binaryInferBody, jsonInferBody, multipartBody, parseShapes, planInputs, predictRequest, randomTensor, seededRandom, tensorRequests,
} from '../../dist/bench/payload.js';
import { decodeInferRequest } from '../../dist/tensors/v2-codec.js';
import { table } from '../../dist/report/table.js';

const model = { maxBatchSize: 16, inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1] }, { name: 'ids', datatype: 'INT64', shape: [-1, 2] }] };

/** Decodes with the server's own codec and writes each input out, as the batcher would. */
function decode(body, headerLength) {
  const req = decodeInferRequest(body, headerLength === undefined ? undefined : String(headerLength));
  return req.inputs.map((s) => {
    const data = s.datatype === 'INT64' ? new BigInt64Array(s.count) : new Float32Array(s.count);
    s.writeInto(data, 0);
    return { name: s.name, shape: s.shape, datatype: s.datatype, data };
  });
}

test('seeded random is deterministic and in [0, 1)', () => {
  const a = seededRandom(42), b = seededRandom(42), c = seededRandom(43);
  const xs = Array.from({ length: 1000 }, a);
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, b));
  assert.notEqual(xs[0], c());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('planInputs puts the batch first and fills dynamic dims from --shape', () => {
  const plans = planInputs(model, 4, parseShapes(['x:3,7']));
  assert.deepEqual(plans, [{ name: 'x', datatype: 'FP32', shape: [4, 3, 7] }, { name: 'ids', datatype: 'INT64', shape: [4, 2] }]);
});

test('planInputs names what is wrong', () => {
  assert.throws(() => planInputs(model, 1), /dynamic dims \[3,-1\].*--shape x:3,N/);
  assert.throws(() => planInputs(model, 1, parseShapes(['x:4,7'])), /does not fit the model's dims \[3,-1\]/);
  assert.throws(() => planInputs(model, 1, parseShapes(['y:1'])), /names input "y"/);
  assert.throws(() => planInputs(model, 17, parseShapes(['x:3,7'])), /outside 1\.\.16/);
  const fixed = { maxBatchSize: 0, inputs: [{ name: 'a', datatype: 'FP32', shape: [2, 2] }] };
  assert.deepEqual(planInputs(fixed, 1)[0].shape, [2, 2]);
  assert.throws(() => planInputs(fixed, 2), /no batch axis/);
  assert.throws(() => parseShapes(['x3,7']), /NAME:D1,D2/);
  assert.throws(() => parseShapes(['x:3,0']), /positive integer/);
});

test('binary bodies decode with the server codec to the same tensors', () => {
  const plans = planInputs(model, 2, parseShapes(['x:3,5']));
  const r = seededRandom(1);
  const tensors = plans.map((p) => randomTensor(p.datatype, p.shape.reduce((a, b) => a * b, 1), r));
  const { body, headerLength } = binaryInferBody(plans, tensors);
  const header = JSON.parse(body.subarray(0, headerLength).toString());
  assert.equal(header.parameters.binary_data_output, true);
  assert.equal(header.inputs[0].parameters.binary_data_size, 2 * 3 * 5 * 4);
  const decoded = decode(body, headerLength);
  assert.deepEqual(decoded.map((d) => d.shape), [[2, 3, 5], [2, 2]]);
  assert.deepEqual(decoded[0].data, tensors[0]);
  assert.deepEqual(decoded[1].data, tensors[1]);
});

test('JSON bodies decode with the server codec to the same tensors', () => {
  const plans = planInputs(model, 1, parseShapes(['x:3,2']));
  const r = seededRandom(5);
  const tensors = plans.map((p) => randomTensor(p.datatype, p.shape.reduce((a, b) => a * b, 1), r));
  const decoded = decode(jsonInferBody(plans, tensors));
  assert.deepEqual(decoded[0].data, tensors[0]);
  assert.deepEqual(decoded[1].data, tensors[1]);
  assert.ok([...tensors[1]].every((v) => v >= 0n && v < 10n));
});

test('tensorRequests builds distinct, well-headed requests', () => {
  const plans = planInputs(model, 3, parseShapes(['x:3,2']));
  const reqs = tensorRequests('m 1', 'binary', plans, { variants: 3, batch: 3 });
  assert.equal(reqs.length, 3);
  assert.equal(reqs[0].path, '/v2/models/m%201/infer');
  assert.equal(reqs[0].inferences, 3);
  assert.notDeepEqual(reqs[0].body, reqs[1].body);
  const len = Number(reqs[0].headers['inference-header-content-length']);
  assert.doesNotThrow(() => JSON.parse(reqs[0].body.subarray(0, len).toString()));
  const json = tensorRequests('m', 'json', plans, { variants: 1 });
  assert.equal(json[0].headers['content-type'], 'application/json');
});

test('the /predict multipart body parses into meta and blob', async () => {
  const pixels = Buffer.from(Array.from({ length: 2 * 3 * 3 }, (_, i) => (i * 37) % 256));
  const spec = predictRequest(pixels, 2, 3, 3);
  assert.equal(spec.path, '/predict');
  const parts = await new Promise((resolve, reject) => {
    const got = {};
    const bb = Busboy({ headers: spec.headers });
    bb.on('file', (name, stream) => { const chunks = []; stream.on('data', (c) => chunks.push(c)); stream.on('end', () => { got[name] = Buffer.concat(chunks); }); });
    bb.on('field', (name, value) => { got[name] = Buffer.from(value); });
    bb.on('close', () => resolve(got));
    bb.on('error', reject);
    bb.end(spec.body);
  });
  assert.deepEqual(JSON.parse(parts.meta.toString()), { shape: [2, 3, 3] });
  assert.deepEqual(parts.blob, pixels);
  assert.throws(() => predictRequest(pixels, 2, 2, 3), /do not make a 2x2x3 image/);
  const { body } = multipartBody([['a', Buffer.from('x')]], 'B');
  assert.equal(body.toString(), '--B\r\nContent-Disposition: form-data; name="a"; filename="a"\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n--B--\r\n');
});

test('table right-aligns numbers', () => {
  assert.equal(table(['load', 'req/s'], [['c=1', '5.0'], ['c=16', '123.4']]), 'load  req/s\n----  -----\nc=1     5.0\nc=16  123.4\n');
});
