/**
 * A tensor constant (an initializer, or a tensor attribute): name, element type, dims and its
 * data, which stays where the file had it (a view of raw_data, the type-specific field, or a
 * byte range of an external file) until it is asked for.
 *
 * Tensors are immutable: `with()` makes a renamed or reshaped one sharing the data, and
 * `Tensor.fromArray()` / `fromBytes()` / `fromStrings()` make new ones. That is what lets
 * `Graph.clone()` share tensors instead of copying weights.
 */
import type { TypedArray } from '../../tensors/dtype.js';
import { fromHalfBits, toHalfBits } from '../../tensors/dtype.js';
import { FerryError } from '../../errors.js';
import type { DataTypeInfo, StorageField } from './data-type.js';
import { DataType, dataTypeInfo, dataTypeName, rawByteLength } from './data-type.js';
import type { ExternalFile, ExternalLocation } from './external.js';
import { DEFAULT_CHUNK_BYTES } from './external.js';
import type { Int64 } from '../proto/types.js';
import { int64ToBigInt, int64ToNumber } from '../proto/int64.js';

/** Where a tensor's elements are. Internal to src/onnx (the converters and the writer read it). */
export type TensorStorage =
  /** Little-endian bytes in raw_data layout: a view of the model file's buffer, or of a typed array. */
  | { readonly kind: 'raw'; readonly bytes: Uint8Array }
  /** The TensorProto type-specific field the file used (float_data, int32_data, ...), as decoded. */
  | { readonly kind: 'field'; readonly field: Exclude<StorageField, 'string_data'>; readonly values: readonly number[] | readonly Int64[] }
  /** STRING elements as UTF-8 bytes (string_data). */
  | { readonly kind: 'strings'; readonly values: readonly Uint8Array[] }
  /** A byte range of an external data file. */
  | { readonly kind: 'external'; readonly location: ExternalLocation; readonly file: ExternalFile };

/** What every tensor constructor takes besides its data. */
export interface TensorInit {
  /** The tensor's name; initializers are referred to by it. @defaultValue '' */
  name?: string;
  /** Dimensions: non-negative integers; `[]` for a scalar. */
  dims: readonly number[];
  /** @defaultValue '' */
  docString?: string;
  /** TensorProto metadata_props. @defaultValue none */
  metadata?: ReadonlyMap<string, string>;
}

/** Element values `Tensor.fromArray` accepts in place of a typed array. */
export type ArrayValues = readonly number[] | readonly bigint[] | readonly boolean[];

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();
const EMPTY_METADATA: ReadonlyMap<string, string> = new Map();

let make: (init: TensorInit, dataType: DataType, storage: TensorStorage, decoded?: TypedArray) => Tensor;
let storageOf: (t: Tensor) => TensorStorage;

export class Tensor {
  readonly name: string;
  /** The element type (a TensorProto.DataType code; `dataTypeName()` names it). */
  readonly dataType: DataType;
  readonly dims: readonly number[];
  readonly docString: string;
  readonly metadata: ReadonlyMap<string, string>;
  /** The number of elements: the product of dims (1 for a scalar). */
  readonly elementCount: number;
  readonly #storage: TensorStorage;
  #decoded: TypedArray | undefined;

  static {
    make = (init, dataType, storage, decoded) => new Tensor(init, dataType, storage, decoded);
    storageOf = (t) => t.#storage;
  }

  private constructor(init: TensorInit, dataType: DataType, storage: TensorStorage, decoded?: TypedArray) {
    this.name = init.name ?? '';
    this.dataType = dataType;
    this.dims = Object.freeze([...init.dims]);
    this.elementCount = countElements(this.dims, this.name);
    this.docString = init.docString ?? '';
    this.metadata = init.metadata?.size ? new Map(init.metadata) : EMPTY_METADATA;
    this.#storage = storage;
    this.#decoded = decoded;
  }

