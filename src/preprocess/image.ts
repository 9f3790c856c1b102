/**
 * Image preprocessing declared in a model's config (`image:`): decode (JPEG, PNG, WebP) or take raw
 * HWC pixels, resize, convert colour, then — at batch time, straight into the batch buffer —
 * scale, normalize and lay out as NCHW or NHWC.
 */
import sharp from 'sharp';
import type { Metadata, Sharp } from 'sharp';
import type { ImageConfig } from './image-config.js';
import type { Raster } from './object.js';
import { borderColor, boxShrink, invert, isDarkOnLight, objectBox, padToAspect, resample } from './object.js';
import type { InputSource } from '../tensors/source.js';
import type { Datatype } from '../tensors/dtype.js';
import { toHalfBits } from '../tensors/dtype.js';
import { FerryError } from '../errors.js';

sharp.concurrency(1); // one libvips thread per image; images decode in parallel on the libuv pool

export const ACCEPTED_FORMATS = ['jpeg', 'png', 'webp'] as const;

export interface DecodeLimits {
  /** Largest width * height decoded; larger images are refused from their header. @defaultValue 40_000_000 */
  maxPixels: number;
}

/** Raw pixels, as the seed's Flask client sends them (cv2 order: BGR). */
export interface RawPixels {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  order: 'bgr' | 'rgb';
}

/** Resized pixels, HWC uint8, in the model's colour (gray: 1 channel; rgb/bgr: 3, in RGB order). */
export interface Pixels {
  readonly data: Buffer;
  readonly channels: number;
  /** The picture was inverted (`invert`). */
  readonly inverted?: boolean;
  /** With `trim`: false when nothing stands out from the background (a blank picture). */
  readonly objectFound?: boolean;
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
    if (needsObjectPass(cfg) && Math.max(width, height) <= RAW_IN_JS_SIDE) {
      // Small raw pixels (the seed's /predict client): the whole pass in JS, no libvips round trip,
      // on a raster box-shrunk to about the working size first.
      const converted = convertPixels(body, raw, cfg.color);
      const shrunk = boxShrink({ data: converted.data, width, height, channels: converted.channels }, Math.floor(Math.max(width, height) / workSide(cfg)));
      return objectPassRaster(shrunk, cfg, shrunk.data !== body); // a buffer of its own unless it is the request body
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

/** Whether the picture must be looked at (background, inversion, the object's box) before resizing. */
function needsObjectPass(cfg: ImageConfig): boolean {
  return cfg.invert !== false || cfg.trim !== undefined || (cfg.fit === 'contain' && cfg.background === 'auto');
}

/**
 * Side of the working image the object pass analyses: the picture shrunk to fit it (never
 * enlarged). Twice the model's side: the object's box is then found to within half an output
 * pixel, and the last resampling still has two source pixels per output pixel to filter.
 */
function workSide(cfg: ImageConfig): number {
  return Math.max(64, 2 * Math.max(cfg.width, cfg.height));
}

/** Raw pixels up to this side are shrunk and analysed in JS; larger ones go through libvips first. */
const RAW_IN_JS_SIDE = 1024;

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
 * The object pass on a working raster in the model's colour: background from the border,
 * inversion, the object's box, padding to the model's aspect, resampling to the model's size.
 */
function objectPassRaster(input: Raster, cfg: ImageConfig, owned = false): Pixels {
  const raster: Raster = owned ? input : { ...input, data: input.data.slice() }; // inverted in place below
  let bg = borderColor(raster);
  const inverted = cfg.invert === true || (cfg.invert === 'auto' && isDarkOnLight(raster, bg));
  if (inverted) {
    invert(raster);
    bg = bg.map((v) => 255 - v);
  }
  const pad = cfg.background === 'auto' ? bg : [...cfg.background];
  let box = { left: 0, top: 0, width: raster.width, height: raster.height };
  let objectFound: boolean | undefined;
  if (cfg.trim) {
    const found = objectBox(raster, bg, cfg.trim.threshold);
    objectFound = found !== undefined;
    if (found) box = found;
  }
  let framed: Raster;
  if (cfg.fit === 'contain') framed = padToAspect(raster, box, cfg, pad, cfg.trim?.margin ?? 0);
  else if (cfg.fit === 'cover') framed = cropToAspect(padToAspect(raster, box, box, pad, cfg.trim?.margin ?? 0), cfg);
  else framed = padToAspect(raster, box, box, pad, cfg.trim?.margin ?? 0);
  const out = resample(framed, cfg.width, cfg.height);
  return { data: Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength), channels: out.channels, inverted, ...(objectFound !== undefined && { objectFound }) };
}

/** The centre of `img` cut to the aspect width:height. */
function cropToAspect(img: Raster, aspect: { width: number; height: number }): Raster {
  const want = aspect.width / aspect.height;
  let w = img.width;
  let h = img.height;
  if (w / h > want) w = Math.max(1, Math.round(h * want));
  else h = Math.max(1, Math.round(w / want));
  const left = (img.width - w) >> 1;
  const top = (img.height - h) >> 1;
  const c = img.channels;
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(((top + y) * img.width + left) * c, ((top + y) * img.width + left + w) * c), y * w * c);
  return { data: out, width: w, height: h, channels: c };
}

/**
 * Raw pixels already at the model's size need no resize, so no libvips pipeline: only the colour
 * conversion, in one pass (gray = Rec. 601 luma, as OpenCV and PIL compute it; RGB order out).
 */
function convertPixels(body: Buffer, raw: RawPixels, color: ImageConfig['color']): Pixels {
  const { channels } = raw;
  const n = raw.width * raw.height;
  const [r, b] = raw.order === 'bgr' ? [2, 0] : [0, 2];
  if (color === 'gray') {
    if (channels === 1) return { data: body, channels: 1 };
    const out = Buffer.allocUnsafe(n);
    toGray(body, out, n, channels, r, b);
    return { data: out, channels: 1 };
  }
  const out = Buffer.allocUnsafe(n * 3);
  if (channels === 1) grayToRgb(body, out, n);
  else toRgb(body, out, n, channels, r, b);
  return { data: out, channels: 3 };
}

// The per-pixel loops are functions of their own that only loop: a hot loop inside a larger
// function is compiled on the fly (on-stack replacement) and that code, reused on every call,
// gave up at the first untried statement after the loop, every call (convertPixels deopted ~500
// times in 2000 requests: 0.2 ms of a 0.45 ms /predict preprocessing).

/** Rec. 601 luma in 16-bit fixed point (0.299, 0.587, 0.114), rounded: exact to within 1/65536. */
function toGray(src: Uint8Array, out: Uint8Array, n: number, channels: number, r: number, b: number): void {
  for (let p = 0, i = 0; p < n; p++, i += channels) out[p] = (19595 * src[i + r]! + 38470 * src[i + 1]! + 7471 * src[i + b]! + 32768) >>> 16;
}

function toRgb(src: Uint8Array, out: Uint8Array, n: number, channels: number, r: number, b: number): void {
  for (let p = 0, i = 0; p < n; p++, i += channels) {
    out[3 * p] = src[i + r]!;
    out[3 * p + 1] = src[i + 1]!;
    out[3 * p + 2] = src[i + b]!;
  }
}

function grayToRgb(src: Uint8Array, out: Uint8Array, n: number): void {
  for (let p = 0; p < n; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = src[p]!;
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
