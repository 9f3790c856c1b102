/**
 * Request bodies for the load generator, built once before the run (the timed loop only sends
 * prebuilt Buffers): v2 JSON tensors, v2 binary tensors, raw image bytes, and the seed's
 * multipart /predict. Tensor data is random but seeded, shaped from the model's v2 metadata.
 */
import type { Datatype, TypedArray } from '../tensors/dtype.js';
import { randomTensor, seededRandom } from '../tensors/random.js';
import { DATATYPES, isDatatype, toHalfBits } from '../tensors/dtype.js';

export type Protocol = 'json' | 'binary' | 'image' | 'predict';
export const PROTOCOLS: readonly Protocol[] = ['json', 'binary', 'image', 'predict'];

/** One prebuilt request: what the load generator sends, and how many inferences it carries. */
export interface RequestSpec {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Rows (samples) in the request: its batch for tensor protocols, 1 for images. */
  readonly inferences: number;
}

export { randomTensor, seededRandom } from '../tensors/random.js';

/** The parts of GET /v2/models/{m} (and max_batch_size from .../config) that shape a request. */
export interface ModelShapeInfo {
  readonly inputs: ReadonlyArray<{ name: string; datatype: string; shape: readonly number[] }>;
  /** 0 = the model takes no batch axis. */
  readonly maxBatchSize: number;
}

/** An input as the bench sends it: full shape, batch axis included when the model batches. */
export interface InputPlan {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
}

/**
 * Resolves each input's shape for a request of `batch` rows. `shapes` (from `--shape name:d1,d2`)
 * gives an input's dims after the batch axis (all dims when the model does not batch), as in
 * perf_analyzer; they are needed for every dynamic (-1) dim, and must agree with fixed ones.
 */
export function planInputs(info: ModelShapeInfo, batch: number, shapes: ReadonlyMap<string, readonly number[]> = new Map()): InputPlan[] {
  const batched = info.maxBatchSize > 0;
  if (!batched && batch !== 1) throw new Error(`the model takes no batch axis (max_batch_size 0), so --batch must be 1 (got ${batch})`);
  if (batched && (batch < 1 || batch > info.maxBatchSize)) throw new Error(`--batch ${batch} is outside 1..${info.maxBatchSize} (the model's max_batch_size)`);
  for (const name of shapes.keys()) {
    if (!info.inputs.some((i) => i.name === name)) throw new Error(`--shape names input "${name}", but the model's inputs are ${info.inputs.map((i) => `"${i.name}"`).join(', ')}`);
  }
  return info.inputs.map((input) => {
    if (!isDatatype(input.datatype)) throw new Error(`input "${input.name}" has datatype ${input.datatype}, which the bench cannot generate`);
    const dims = batched ? input.shape.slice(1) : [...input.shape];
    const given = shapes.get(input.name);
    let resolved: number[];
    if (given) {
      if (given.length !== dims.length || given.some((d, i) => dims[i] !== -1 && dims[i] !== d)) {
        throw new Error(`--shape ${input.name}:${given.join(',')} does not fit the model's dims [${dims.join(',')}]${batched ? ' (after the batch axis)' : ''}`);
      }
      resolved = [...given];
    } else {
      if (dims.includes(-1)) throw new Error(`input "${input.name}" has dynamic dims [${dims.join(',')}]${batched ? ' after the batch axis' : ''}: give them with --shape ${input.name}:${dims.map((d) => (d === -1 ? 'N' : d)).join(',')}`);
      resolved = dims;
    }
    return { name: input.name, datatype: input.datatype, shape: batched ? [batch, ...resolved] : resolved };
  });
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function jsonData(datatype: Datatype, data: TypedArray): unknown[] {
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (datatype === 'FP16') return Array.from(data as Uint16Array, halfToNumber);
  if (DATATYPES[datatype].big) return Array.from(data as BigInt64Array, Number);
  return Array.from(data as Float32Array);
}

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** A v2 JSON inference body: every input's data inline, flat, row-major. */
export function jsonInferBody(plans: readonly InputPlan[], tensors: readonly TypedArray[]): Buffer {
  return Buffer.from(JSON.stringify({
    inputs: plans.map((p, i) => ({ name: p.name, shape: p.shape, datatype: p.datatype, data: jsonData(p.datatype, tensors[i]!) })),
  }));
}

/**
 * A v2 binary-tensor body: a JSON header naming each input's binary_data_size (and asking for
 * binary outputs), then the raw little-endian bytes in input order. `headerLength` goes in
 * Inference-Header-Content-Length.
 */
export function binaryInferBody(plans: readonly InputPlan[], tensors: readonly TypedArray[]): { body: Buffer; headerLength: number } {
  const header = Buffer.from(JSON.stringify({
    inputs: plans.map((p, i) => ({ name: p.name, shape: p.shape, datatype: p.datatype, parameters: { binary_data_size: tensors[i]!.byteLength } })),
    parameters: { binary_data_output: true },
  }));
  const parts = [header, ...tensors.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength))];
  return { body: Buffer.concat(parts), headerLength: header.length };
}