  /**
   * A tensor over a typed array (kept, not copied: do not change it afterwards) or over plain
   * values (converted: numbers to FLOAT16/BFLOAT16 are rounded, booleans and numbers to BOOL are
   * 0/1, numbers to INT64 become bigints). A typed array must be the class `data()` returns for
   * the type (bits for FLOAT16, packed bytes for INT4 ...); `dataType` defaults to the type
   * matching the typed array (Float32Array: FLOAT, BigInt64Array: INT64, ...) and is required
   * for plain values.
   */
  static fromArray(init: TensorInit & { dataType?: DataType; data: TypedArray | ArrayValues }): Tensor {
    const { data } = init;
    const dataType = init.dataType ?? (ArrayBuffer.isView(data) ? inferDataType(data) : undefined);
    if (dataType === undefined) throw new TypeError(`Tensor.fromArray("${init.name ?? ''}"): plain arrays need a dataType`);
    const info = numericInfo(dataType, 'Tensor.fromArray');
    const count = countElements(init.dims, init.name ?? '');
    const expected = arrayLength(info, count);
    let array: TypedArray;
    if (ArrayBuffer.isView(data)) {
      if (!(data instanceof info.array)) {
        throw new TypeError(`Tensor.fromArray("${init.name ?? ''}"): ${info.name} data must be a ${info.array.name}, not a ${data.constructor.name}`);
      }
      array = data;
    } else {
      array = fromValues(info, data, init.name ?? '');
    }
    if (array.length !== expected) {
      throw new RangeError(`Tensor.fromArray("${init.name ?? ''}"): ${info.name} ${JSON.stringify(init.dims)} needs ${expected} array elements, got ${array.length}`);
    }
    return make(init, dataType, { kind: 'raw', bytes: new Uint8Array(array.buffer, array.byteOffset, array.byteLength) }, array);
  }

  /** A tensor over little-endian bytes in raw_data layout (kept, not copied). */
  static fromBytes(init: TensorInit & { dataType: DataType; bytes: Uint8Array }): Tensor {
    numericInfo(init.dataType, 'Tensor.fromBytes');
    const expected = rawByteLength(init.dataType, countElements(init.dims, init.name ?? ''));
    if (init.bytes.byteLength !== expected) {
      throw new RangeError(`Tensor.fromBytes("${init.name ?? ''}"): ${dataTypeName(init.dataType)} ${JSON.stringify(init.dims)} needs ${expected} bytes, got ${init.bytes.byteLength}`);
    }
    return make(init, init.dataType, { kind: 'raw', bytes: init.bytes });
  }

  /** A STRING tensor; strings are stored as UTF-8, byte arrays as they are. */
  static fromStrings(init: TensorInit & { data: readonly (string | Uint8Array)[] }): Tensor {
    const count = countElements(init.dims, init.name ?? '');
    if (init.data.length !== count) {
      throw new RangeError(`Tensor.fromStrings("${init.name ?? ''}"): dims ${JSON.stringify(init.dims)} need ${count} strings, got ${init.data.length}`);
    }
    const values = init.data.map((s) => (typeof s === 'string' ? utf8Encoder.encode(s) : s));
    return make(init, DataType.STRING, { kind: 'strings', values });
  }

