/**
 * KServe v2 / Open Inference Protocol request and response bodies, JSON and the binary tensor
 * extension (Inference-Header-Content-Length, binary_data_size, binary_data, binary_data_output).
 */
import type { InputSource } from './source.js';
import { bytesSource, jsonSource } from './source.js';
import type { Tensor } from './tensor.js';
import { elementCount } from './tensor.js';
import { DATATYPES, fromHalfBits, isDatatype } from './dtype.js';
import { parse as parseLossless } from 'lossless-json';
import { FerryError } from '../errors.js';
import { ChunkedBytes } from './chunked-bytes.js';

export interface RequestedOutput {
  readonly name: string;
  /** Return this output in the binary section. */
  readonly binary: boolean;
  /** Classification extension: return the top N classes as "score:index[:label]" strings. */
  readonly classification?: number;
}

/** A decoded v2 inference request: inputs validated against themselves (not yet against a model). */
export interface InferRequest {
  readonly id?: string;
  readonly inputs: InputSource[];
  /** Outputs asked for; undefined = all, in the model's order. */
  readonly outputs?: RequestedOutput[];
  /** `binary_data_output`: default for outputs not listed. */
  readonly binaryOutput: boolean;
  /** Schedule policy: priority level (1 = highest); undefined = the model's default. */
  readonly priority?: number;
  /** Schedule policy: queue timeout in microseconds (Triton's unit); undefined = the model's default. */
  readonly timeoutUs?: number;
}

/** A BYTES output (the classification extension): one string per element. */
export interface StringTensor {
  readonly datatype: 'BYTES';
  readonly shape: readonly number[];
  readonly strings: readonly string[];
}

