import type { Datatype, TypedArray } from './dtype.js';
import { DATATYPES, toHalfBits } from './dtype.js';
import { FerryError } from '../errors.js';
import { ChunkedBytes } from './chunked-bytes.js';

/**
 * One request input as it waits in the queue: validated, but its elements not yet copied anywhere.
 * `writeInto` is called once, when the batch is formed, and writes the elements straight into the
 * batch buffer — no per-request typed array, no stack-then-copy.
 */
export interface InputSource {
  readonly name: string;
  readonly datatype: Datatype;
  /** The request's shape, batch axis first when the model batches. */
  readonly shape: readonly number[];
  /** Number of elements (product of `shape`). */
  readonly count: number;
  /** Writes `count` elements into `dst` starting at element `offset`. */
  writeInto(dst: TypedArray, offset: number): void;
}

/**
 * Raw little-endian bytes (the v2 binary extension, the seed's raw blob): copied once, as bytes —
 * from the body's chunks when they come as ChunkedBytes.
 */
export function bytesSource(name: string, datatype: Datatype, shape: readonly number[], count: number, bytes: Uint8Array | ChunkedBytes): InputSource {
  const expected = count * DATATYPES[datatype].bytes;
  const length = bytes instanceof ChunkedBytes ? bytes.length : bytes.byteLength;
  if (length !== expected) {
    throw new FerryError('BAD_DATA_LENGTH', `input "${name}": ${length} bytes of data, but shape [${shape.join(',')}] of ${datatype} needs ${expected}`);
  }
  return {
    name, datatype, shape, count,
    writeInto(dst, offset) {
      const target = new Uint8Array(dst.buffer, dst.byteOffset + offset * dst.BYTES_PER_ELEMENT, length);
      if (bytes instanceof ChunkedBytes) bytes.copyTo(target);
      else target.set(bytes);
    },
  };
}

type Kind = 'float' | 'half' | 'int' | 'big' | 'bool';

const KIND: Record<Datatype, Kind> = {
  BOOL: 'bool', FP16: 'half', FP32: 'float', FP64: 'float',
  UINT8: 'int', UINT16: 'int', UINT32: 'int', INT8: 'int', INT16: 'int', INT32: 'int',
  UINT64: 'big', INT64: 'big',
};

const INT_RANGE: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 4294967295],
  INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-2147483648, 2147483647],
};

/** The least magnitude that rounds to infinity in half precision (65504 is the largest finite half). */
const FP16_OVERFLOW = 65520;

/** 64-bit ranges; JSON integers past 2^53 arrive as bigints (see v2-codec's lossless parse). */
const BIG_RANGE: Partial<Record<Datatype, [bigint, bigint]>> = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

/**
 * JSON `data` of a v2 request (flat or nested arrays, as the protocol allows). Validated here by one
 * walk that counts and type-checks; written at batch time by a second walk straight into the batch.
 */
export function jsonSource(name: string, datatype: Datatype, shape: readonly number[], count: number, data: unknown): InputSource {
  const kind = KIND[datatype];
  const range = INT_RANGE[datatype];
  const bigRange = BIG_RANGE[datatype];
  const what = `input "${name}"`;
  let seen = 0;
  const check = (v: unknown): void => {
    if (Array.isArray(v)) { for (const x of v) check(x); return; }
    seen++;
    if (typeof v === 'bigint') {
      const fits = bigRange ? v >= bigRange[0] && v <= bigRange[1] : kind === 'float' || kind === 'half';
      if (!fits) throw new FerryError('BAD_DATA_VALUE', `${what}: element ${seen - 1} is ${v}, not a ${datatype} value`);
    } else if (kind === 'bool') {
      if (typeof v !== 'boolean') throw new FerryError('BAD_DATA_VALUE', `${what}: element ${seen - 1} is ${JSON.stringify(v)}, BOOL data must be true or false`);
    } else if (typeof v !== 'number') {
      throw new FerryError('BAD_DATA_VALUE', `${what}: element ${seen - 1} is ${JSON.stringify(v)}, ${datatype} data must be numbers`);
    } else if (kind === 'float' && datatype === 'FP32' && !Number.isFinite(Math.fround(v))) {
      throw new FerryError('BAD_DATA_VALUE', `${what}: element ${seen - 1} is ${v}, outside FP32's range (±3.4028235e38)`);
    } else if (kind === 'half' && !(Math.abs(v) < FP16_OVERFLOW)) {
      throw new FerryError('BAD_DATA_VALUE', `${what}: element ${seen - 1} is ${v}, outside FP16's range (±65504)`);
    } else if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
      throw new FerryError('BAD_DATA_VALUE', `${what}: element ${seen - 1} is ${v}, not a ${datatype} value`);
    } else if (bigRange && (!Number.isInteger(v) || v < Number(bigRange[0]) || v > Number(bigRange[1]))) {
      throw new FerryError('BAD_DATA_VALUE', `${what}: element ${seen - 1} is ${v}, not a ${datatype} value`);
    }
  };
  if (!Array.isArray(data)) throw new FerryError('BAD_REQUEST', `${what}: "data" must be an array`);
  check(data);
  if (seen !== count) {
    throw new FerryError('BAD_DATA_LENGTH', `${what}: ${seen} elements of data, but shape [${shape.join(',')}] needs ${count}`);
  }
  return {
    name, datatype, shape, count,
    writeInto(dst, offset) {
      let i = offset;
      const write = (v: unknown): void => {
        if (Array.isArray(v)) { for (const x of v) write(x); return; }
        if (kind === 'half') (dst as Uint16Array)[i++] = toHalfBits(Number(v));
        else if (kind === 'big') (dst as BigInt64Array)[i++] = BigInt(v as number | bigint);
        else if (kind === 'bool') (dst as Uint8Array)[i++] = v ? 1 : 0;
        else (dst as Float32Array)[i++] = typeof v === 'bigint' ? Number(v) : (v as number);
      };
      write(data);
    },
  };
}
