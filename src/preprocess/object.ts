/**
 * Finding the object in a photo, for models trained on centred objects (Fashion-MNIST, MNIST,
 * product images): the background colour from the border, whether to invert (a dark object on a
 * light background, for a model trained light-on-dark), the object's bounding box, and padding to
 * the model's aspect. Pure functions over small HWC uint8 buffers (the image is first shrunk to a
 * working size, so a 24-megapixel photo costs the same as a thumbnail).
 */

/** HWC uint8 pixels. */
export interface Raster {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/** Per-channel median of the pixels on the image's outer frame (`frame` pixels thick). */
export function borderColor(img: Raster, frame = 2): number[] {
  const { width: w, height: h, channels: c, data } = img;
  const f = Math.max(1, Math.min(frame, Math.floor(Math.min(w, h) / 2)));
  const values: number[][] = Array.from({ length: c }, () => []);
  for (let y = 0; y < h; y++) {
    const edgeRow = y < f || y >= h - f;
    for (let x = 0; x < w; x++) {
      if (!edgeRow && x >= f && x < w - f) continue;
      const i = (y * w + x) * c;
      for (let k = 0; k < c; k++) values[k]!.push(data[i + k]!);
    }
  }
  return values.map((v) => {
    v.sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)] ?? 0;
  });
}

/** Mean luminance (0..255) of the pixels in the central box covering `share` of each side. */
export function centreLuma(img: Raster, share = 0.5): number {
  const { width: w, height: h, channels: c, data } = img;
  const x0 = Math.floor((w * (1 - share)) / 2);
  const y0 = Math.floor((h * (1 - share)) / 2);
  const x1 = Math.max(x0 + 1, Math.ceil((w * (1 + share)) / 2));
  const y1 = Math.max(y0 + 1, Math.ceil((h * (1 + share)) / 2));
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      sum += luma(data, (y * w + x) * c, c);
      n++;
    }
  }
  return n ? sum / n : 0;
}

export function luma(data: Uint8Array, i: number, channels: number): number {
  return channels >= 3 ? 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]! : data[i]!;
}

/** True when the background (border) is lighter than the centre: a dark object on a light ground. */
export function isDarkOnLight(img: Raster, background: readonly number[]): boolean {
  const bg = background.length >= 3 ? 0.299 * background[0]! + 0.587 * background[1]! + 0.114 * background[2]! : background[0]!;
  return bg > centreLuma(img);
}

/** 255 - v for every value, in place. */
export function invert(img: Raster): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = 255 - d[i]!;
}

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The smallest box holding every pixel that differs from `background` by more than `threshold` in
 * some channel; undefined when there is none (a blank image: no object).
 */
export function objectBox(img: Raster, background: readonly number[], threshold: number): Box | undefined {
  const { width: w, height: h, channels: c, data } = img;
  let left = w;
  let right = -1;
  let top = h;
  let bottom = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * c;
      let differs = false;
      for (let k = 0; k < c && !differs; k++) differs = Math.abs(data[i + k]! - background[k]!) > threshold;
      if (!differs) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  return right < 0 ? undefined : { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/** `box` of `img`, padded with `background` to the aspect width:height, the object centred. */
export function padToAspect(img: Raster, box: Box, aspect: { width: number; height: number }, background: readonly number[], margin = 0): Raster {
  const c = img.channels;
  const want = aspect.width / aspect.height;
  let w = Math.round(box.width * (1 + 2 * margin));
  let h = Math.round(box.height * (1 + 2 * margin));
  if (w / h < want) w = Math.round(h * want);
  else h = Math.round(w / want);
  w = Math.max(w, box.width);
  h = Math.max(h, box.height);
  const out = new Uint8Array(w * h * c);
  for (let i = 0; i < w * h; i++) for (let k = 0; k < c; k++) out[i * c + k] = background[k]!;
  const ox = Math.floor((w - box.width) / 2);
  const oy = Math.floor((h - box.height) / 2);
  for (let y = 0; y < box.height; y++) {
    const src = ((box.top + y) * img.width + box.left) * c;
    out.set(img.data.subarray(src, src + box.width * c), ((oy + y) * w + ox) * c);
  }
  return { data: out, width: w, height: h, channels: c };
}

/**
 * Resamples HWC uint8 pixels to w x h with a Lanczos-3 filter that widens with the downscale
 * factor (as libvips' and PIL's resize): separable, two passes through a float buffer. For the small rasters of the object pass (a working image of at most 256 a side, a
 * model input of tens of pixels) this costs less than one round trip to libvips' thread pool.
 */
export function resample(img: Raster, w: number, h: number): Raster {
  if (img.width === w && img.height === h) return img;
  const c = img.channels;
  const sw = img.width;
  const src = img.data;
  const across = weights(sw, w);
  const down = weights(img.height, h);
  // Vertical first: rows of the output from rows of the input, then each output row across.
  const mid = new Float32Array(sw * h * c);
  for (let y = 0; y < h; y++) {
    const { start, taps } = down[y]!;
    const row = y * sw * c;
    for (let t = 0; t < taps.length; t++) {
      const wt = taps[t]!;
      const from = (start + t) * sw * c;
      for (let i = 0; i < sw * c; i++) mid[row + i]! += wt * src[from + i]!;
    }
  }
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) {
    const row = y * sw * c;
    for (let x = 0; x < w; x++) {
      const { start, taps } = across[x]!;
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let t = 0; t < taps.length; t++) sum += taps[t]! * mid[row + (start + t) * c + k]!;
        out[(y * w + x) * c + k] = sum <= 0 ? 0 : sum >= 255 ? 255 : Math.round(sum);
      }
    }
  }
  return { data: out, width: w, height: h, channels: c };
}

/** Filter weights by (from, to): the same sizes come back request after request. */
const WEIGHTS = new Map<number, { start: number; taps: Float32Array }[]>();

/** Lanczos-3: sinc(x) sinc(x/3) for |x| < 3 (what libvips and PIL use to shrink). */
function lanczos3(x: number): number {
  if (x === 0) return 1;
  if (x <= -3 || x >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
}

/** Per output index: the first source index and the normalized Lanczos-3 weights from it. */
function weights(from: number, to: number): { start: number; taps: Float32Array }[] {
  const key = from * 65536 + to;
  const cached = WEIGHTS.get(key);
  if (cached) return cached;
  if (WEIGHTS.size > 4096) WEIGHTS.clear();
  const scale = from / to;
  const stretch = Math.max(1, scale); // a shrink widens the kernel: it averages what it drops
  const support = 3 * stretch;
  const out: { start: number; taps: Float32Array }[] = [];
  for (let i = 0; i < to; i++) {
    const centre = (i + 0.5) * scale;
    const start = Math.max(0, Math.floor(centre - support));
    const end = Math.min(from, Math.ceil(centre + support));
    const taps = new Float32Array(Math.max(1, end - start));
    let total = 0;
    for (let j = start; j < end; j++) {
      const wgt = lanczos3((j + 0.5 - centre) / stretch);
      taps[j - start] = wgt;
      total += wgt;
    }
    if (total === 0) { taps[Math.min(taps.length - 1, Math.floor(centre) - start)] = 1; total = 1; }
    for (let t = 0; t < taps.length; t++) taps[t]! /= total;
    out.push({ start, taps });
  }
  WEIGHTS.set(key, out);
  return out;
}