  /** A copy of this tensor's description with some fields changed, sharing the data. Reshaping must keep the element count. */
  with(changes: { name?: string; dims?: readonly number[]; docString?: string; metadata?: ReadonlyMap<string, string> }): Tensor {
    const dims = changes.dims ?? this.dims;
    const count = countElements(dims, this.name);
    if (count !== this.elementCount) {
      throw new RangeError(`tensor "${this.name}": cannot reshape ${JSON.stringify(this.dims)} (${this.elementCount} elements) to ${JSON.stringify(dims)} (${count})`);
    }
    const init: TensorInit = {
      name: changes.name ?? this.name, dims, docString: changes.docString ?? this.docString, metadata: changes.metadata ?? this.metadata,
    };
    return make(init, this.dataType, this.#storage, this.#decoded);
  }

  /** True when the data is in an external file (and is read from it on each access). */
  get isExternal(): boolean {
    return this.#storage.kind === 'external';
  }

  /** The external file and byte range holding the data, for external tensors. */
  get external(): ExternalLocation | undefined {
    return this.#storage.kind === 'external' ? this.#storage.location : undefined;
  }

  /**
   * The data's size in bytes in raw_data layout (elements x bits / 8, sub-byte types packed),
   * known without reading it; for STRING, the total UTF-8 bytes of the strings.
   */
  get byteLength(): number {
    const s = this.#storage;
    switch (s.kind) {
      case 'raw': return s.bytes.byteLength;
      case 'external': return s.location.length;
      case 'strings': return s.values.reduce((n, v) => n + v.byteLength, 0);
      case 'field': return rawByteLength(this.dataType, this.elementCount);
    }
  }

  /**
   * The elements as the typed array of the type (see `DataTypeInfo.array`: Float32Array for
   * FLOAT, Uint16Array of bits for FLOAT16, BigInt64Array for INT64, ...). Read-only: it may be a
   * view of the model file's buffer shared with clones. Inline data is decoded once and cached;
   * external data is read from its file on every call (not cached). Throws ONNX_INVALID when the
   * stored data does not hold as many elements as the dims say.
   */
  data(): TypedArray {
    if (this.#decoded) return this.#decoded;
    const info = numericInfo(this.dataType, `tensor "${this.name}"`);
    const s = this.#storage;
    switch (s.kind) {
      case 'raw':
        return (this.#decoded = this.#view(info, s.bytes));
      case 'field':
        return (this.#decoded = this.#decodeField(info, s.field, s.values));
      case 'external':
        return this.#view(info, this.bytes());
      case 'strings':
        throw new TypeError(`tensor "${this.name}" is STRING: read it with strings()`);
    }
  }

  /**
   * The data as little-endian bytes in raw_data layout. A view for raw data (no copy); external
   * data is read from its file (at most 2 GiB - 1 bytes: use `chunks()` for larger tensors).
   */
  bytes(): Uint8Array {
    const s = this.#storage;
    switch (s.kind) {
      case 'raw': return s.bytes;
      case 'external': return s.file.read(s.location.offset, s.location.length, `tensor "${this.name}"`);
      case 'field': {
        const a = this.data();
        return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      }
      case 'strings':
        throw new TypeError(`tensor "${this.name}" is STRING: read it with strings() or stringBytes()`);
    }
  }

  /**
   * The raw_data-layout bytes in pieces of at most `chunkBytes`, without ever holding the whole
   * tensor: how tensors larger than one Buffer are copied. External reads reuse one buffer for
   * every piece: use or copy each piece before taking the next.
   * @param chunkBytes piece size in bytes. @defaultValue 16 MiB
   */
  *chunks(chunkBytes: number = DEFAULT_CHUNK_BYTES): Generator<Uint8Array> {
    const s = this.#storage;
    if (s.kind === 'external') {
      yield* s.file.chunks(s.location.offset, s.location.length, chunkBytes, `tensor "${this.name}"`);
      return;
    }
    const bytes = this.bytes();
    for (let i = 0; i < bytes.byteLength; i += chunkBytes) yield bytes.subarray(i, Math.min(bytes.byteLength, i + chunkBytes));
  }

  /** The elements of a STRING tensor, decoded as UTF-8. */
  strings(): string[] {
    return this.stringBytes().map((b) => utf8.decode(b));
  }

  /** The elements of a STRING tensor as stored (UTF-8 bytes). */
  stringBytes(): readonly Uint8Array[] {
    const s = this.#storage;
    if (s.kind !== 'strings') throw new TypeError(`tensor "${this.name}" is ${dataTypeName(this.dataType)}, not STRING`);
    return s.values;
  }

  /**
   * The elements as JS numbers: for small tensors a pass reads (shapes, axes, scalars).
   * FLOAT16/BFLOAT16 are decoded, BOOL gives 0/1, INT64/UINT64 are rounded beyond 2^53.
   * Throws TypeError for STRING, COMPLEX, FLOAT8/6/4 and 4/2-bit integer types.
   */
  numbers(): number[] {
    const dt = this.dataType;
    if (dt === DataType.INT64 || dt === DataType.UINT64) return Array.from(this.data() as BigInt64Array, Number);
    if (dt === DataType.FLOAT16) return Array.from(this.data() as Uint16Array, fromHalfBits);
    if (dt === DataType.BFLOAT16) return Array.from(this.data() as Uint16Array, fromBFloat16Bits);
    const info = dataTypeInfo(dt);
    if (!info?.array || info.bits < 8 || (info.array === Uint8Array && dt !== DataType.UINT8 && dt !== DataType.BOOL) || dt === DataType.COMPLEX64 || dt === DataType.COMPLEX128) {
      throw new TypeError(`tensor "${this.name}": numbers() does not decode ${dataTypeName(dt)}; use data()`);
    }
    return Array.from(this.data() as Float32Array);
  }

  /** `FLOAT[1,3,224,224] "name"`: for messages. */
  toString(): string {
    return `${dataTypeName(this.dataType)}[${this.dims.join(',')}] "${this.name}"`;
  }

  #view(info: NumericInfo, bytes: Uint8Array): TypedArray {
    const expected = rawByteLength(this.dataType, this.elementCount);
    if (bytes.byteLength !== expected) {
      throw new FerryError('ONNX_INVALID', `tensor "${this.name}": its data holds ${bytes.byteLength} bytes; ${info.name} ${JSON.stringify(this.dims)} needs ${expected}`);
    }
    const size = info.array.BYTES_PER_ELEMENT;
    if (bytes.byteOffset % size !== 0) bytes = new Uint8Array(bytes); // an unaligned view: copy into a fresh, aligned buffer
    return new info.array(bytes.buffer, bytes.byteOffset, bytes.byteLength / size);
  }

  #decodeField(info: NumericInfo, field: string, values: readonly number[] | readonly Int64[]): TypedArray {
    const n = this.elementCount;
    const expected = info.bits === 6 ? n : arrayLength(info, n);
    if (values.length !== expected) {
      throw new FerryError('ONNX_INVALID', `tensor "${this.name}": ${field} holds ${values.length} values; ${info.name} ${JSON.stringify(this.dims)} needs ${expected}`);
    }
    if (info.bits === 6) return packSixBit(values as readonly number[], n);
    const out = allocate(info, expected);
    if (field === 'int64_data' || (field === 'uint64_data' && info.array === BigUint64Array)) {
      const unsigned = field === 'uint64_data';
      const big = out as BigInt64Array;
      for (let i = 0; i < expected; i++) big[i] = int64ToBigInt(values[i] as Int64, unsigned);
    } else if (field === 'uint64_data') {
      for (let i = 0; i < expected; i++) (out as Uint32Array)[i] = int64ToNumber(values[i] as Int64, true);
    } else {
      (out as Float32Array).set(values as readonly number[]); // int32_data into narrower arrays keeps the low bits, as the spec packs them
    }
    return out;
  }
}

/** Makes a tensor over any storage: for the proto converter. Not part of the public API. */
export function tensorFromStorage(init: TensorInit, dataType: DataType, storage: TensorStorage): Tensor {
  return make(init, dataType, storage);
}

/** Where a tensor's data is: for the proto converter and the writer. Not part of the public API. */
export function tensorStorage(t: Tensor): TensorStorage {
  return storageOf(t);
}

type NumericInfo = DataTypeInfo & { readonly array: NonNullable<DataTypeInfo['array']> };

function numericInfo(dataType: number, what: string): NumericInfo {
  const info = dataTypeInfo(dataType);
  if (!info?.array) throw new TypeError(`${what}: ${dataTypeName(dataType)} has no typed-array data`);
  return info as NumericInfo;
}

function allocate(info: NumericInfo, length: number): TypedArray {
  return new info.array(new ArrayBuffer(length * info.array.BYTES_PER_ELEMENT));
}

/** Elements of the `data()` typed array for `count` tensor elements. */
function arrayLength(info: NumericInfo, count: number): number {
  return (rawByteLength(info.code, count)) / info.array.BYTES_PER_ELEMENT;
}

function countElements(dims: readonly number[], name: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`tensor "${name}": dims ${JSON.stringify(dims)} must be non-negative integers`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new RangeError(`tensor "${name}": dims ${JSON.stringify(dims)} hold more than 2^53 elements`);
  return n;
}

const INFER = new Map<Function, DataType>([
  [Float32Array, DataType.FLOAT], [Float64Array, DataType.DOUBLE], [Int8Array, DataType.INT8], [Uint8Array, DataType.UINT8],
  [Int16Array, DataType.INT16], [Uint16Array, DataType.UINT16], [Int32Array, DataType.INT32], [Uint32Array, DataType.UINT32],
  [BigInt64Array, DataType.INT64], [BigUint64Array, DataType.UINT64],
]);

function inferDataType(data: ArrayBufferView): DataType | undefined {
  return INFER.get(data.constructor);
}

function fromValues(info: NumericInfo, values: ArrayValues, name: string): TypedArray {
  const n = values.length;
  const out = allocate(info, n);
  const code = info.code;
  if (info.array === BigInt64Array || info.array === BigUint64Array) {
    for (let i = 0; i < n; i++) (out as BigInt64Array)[i] = BigInt(values[i] as number | bigint);
  } else if (code === DataType.FLOAT16 || code === DataType.BFLOAT16) {
    const bits = code === DataType.FLOAT16 ? toHalfBits : toBFloat16Bits;
    for (let i = 0; i < n; i++) (out as Uint16Array)[i] = bits(Number(values[i]));
  } else if (code === DataType.BOOL) {
    for (let i = 0; i < n; i++) (out as Uint8Array)[i] = values[i] ? 1 : 0;
  } else if (info.bits < 8 || (info.array === Uint8Array && code !== DataType.UINT8) || code === DataType.COMPLEX64 || code === DataType.COMPLEX128) {
    throw new TypeError(`Tensor.fromArray("${name}"): give ${info.name} data as a ${info.array.name} (its raw layout), not plain values`);
  } else {
    for (let i = 0; i < n; i++) (out as Float64Array)[i] = Number(values[i]);
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 bits of a number, rounded to nearest even. */
export function toBFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if (Number.isNaN(value)) return 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The number bfloat16 bits stand for. */
export function fromBFloat16Bits(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}

/** FLOAT6 elements (one per int32_data value) packed 4 to 3 bytes, LSB first, as raw_data holds them. */
function packSixBit(values: readonly number[], n: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((n * 6) / 8));
  for (let i = 0; i < n; i++) {
    const bit = i * 6;
    const v = (values[i]! & 0x3f) << (bit & 7);
    out[bit >> 3]! |= v & 0xff;
    if (v > 0xff) out[(bit >> 3) + 1]! |= v >> 8;
  }
  return out;
}
