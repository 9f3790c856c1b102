/**
 * Image preprocessing declared in a model's config (`image:`): decode (JPEG, PNG, WebP) or take raw
 * HWC pixels, resize, convert colour, then — at batch time, straight into the batch buffer —
 * scale, normalize and lay out as NCHW or NHWC.
 */
import sharp from 'sharp';
import type { Metadata, Sharp } from 'sharp';
import type { ImageConfig } from './image-config.js';
import type { Pixels, RawPixels } from './raw-pixels.js';
import { convertPixels, needsObjectPass, objectPassRaster, RAW_IN_JS_SIDE, rawPass, workSide } from './raw-pixels.js';
import type { InputSource } from '../tensors/source.js';
import type { Datatype } from '../tensors/dtype.js';
import { toHalfBits } from '../tensors/dtype.js';
import { FerryError } from '../errors.js';

sharp.concurrency(1); // one libvips thread per image; images decode in parallel on the libuv pool

export const ACCEPTED_FORMATS = ['jpeg', 'png', 'webp'] as const;

export type { Pixels, RawPixels } from './raw-pixels.js';

export interface DecodeLimits {
  /** Largest width * height decoded; larger images are refused from their header. @defaultValue 40_000_000 */
  maxPixels: number;
  /** Runs rawPass (the JS pass of small raw pixels) elsewhere (a preprocessing thread); default here. */
  rawPass?: (body: Buffer, raw: RawPixels, cfg: ImageConfig) => Promise<Pixels>;
}

function decodeError(err: unknown): FerryError {
  const msg = (err as Error).message ?? String(err);
  if (/pixel limit/i.test(msg)) return new FerryError('IMAGE_TOO_LARGE', `the image has more pixels than this server decodes: ${msg}`, { cause: err });
  return new FerryError('BAD_IMAGE', `the body is not a readable JPEG, PNG or WebP image: ${msg}`, { cause: err });
}

/** Decodes an encoded image or raw pixels and resizes it to what the model takes. */
export async function decodeImage(body: Buffer, cfg: ImageConfig, limits: DecodeLimits, raw?: RawPixels): Promise<Pixels> {
  if (body.length === 0) throw new FerryError('BAD_IMAGE', 'the image body is empty');
  let img: Sharp;
  if (raw) {
    const { width, height, channels } = raw;
    if (width * height > limits.maxPixels) {
      throw new FerryError('IMAGE_TOO_LARGE', `${width}x${height} pixels is more than this server decodes (${limits.maxPixels})`);
    }
    if (body.length !== width * height * channels) {
      throw new FerryError('BAD_IMAGE', `the pixel data has ${body.length} bytes, but shape [${height},${width},${channels}] needs ${width * height * channels}`);
    }
    if (width === cfg.width && height === cfg.height && !needsObjectPass(cfg)) return convertPixels(body, raw, cfg.color);
    if (Math.max(width, height) <= RAW_IN_JS_SIDE) {
      // Small raw pixels (the seed's /predict client): the whole pass in JS, no libvips round trip;
      // on a preprocessing thread when the caller has one to offer.
      return limits.rawPass ? limits.rawPass(body, raw, cfg) : rawPass(body, raw, cfg);
    }
    img = sharp(body, { raw: { width, height, channels } });
    if (channels >= 3 && raw.order === 'bgr') {
      if (channels === 4) img = sharp(await img.removeAlpha().raw().toBuffer(), { raw: { width, height, channels: 3 } });
      img = img.recomb([[0, 0, 1], [0, 1, 0], [1, 0, 0]]);
    }
  } else {
    let meta: Metadata;
    try {
      meta = await sharp(body, { limitInputPixels: false }).metadata(); // reads the header only
    } catch (err) {
      throw decodeError(err);
    }
    if (!(ACCEPTED_FORMATS as readonly string[]).includes(meta.format ?? '')) {
      throw new FerryError('BAD_IMAGE', `image format "${meta.format}" is not accepted; send ${ACCEPTED_FORMATS.join(', ')}`);
    }
    if ((meta.width ?? 0) * (meta.height ?? 0) > limits.maxPixels) {
      throw new FerryError('IMAGE_TOO_LARGE', `${meta.width}x${meta.height} pixels is more than this server decodes (${limits.maxPixels})`);
    }
    img = sharp(body, { limitInputPixels: limits.maxPixels, failOn: 'truncated' }).rotate();
  }
  img = (cfg.color === 'gray' ? img.greyscale().toColourspace('b-w') : img.toColourspace('srgb')).removeAlpha();
  if (needsObjectPass(cfg)) return objectPass(img, cfg);
  const background = cfg.background === 'auto' ? undefined : rgba(cfg.background);
  img = img.resize(cfg.width, cfg.height, { fit: cfg.fit, ...(cfg.fit === 'contain' && { background: background ?? { r: 0, g: 0, b: 0 } }) });
  return rawPixels(img);
}