/**
 * A multipart/form-data body with each field sent as a file part, as Python's
 * `requests.post(url, files={...})` sends them (what the seed's client does).
 */
export function multipartBody(fields: ReadonlyArray<readonly [string, Buffer]>, boundary = 'ferry-bench-boundary-7d1f3a'): { body: Buffer; contentType: string } {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
    parts.push(value, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The seed's /predict request: meta {"shape": [h, w, c]} and blob = raw HWC pixel bytes (BGR, as cv2 reads). */
export function predictRequest(pixels: Buffer, height: number, width: number, channels: number): RequestSpec {
  if (pixels.length !== height * width * channels) throw new Error(`${pixels.length} pixel bytes do not make a ${height}x${width}x${channels} image`);
  const { body, contentType } = multipartBody([
    ['meta', Buffer.from(JSON.stringify({ shape: [height, width, channels] }))],
    ['blob', pixels],
  ]);
  return { path: '/predict', headers: { 'content-type': contentType }, body, inferences: 1 };
}

const IMAGE_TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

/** POST of an encoded image to /v2/models/{m}/image. */
export function imageRequest(model: string, bytes: Buffer, fileName: string): RequestSpec {
  const ext = fileName.toLowerCase().split('.').pop() ?? '';
  return {
    path: `/v2/models/${encodeURIComponent(model)}/image`,
    headers: { 'content-type': IMAGE_TYPES[ext] ?? 'application/octet-stream' },
    body: bytes,
    inferences: 1,
  };
}

/** `variants` distinct seeded v2 infer requests (JSON or binary) of `plans`, each `batch` rows (1 when the model does not batch). */
export function tensorRequests(model: string, protocol: 'json' | 'binary', plans: readonly InputPlan[], options: { seed?: number; variants?: number; batch?: number } = {}): RequestSpec[] {
  const random = seededRandom(options.seed ?? 1);
  const path = `/v2/models/${encodeURIComponent(model)}/infer`;
  const rows = options.batch ?? 1;
  return Array.from({ length: Math.max(1, options.variants ?? 4) }, (): RequestSpec => {
    const tensors = plans.map((p) => randomTensor(p.datatype, elements(p.shape), random));
    if (protocol === 'json') {
      return { path, headers: { 'content-type': 'application/json' }, body: jsonInferBody(plans, tensors), inferences: rows };
    }
    const { body, headerLength } = binaryInferBody(plans, tensors);
    return {
      path,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
      body,
      inferences: rows,
    };
  });
}

/** Parses `--shape name:d1,d2,...` values. */
export function parseShapes(values: readonly string[]): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const v of values) {
    const at = v.lastIndexOf(':');
    const name = v.slice(0, at);
    const dims = v.slice(at + 1).split(',').map(Number);
    if (at <= 0 || dims.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`--shape "${v}" must be NAME:D1,D2,... with positive integer dims`);
    shapes.set(name, dims);
  }
  return shapes;
}
