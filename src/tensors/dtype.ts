/**
 * The datatype table: KServe v2 names, Triton config names, ONNX Runtime names, element sizes and
 * the typed arrays that hold them. Everything else looks datatypes up here.
 */
export type Datatype =
  | 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64'
  | 'INT8' | 'INT16' | 'INT32' | 'INT64'
  | 'FP16' | 'FP32' | 'FP64';

export type TypedArray =
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Float32Array | Float64Array;

type TypedArrayCtor = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray; BYTES_PER_ELEMENT: number };

export interface DatatypeInfo {
  readonly v2: Datatype;
  /** Triton model-configuration name, e.g. TYPE_FP32. */
  readonly triton: string;
  /** onnxruntime-common Tensor type. */
  readonly ort: string;
  readonly bytes: number;
  readonly array: TypedArrayCtor;
  /** Elements are bigint (64-bit integers). */
  readonly big: boolean;
}

function info(v2: Datatype, ort: string, array: TypedArrayCtor, big = false): DatatypeInfo {
  return { v2, triton: `TYPE_${v2}`, ort, bytes: array.BYTES_PER_ELEMENT, array, big };
}

export const DATATYPES: Readonly<Record<Datatype, DatatypeInfo>> = {
  BOOL: info('BOOL', 'bool', Uint8Array),
  UINT8: info('UINT8', 'uint8', Uint8Array),
  UINT16: info('UINT16', 'uint16', Uint16Array),
  UINT32: info('UINT32', 'uint32', Uint32Array),
  UINT64: info('UINT64', 'uint64', BigUint64Array, true),
  INT8: info('INT8', 'int8', Int8Array),
  INT16: info('INT16', 'int16', Int16Array),
  INT32: info('INT32', 'int32', Int32Array),
  INT64: info('INT64', 'int64', BigInt64Array, true),
  // FP16 travels as raw IEEE half bits (binary) or as numbers converted here (JSON).
  FP16: info('FP16', 'float16', Uint16Array),
  FP32: info('FP32', 'float32', Float32Array),
  FP64: info('FP64', 'float64', Float64Array),
};

const BY_ORT = new Map(Object.values(DATATYPES).map((d) => [d.ort, d]));
const BY_TRITON = new Map(Object.values(DATATYPES).map((d) => [d.triton, d]));

export function isDatatype(name: unknown): name is Datatype {
  return typeof name === 'string' && Object.hasOwn(DATATYPES, name);
}

/** Looks up an onnxruntime type name ('float32'); undefined for types ferry does not serve (string, ...). */
export function fromOrtType(ort: string): DatatypeInfo | undefined {
  return BY_ORT.get(ort);
}

/** Looks up a Triton config type ('TYPE_FP32'), also accepting the bare v2 name ('FP32'). */
export function fromConfigType(name: string): DatatypeInfo | undefined {
  return BY_TRITON.get(name) ?? (isDatatype(name) ? DATATYPES[name] : undefined);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds a JS number to the nearest IEEE 754 half and returns its bits. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    if ((mant >>> (shift - 1)) & 1 && ((mant & ((1 << (shift - 1)) - 1)) || half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  if (mant & 0x1000 && (mant & 0x2fff)) half++;
  return half;
}

/** Converts IEEE 754 half bits to a JS number. */
export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
