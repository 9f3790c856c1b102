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
 * Side of the working image the object pass analyses in an encoded picture, which libvips shrinks
 * to fit it (never enlarged). Twice the model's side, as rawShrinkFactor for raw pixels: the
 * object's box is then found to within half an output pixel, and the last resampling still has
 * two source pixels per output pixel to filter.
 */
export function workSide(cfg: ImageConfig): number {
  return Math.max(64, 2 * Math.max(cfg.width, cfg.height));
}

/** Raw pixels up to this side are shrunk and analysed in JS; larger ones go through libvips first. */
export const RAW_IN_JS_SIDE = 1024;

/**
 * Small raw pixels (the seed's /predict client) to the model's size, all in JS: the object pass
 * when the config asks for one (rawObjectPass), else converted, shrunk and fitted (rawFit).
 * `body` is not written to.
 */
export function rawPass(body: Buffer, raw: RawPixels, cfg: ImageConfig): Pixels {
  return needsObjectPass(cfg) ? rawObjectPass(body, raw, cfg) : rawFit(body, raw, cfg);
}

/**
 * The largest integer shrink that leaves twice the model's side on the picture's longer side:
 * the object's box is then still found to within half a model pixel, and the last resampling has
 * two source pixels per model pixel to filter (112x112 for a 28x28 model: 2, so what follows
 * works on a quarter of the pixels).
 */
export function rawShrinkFactor(raw: RawPixels, cfg: ImageConfig): number {
  return Math.max(1, Math.floor(Math.max(raw.width, raw.height) / (2 * Math.max(cfg.width, cfg.height))));
}

/** The whole object pass over small raw pixels: converted and box-shrunk (rawShrinkFactor), then objectPassRaster. */
function rawObjectPass(body: Buffer, raw: RawPixels, cfg: ImageConfig): Pixels {
  const shrunk = convertShrunk(body, raw, cfg.color, rawShrinkFactor(raw, cfg));
  return objectPassRaster(shrunk, cfg, shrunk.data !== body); // a buffer of its own unless it is the request body
}

/**
 * Small raw pixels without an object pass: converted, box-shrunk, fitted to the model's aspect
 * (`fill` stretches, `cover` cuts the centre, `contain` pads with the configured background) and
 * resampled, as the libvips pipeline for encoded images does, without its round trip (on a
 * 112x112 picture libvips' raw pipeline cost ~9 ms of CPU a request on a 2-core Xeon; this, ~0.2).
 */
export function rawFit(body: Buffer, raw: RawPixels, cfg: ImageConfig): Pixels {
  // shrink no further than twice the model's size on either axis: `fill` scales them separately
  const f = Math.max(1, Math.floor(Math.min(raw.width / cfg.width, raw.height / cfg.height) / 2));
  let img = convertShrunk(body, raw, cfg.color, f);
  let out: Raster;
  if (cfg.fit === 'contain') {
    // as libvips: resized to fit inside, then centred on the background at whole pixels
    const s = Math.min(cfg.width / img.width, cfg.height / img.height);
    const inside = resample(img, Math.max(1, Math.round(img.width * s)), Math.max(1, Math.round(img.height * s)));
    out = embed(inside, cfg.width, cfg.height, cfg.background === 'auto' ? [0] : cfg.background);
  } else {
    if (cfg.fit === 'cover') img = cropToAspect(img, cfg);
    out = resample(img, cfg.width, cfg.height);
  }
  return { data: Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength), channels: out.channels };
}

/** `img` (no larger than w x h) centred on a w x h canvas of `background` (one value, or one per channel). */
function embed(img: Raster, w: number, h: number, background: readonly number[]): Raster {
  if (img.width === w && img.height === h) return img;
  const c = img.channels;
  const out = new Uint8Array(w * h * c);
  for (let i = 0; i < w * h; i++) for (let k = 0; k < c; k++) out[i * c + k] = background[k] ?? background[0]!;
  const left = (w - img.width) >> 1;
  const top = (h - img.height) >> 1;
  for (let y = 0; y < img.height; y++) out.set(img.data.subarray(y * img.width * c, (y + 1) * img.width * c), ((top + y) * w + left) * c);
  return { data: out, width: w, height: h, channels: c };
}

/** Converted to the model's colour and box-shrunk by `f`; from colour to gray in one pass. */
function convertShrunk(body: Buffer, raw: RawPixels, color: ImageConfig['color'], f: number): Raster {
  const { width, height, channels } = raw;
  if (color === 'gray' && channels > 1 && f > 1) {
    const [r, b] = raw.order === 'bgr' ? [2, 0] : [0, 2];
    return grayShrink(body, width, height, channels, r, b, f);
  }
  const converted = convertPixels(body, raw, color);
  return boxShrink({ data: converted.data, width, height, channels: converted.channels }, f);
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

/**
 * Gray and an integer box shrink in one pass over colour pixels: each output pixel the Rec. 601
 * luma of its f x f block's mean colour (the last column and row of blocks: of what they cover),
 * as gray-then-shrink gives to within rounding. The picture is read once and no full-size gray
 * copy is made.
 */
export function grayShrink(src: Uint8Array, width: number, height: number, channels: number, r: number, b: number, f: number): Raster {
  const ow = Math.ceil(width / f);
  const oh = Math.ceil(height / f);
  const out = new Uint8Array(ow * oh);
  if (f === 2 && width % 2 === 0 && height % 2 === 0) grayHalve(src, out, ow, oh, channels, r, b);
  else {
    const acc = new Float64Array(ow);
    for (let oy = 0; oy < oh; oy++) {
      acc.fill(0);
      const y0 = oy * f;
      const rows = Math.min(f, height - y0);
      for (let y = y0; y < y0 + rows; y++) addLumaRow(src, y * width * channels, width, channels, r, b, f, acc);
      divideLumaRow(acc, out, oy * ow, width, f, rows);
    }
  }
  return { data: out, width: ow, height: oh, channels: 1 };
}

/** grayShrink by 2 of even-sized pixels: 2x2 blocks, 16-bit fixed-point luma, rounded. */
function grayHalve(src: Uint8Array, out: Uint8Array, ow: number, oh: number, c: number, r: number, b: number): void {
  const stride = 2 * ow * c;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0, i = 2 * oy * stride, o = oy * ow; ox < ow; ox++, i += 2 * c, o++) {
      const j = i + stride;
      const red = src[i + r]! + src[i + c + r]! + src[j + r]! + src[j + c + r]!;
      const green = src[i + 1]! + src[i + c + 1]! + src[j + 1]! + src[j + c + 1]!;
      const blue = src[i + b]! + src[i + c + b]! + src[j + b]! + src[j + c + b]!;
      out[o] = (19595 * red + 38470 * green + 7471 * blue + 131072) >>> 18;
    }
  }
}

/** Adds one source row's luma (x 65536) into its output row's block sums. */
function addLumaRow(src: Uint8Array, i: number, width: number, c: number, r: number, b: number, f: number, acc: Float64Array): void {
  for (let x = 0, ox = 0, k = 0; x < width; x++, i += c) {
    acc[ox]! += 19595 * src[i + r]! + 38470 * src[i + 1]! + 7471 * src[i + b]!;
    if (++k === f) {
      k = 0;
      ox++;
    }
  }
}

function divideLumaRow(acc: Float64Array, out: Uint8Array, row: number, width: number, f: number, rows: number): void {
  for (let ox = 0; ox < acc.length; ox++) out[row + ox] = Math.round(acc[ox]! / (65536 * rows * Math.min(f, width - ox * f)));
}