async function rawPixels(img: Sharp): Promise<Pixels> {
  try {
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    return { data, channels: info.channels };
  } catch (err) {
    throw decodeError(err);
  }
}

function rgba(v: readonly number[]): { r: number; g: number; b: number } {
  return { r: v[0]!, g: v[1] ?? v[0]!, b: v[2] ?? v[0]! };
}

/**
 * Shrinks the picture to a working size with libvips (JPEG shrink-on-load makes a camera photo
 * cheap), then does the rest in JS (objectPassRaster).
 */
async function objectPass(img: Sharp, cfg: ImageConfig): Promise<Pixels> {
  const side = workSide(cfg);
  let work: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    work = await img.resize(side, side, { fit: 'inside', withoutEnlargement: true }).raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decodeError(err);
  }
  return objectPassRaster({ data: work.data, width: work.info.width, height: work.info.height, channels: work.info.channels }, cfg);
}

/**
 * |mean| of the normalized pixels, averaged over channels: how far the picture's brightness is
 * from the training data's, in its standard deviations (the config's mean/std describe it).
 */
export function inputShift(pixels: Pixels, cfg: ImageConfig): number {
  const c = pixels.channels;
  const sums = new Float64Array(c);
  const d = pixels.data;
  for (let i = 0; i < d.length; i += c) for (let k = 0; k < c; k++) sums[k]! += d[i + k]!;
  const n = d.length / c;
  // For bgr models the config's channel 0 is blue, which is pixel channel 2.
  const order = cfg.color === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  let total = 0;
  for (let k = 0; k < c; k++) {
    const mean = (sums[order[k]!]! / n) * cfg.scale;
    total += (mean - cfg.mean[k]!) / cfg.std[k]!;
  }
  return Math.abs(total / c);
}

/**
 * An input source over resized pixels: at batch time each pixel p becomes (p * scale - mean[c]) / std[c]
 * and is written in the model's layout and datatype. `batched` adds the batch axis of 1.
 */
export function imageSource(name: string, datatype: Datatype, pixels: Pixels, cfg: ImageConfig, batched: boolean): InputSource {
  const { width: w, height: h } = cfg;
  const c = cfg.color === 'gray' ? 1 : 3;
  if (pixels.channels !== c || pixels.data.length !== w * h * c) {
    throw new FerryError('BAD_IMAGE', `decoding gave ${pixels.channels} channels of ${pixels.data.length} bytes, expected ${c} channels of ${w}x${h}`);
  }
  const shape = cfg.layout === 'NCHW' ? [c, h, w] : [h, w, c];
  const count = c * h * w;
  const src = pixels.data;
  // bgr models take channel 0 = blue: read source channel 2 - k.
  const order = cfg.color === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const mul = cfg.std.map((s) => cfg.scale / s);
  const add = cfg.mean.map((m, k) => -m / cfg.std[k]!);
  return {
    name, datatype, count,
    shape: batched ? [1, ...shape] : shape,
    writeInto(dst, offset) {
      const plane = w * h;
      for (let k = 0; k < c; k++) {
        const from = order[k]!;
        const m = mul[k]!;
        const a = add[k]!;
        for (let p = 0; p < plane; p++) {
          const i = cfg.layout === 'NCHW' ? offset + k * plane + p : offset + p * c + k;
          const v = src[p * c + from]!;
          if (datatype === 'UINT8') (dst as Uint8Array)[i] = v;
          else if (datatype === 'FP16') (dst as Uint16Array)[i] = toHalfBits(v * m + a);
          else (dst as Float32Array)[i] = v * m + a;
        }
      }
    },
  };
}
