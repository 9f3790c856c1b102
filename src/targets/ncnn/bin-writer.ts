/**
 * The .bin: every layer's weights in layer order, each aligned to 4 bytes. A tagged weight
 * starts with its storage tag (ModelBinFromDataReader::load(w, 0)); an untagged one is raw fp32.
 * fp32 data has denormals flushed to zero, as ncnn's ModelWriter does.
 */
import { toHalfBits } from '../../tensors/dtype.js';
import type { Net, Weight } from './net.js';

export const TAG_FP32 = 0;
export const TAG_FP16 = 0x01306b47;
export const TAG_INT8 = 0x000d4b38;

/** How tagged float weights are stored: fp32, or fp16 (what `ncnnoptimize ... 65536` writes). */
export type WeightStorage = 'fp32' | 'fp16';

const align4 = (n: number): number => (n + 3) & ~3;

/** Bytes one weight takes in the .bin. */
export function weightBytes(w: Weight, storage: WeightStorage): number {
  if (w.kind === 'int8') return 4 + align4(w.data.length);
  if (!w.tagged) return w.data.length * 4;
  return 4 + (storage === 'fp16' ? align4(w.data.length * 2) : w.data.length * 4);
}

/** The .bin bytes of `net`. */
export function writeBin(net: Net, storage: WeightStorage): Uint8Array {
  let size = 0;
  for (const l of net.layers) for (const w of l.weights) size += weightBytes(w, storage);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const l of net.layers) {
    for (const w of l.weights) {
      if (w.kind === 'int8') {
        view.setUint32(at, TAG_INT8, true);
        out.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.length), at + 4);
      } else if (w.tagged && storage === 'fp16') {
        view.setUint32(at, TAG_FP16, true);
        for (let i = 0; i < w.data.length; i++) view.setUint16(at + 4 + 2 * i, toHalfBits(w.data[i]!), true);
      } else {
        let p = at;
        if (w.tagged) {
          view.setUint32(p, TAG_FP32, true);
          p += 4;
        }
        for (let i = 0; i < w.data.length; i++) {
          const v = w.data[i]!;
          view.setFloat32(p + 4 * i, Math.abs(v) < 1.1754943508222875e-38 ? 0 : v, true);
        }
      }
      at += weightBytes(w, storage);
    }
  }
  return out;
}