/** One request's slice of a batch's outputs, ready to encode. */
export interface InferResponse {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id?: string;
  readonly outputs: ReadonlyArray<{ name: string; tensor: Tensor | StringTensor; binary: boolean }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Integers too long for a double become bigints; everything else is a number. */
const parseNumber = (s: string): number | bigint => (/^-?\d{16,}$/.test(s) && !Number.isSafeInteger(Number(s)) ? BigInt(s) : Number(s));

function parseJson(text: string, what: string): unknown {
  try {
    // JSON.parse rounds integers past 2^53; INT64 data may need them exact, so only then go lossless.
    return /\d{16}/.test(text) ? parseLossless(text, null, parseNumber) : JSON.parse(text);
  } catch (err) {
    throw new FerryError('BAD_JSON', `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Decodes an infer body. `headerLength` is the Inference-Header-Content-Length header, if any:
 * the first headerLength bytes are the JSON header and the rest holds binary tensors in order.
 */
export function decodeInferRequest(input: Buffer | ChunkedBytes, headerLengthHeader?: string | string[]): InferRequest {
  const body = input instanceof ChunkedBytes ? input : ChunkedBytes.of(input);
  let headerLength = body.length;
  if (headerLengthHeader !== undefined) {
    const raw = Array.isArray(headerLengthHeader) ? headerLengthHeader[0] : headerLengthHeader;
    headerLength = Number(raw);
    if (!Number.isInteger(headerLength) || headerLength < 0 || String(raw).trim() === '') {
      throw new FerryError('BAD_BINARY_HEADER', `Inference-Header-Content-Length "${raw}" is not a non-negative integer`);
    }
    if (headerLength > body.length) {
      throw new FerryError('BAD_BINARY_HEADER', `Inference-Header-Content-Length is ${headerLength} but the body has only ${body.length} bytes`);
    }
  }
  if (headerLength === 0) throw new FerryError('BAD_REQUEST', 'the request body is empty; an inference request needs a JSON object with "inputs"');
  const json = parseJson(body.toString('utf8', 0, headerLength), headerLength === body.length ? 'the request body' : 'the JSON header');
  if (!isObject(json)) throw new FerryError('BAD_REQUEST', 'the inference request must be a JSON object with "inputs"');

  const { id, inputs, outputs, parameters } = json;
  if (id !== undefined && typeof id !== 'string') throw new FerryError('BAD_REQUEST', '"id" must be a string');
  if (!Array.isArray(inputs) || inputs.length === 0) throw new FerryError('BAD_REQUEST', '"inputs" must be a non-empty array of tensors');
  if (parameters !== undefined && !isObject(parameters)) throw new FerryError('BAD_REQUEST', '"parameters" must be an object');

  let binaryOffset = headerLength;
  const seen = new Set<string>();
  const sources: InputSource[] = inputs.map((input, i) => {
    if (!isObject(input)) throw new FerryError('BAD_REQUEST', `inputs[${i}] must be an object with name, shape, datatype and data`);
    const { name, shape, datatype, data } = input;
    const p = input.parameters;
    if (typeof name !== 'string' || name === '') throw new FerryError('BAD_REQUEST', `inputs[${i}].name must be a non-empty string`);
    if (seen.has(name)) throw new FerryError('BAD_REQUEST', `input "${name}" appears twice`);
    seen.add(name);
    if (!Array.isArray(shape)) throw new FerryError('BAD_SHAPE', `input "${name}": "shape" must be an array of dims`);
    if (!isDatatype(datatype)) {
      throw new FerryError('BAD_DATATYPE', `input "${name}": datatype ${JSON.stringify(datatype)} is not one of ${Object.keys(DATATYPES).join(', ')}`);
    }
    const count = elementCount(shape, `input "${name}"`);
    const dims = shape as number[];
    const binarySize = isObject(p) ? p.binary_data_size : undefined;
    if (binarySize !== undefined) {
      if (typeof binarySize !== 'number' || !Number.isInteger(binarySize) || binarySize < 0) {
        throw new FerryError('BAD_BINARY_HEADER', `input "${name}": binary_data_size must be a non-negative integer`);
      }
      if (data !== undefined) throw new FerryError('BAD_REQUEST', `input "${name}" has both "data" and binary_data_size`);
      if (binaryOffset + binarySize > body.length) {
        throw new FerryError('BAD_BINARY_HEADER', `input "${name}": binary_data_size ${binarySize} runs past the end of the body (${body.length - binaryOffset} bytes left)`);
      }
      const bytes = body.subarray(binaryOffset, binaryOffset + binarySize);
      binaryOffset += binarySize;
      return bytesSource(name, datatype, dims, count, bytes);
    }
    if (data === undefined) throw new FerryError('BAD_REQUEST', `input "${name}" has neither "data" nor parameters.binary_data_size`);
    return jsonSource(name, datatype, dims, count, data);
  });
  if (binaryOffset !== body.length) {
    throw new FerryError('BAD_BINARY_HEADER', `${body.length - binaryOffset} bytes of binary data follow the inputs that no binary_data_size accounts for`);
  }

  let requested: RequestedOutput[] | undefined;
  const binaryOutput = parameters?.binary_data_output === true;
  if (outputs !== undefined) {
    if (!Array.isArray(outputs)) throw new FerryError('BAD_REQUEST', '"outputs" must be an array');
    requested = outputs.map((o, i) => {
      if (!isObject(o) || typeof o.name !== 'string') throw new FerryError('BAD_REQUEST', `outputs[${i}] must be an object with a "name"`);
      const op = o.parameters;
      const binary = isObject(op) && typeof op.binary_data === 'boolean' ? op.binary_data : binaryOutput;
      const k = isObject(op) ? op.classification : undefined;
      if (k !== undefined && (typeof k !== 'number' || !Number.isInteger(k) || k < 1)) {
        throw new FerryError('BAD_PARAMETER', `output "${o.name}": parameters.classification must be a positive integer (got ${JSON.stringify(k)})`);
      }
      return { name: o.name, binary, ...(k !== undefined && { classification: k }) };
    });
  }

  const priority = parameters?.priority;
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0)) {
    throw new FerryError('BAD_PARAMETER', `parameters.priority must be a non-negative integer (got ${JSON.stringify(priority)})`);
  }
  const timeout = parameters?.timeout;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0)) {
    throw new FerryError('BAD_PARAMETER', `parameters.timeout must be a non-negative integer of microseconds (got ${JSON.stringify(timeout)})`);
  }
  return {
    ...(id !== undefined && { id }),
    inputs: sources,
    ...(requested && { outputs: requested }),
    binaryOutput,
    ...(priority !== undefined && priority !== 0 && { priority }),
    ...(timeout !== undefined && timeout !== 0 && { timeoutUs: timeout }),
  };
}

/** JSON `data` for a tensor: numbers, booleans for BOOL, numbers for FP16; 64-bit integers as numbers (may round). */
export function tensorToJsonData(t: Tensor): unknown[] {
  const d = t.data;
  switch (t.datatype) {
    case 'BOOL': return Array.from(d as Uint8Array, (v) => v !== 0);
    case 'FP16': return Array.from(d as Uint16Array, fromHalfBits);
    case 'INT64':
    case 'UINT64': return Array.from(d as BigInt64Array, Number);
    default: return Array.from(d as Float32Array);
  }
}

/** The JSON text of a tensor's `data`; 64-bit integers are written exactly, as Triton does. */
function jsonDataText(t: Tensor | StringTensor): string {
  if (t.datatype === 'BYTES') return JSON.stringify(t.strings);
  if (t.datatype === 'INT64' || t.datatype === 'UINT64') return `[${(t.data as BigInt64Array).join(',')}]`;
  return JSON.stringify(tensorToJsonData(t));
}

/** BYTES in the binary extension: each element a 4-byte little-endian length and its UTF-8 bytes. */
function stringsToBytes(strings: readonly string[]): Buffer {
  const parts = strings.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** Encodes a response: JSON only, or a JSON header + binary outputs (with the header's length to send). */
export function encodeInferResponse(r: InferResponse): { body: Buffer | string; headerLength?: number } {
  const binaries: Buffer[] = [];
  const outputs = r.outputs.map(({ name, tensor, binary }) => {
    const head = `{"name":${JSON.stringify(name)},"datatype":"${tensor.datatype}","shape":${JSON.stringify(tensor.shape)}`;
    if (!binary) return `${head},"data":${jsonDataText(tensor)}}`;
    const bytes = tensor.datatype === 'BYTES'
      ? stringsToBytes(tensor.strings)
      : Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    binaries.push(bytes);
    return `${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
  });
  const header = `{"model_name":${JSON.stringify(r.modelName)},"model_version":${JSON.stringify(r.modelVersion)}${
    r.id !== undefined ? `,"id":${JSON.stringify(r.id)}` : ''},"outputs":[${outputs.join(',')}]}`;
  if (binaries.length === 0) return { body: header };
  const head = Buffer.from(header, 'utf8');
  return { body: Buffer.concat([head, ...binaries]), headerLength: head.length };
}
