import type { Datatype, TypedArray } from './dtype.js';
import { DATATYPES, toHalfBits } from './dtype.js';

/** Mulberry32: a small, fast, seeded PRNG giving floats in [0, 1) — for reproducible test tensors. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random elements for a datatype: floats in [0, 1), integers in 0..9, booleans 0/1, FP16 as half bits. */
export function randomTensor(datatype: Datatype, count: number, random: () => number): TypedArray {
  const info = DATATYPES[datatype];
  const data = new info.array(new ArrayBuffer(count * info.bytes), 0, count);
  for (let i = 0; i < count; i++) {
    const r = random();
    if (datatype === 'FP32' || datatype === 'FP64') (data as Float32Array)[i] = r;
    else if (datatype === 'FP16') (data as Uint16Array)[i] = toHalfBits(r);
    else if (datatype === 'BOOL') (data as Uint8Array)[i] = r < 0.5 ? 0 : 1;
    else if (info.big) (data as BigInt64Array)[i] = BigInt(Math.floor(r * 10));
    else (data as Int32Array)[i] = Math.floor(r * 10);
  }
  return data;
}
