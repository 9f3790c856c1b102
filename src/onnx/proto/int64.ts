/** Conversions between protobuf 64-bit integers (protobufjs Long / {low, high}) and JS numbers and bigints. */
import type { Int64, LongLike } from './types.js';

/** The exact value as a bigint; `unsigned` reads the 64 bits as uint64. */
export function int64ToBigInt(v: Int64 | undefined, unsigned = false): bigint {
  if (v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(v);
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return unsigned || v.unsigned ? bits : BigInt.asIntN(64, bits);
}

/** The value as a number (exact up to 2^53; larger values are rounded). */
export function int64ToNumber(v: Int64 | undefined, unsigned = false): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const hi = unsigned || v.unsigned ? v.high >>> 0 : v.high | 0;
  return hi * 4294967296 + (v.low >>> 0);
}

/** A bigint as protobufjs takes a 64-bit integer (two's complement halves; out-of-range values wrap). */
export function bigIntToInt64(v: bigint): Int64 {
  if (v >= -0x1fffffffffffffn && v <= 0x1fffffffffffffn) return Number(v);
  const bits = BigInt.asUintN(64, v);
  const long: LongLike = { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0 };
  return long;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * A number (an integer) as protobufjs takes an int64. Numbers beyond the int64 range are clamped,
 * so INT64_MAX read as a number (2^63 after rounding) is written back as INT64_MAX.
 */
export function numberToInt64(v: number): Int64 {
  if (Number.isSafeInteger(v)) return v;
  if (!Number.isFinite(v)) throw new RangeError(`${v} is not an integer`);
  const b = BigInt(Math.trunc(v));
  return bigIntToInt64(b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b);
}
