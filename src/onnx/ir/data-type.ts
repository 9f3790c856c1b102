/**
 * ONNX element types (TensorProto.DataType): codes, names, bit widths, the typed array
 * `Tensor.data()` returns for each, and where each is stored when raw_data is not used.
 */
import type { Datatype, TypedArray } from '../../tensors/dtype.js';

/** TensorProto.DataType codes. `DataType.FLOAT === 1`; the type `DataType` is the union of codes. */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22,
  FLOAT4E2M1: 23, FLOAT8E8M0: 24, UINT2: 25, INT2: 26, FLOAT6E2M3: 27, FLOAT6E3M2: 28,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];
export type DataTypeName = keyof typeof DataType;

/** The TensorProto field that holds elements of a type when raw_data is not used. */
export type StorageField = 'float_data' | 'int32_data' | 'string_data' | 'int64_data' | 'double_data' | 'uint64_data';

type TypedArrayCtor = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray; BYTES_PER_ELEMENT: number };

export interface DataTypeInfo {
  readonly code: DataType;
  readonly name: DataTypeName;
  /**
   * Bits one element takes in raw_data: 32 for FLOAT, 8 for BOOL, 4 for INT4 (two per byte),
   * 64 for COMPLEX64 (two floats); 0 for STRING and UNDEFINED (not fixed-width).
   */
  readonly bits: number;
  /**
   * The typed array `Tensor.data()` returns: the raw_data layout, little-endian. FLOAT16, BFLOAT16
   * and FLOAT8* give their bit patterns (Uint16Array / Uint8Array); COMPLEX* give interleaved
   * (real, imaginary) pairs; sub-byte types (INT4, UINT2, FLOAT6...) give the packed bytes.
   * Undefined for STRING and UNDEFINED.
   */
  readonly array: TypedArrayCtor | undefined;
  /** Where the elements are when raw_data is not used (TensorProto's type-specific field). */
  readonly field: StorageField | undefined;
  /** The KServe v2 datatype ferry serves this type as, if it serves it. */
  readonly v2: Datatype | undefined;
}

function info(name: DataTypeName, bits: number, array: TypedArrayCtor | undefined, field: StorageField | undefined, v2?: Datatype): DataTypeInfo {
  return { code: DataType[name], name, bits, array, field, v2 };
}

const TABLE: readonly DataTypeInfo[] = [
  info('UNDEFINED', 0, undefined, undefined),
  info('FLOAT', 32, Float32Array, 'float_data', 'FP32'),
  info('UINT8', 8, Uint8Array, 'int32_data', 'UINT8'),
  info('INT8', 8, Int8Array, 'int32_data', 'INT8'),
  info('UINT16', 16, Uint16Array, 'int32_data', 'UINT16'),
  info('INT16', 16, Int16Array, 'int32_data', 'INT16'),
  info('INT32', 32, Int32Array, 'int32_data', 'INT32'),
  info('INT64', 64, BigInt64Array, 'int64_data', 'INT64'),
  info('STRING', 0, undefined, 'string_data'),
  info('BOOL', 8, Uint8Array, 'int32_data', 'BOOL'),
  info('FLOAT16', 16, Uint16Array, 'int32_data', 'FP16'),
  info('DOUBLE', 64, Float64Array, 'double_data', 'FP64'),
  info('UINT32', 32, Uint32Array, 'uint64_data', 'UINT32'),
  info('UINT64', 64, BigUint64Array, 'uint64_data', 'UINT64'),
  info('COMPLEX64', 64, Float32Array, 'float_data'),
  info('COMPLEX128', 128, Float64Array, 'double_data'),
  info('BFLOAT16', 16, Uint16Array, 'int32_data'),
  info('FLOAT8E4M3FN', 8, Uint8Array, 'int32_data'),
  info('FLOAT8E4M3FNUZ', 8, Uint8Array, 'int32_data'),
  info('FLOAT8E5M2', 8, Uint8Array, 'int32_data'),
  info('FLOAT8E5M2FNUZ', 8, Uint8Array, 'int32_data'),
  info('UINT4', 4, Uint8Array, 'int32_data'),
  info('INT4', 4, Uint8Array, 'int32_data'),
  info('FLOAT4E2M1', 4, Uint8Array, 'int32_data'),
  info('FLOAT8E8M0', 8, Uint8Array, 'int32_data'),
  info('UINT2', 2, Uint8Array, 'int32_data'),
  info('INT2', 2, Uint8Array, 'int32_data'),
  info('FLOAT6E2M3', 6, Uint8Array, 'int32_data'),
  info('FLOAT6E3M2', 6, Uint8Array, 'int32_data'),
];

const BY_NAME = new Map<string, DataTypeInfo>(TABLE.map((d) => [d.name, d]));

/** True for a code this schema knows (0..28). */
export function isDataType(code: unknown): code is DataType {
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code < TABLE.length;
}

/** The table row of a type; undefined for a code this schema does not know (a newer ONNX). */
export function dataTypeInfo(code: number): DataTypeInfo | undefined {
  return isDataType(code) ? TABLE[code] : undefined;
}

/** 'FLOAT' for 1; 'UNKNOWN(99)' for a code this schema does not know. */
export function dataTypeName(code: number): string {
  return dataTypeInfo(code)?.name ?? `UNKNOWN(${code})`;
}

/** The code of a type name ('FLOAT', case-insensitive); undefined if there is none. */
export function parseDataType(name: string): DataType | undefined {
  return BY_NAME.get(name.toUpperCase())?.code;
}

/** Bytes `count` elements take in raw_data (sub-byte types packed, rounded up); NaN for STRING/UNDEFINED/unknown. */
export function rawByteLength(code: number, count: number): number {
  const bits = dataTypeInfo(code)?.bits ?? 0;
  return bits === 0 ? NaN : Math.ceil((count * bits) / 8);
}
