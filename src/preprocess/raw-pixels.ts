/**
 * The object pass over raw pixels, in JS and without libvips, so that it can run on any thread:
 * the event loop's, or a preprocessing thread's (./raw-pass-pool.ts) while the
 * event loop serves other requests. Colour conversion, the working-size box shrink, background,
 * inversion, the object's box, padding to the model's aspect and the last resampling.
 */
import type { ImageConfig } from './image-config.js';
import type { Raster } from './object.js';
import { borderColor, boxShrink, invert, isDarkOnLight, objectBox, padToAspect, resample } from './object.js';

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

/** Whether the picture must be looked at (background, inversion, the object's box) before resizing. */
export function needsObjectPass(cfg: ImageConfig): boolean {
  return cfg.invert !== false || cfg.trim !== undefined || (cfg.fit === 'contain' && cfg.background === 'auto');
}

/**
 * Side of the working image the object pass analyses: the picture shrunk to fit it (never
 * enlarged). Twice the model's side: the object's box is then found to within half an output
 * pixel, and the last resampling still has two source pixels per output pixel to filter.
 */
export function workSide(cfg: ImageConfig): number {
  return Math.max(64, 2 * Math.max(cfg.width, cfg.height));
}

/** Raw pixels up to this side are shrunk and analysed in JS; larger ones go through libvips first. */
export const RAW_IN_JS_SIDE = 1024;

/**
 * Small raw pixels (the seed's /predict client), the whole object pass: converted, box-shrunk to
 * about the working size, then objectPassRaster. `body` is not written to.
 */
export function rawObjectPass(body: Buffer, raw: RawPixels, cfg: ImageConfig): Pixels {
  const { width, height } = raw;
  const converted = convertPixels(body, raw, cfg.color);
  const shrunk = boxShrink({ data: converted.data, width, height, channels: converted.channels }, Math.floor(Math.max(width, height) / workSide(cfg)));
  return objectPassRaster(shrunk, cfg, shrunk.data !== body); // a buffer of its own unless it is the request body
}

/**
 * The object pass on a working raster in the model's colour: background from the border,
 * inversion, the object's box, padding to the model's aspect, resampling to the model's size.
 */
export function objectPassRaster(input: Raster, cfg: ImageConfig, owned = false): Pixels {
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
export function convertPixels(body: Buffer, raw: RawPixels, color: ImageConfig['color']): Pixels {
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
