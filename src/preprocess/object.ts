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
  // a histogram per channel: the median without sorting
  const counts = new Uint32Array(256 * c);
  let n = 0;
  const add = (x: number, y: number): void => {
    const i = (y * w + x) * c;
    for (let k = 0; k < c; k++) counts[k * 256 + data[i + k]!]!++;
    n++;
  };
  for (let y = 0; y < h; y++) {
    if (y < f || y >= h - f) for (let x = 0; x < w; x++) add(x, y);
    else for (let x = 0; x < w; x++) if (x < f || x >= w - f) add(x, y); else x = w - f - 1;
  }
  const middle = Math.floor(n / 2);
  return Array.from({ length: c }, (_, k) => {
    for (let v = 0, seen = 0; v < 256; v++) {
      seen += counts[k * 256 + v]!;
      if (seen > middle) return v;
    }
    return 0;
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
  if (c === 1) return objectBoxGray(data, w, h, background[0]! - threshold, background[0]! + threshold);
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
  if (c === 1 || background.every((v) => v === background[0])) out.fill(background[0]!);
  else for (let i = 0; i < w * h; i++) for (let k = 0; k < c; k++) out[i * c + k] = background[k]!;
  const ox = Math.floor((w - box.width) / 2);
  const oy = Math.floor((h - box.height) / 2);
  for (let y = 0; y < box.height; y++) {
    const src = ((box.top + y) * img.width + box.left) * c;
    out.set(img.data.subarray(src, src + box.width * c), ((oy + y) * w + ox) * c);
  }
  return { data: out, width: w, height: h, channels: c };
}

/**
 * Shrinks by an integer factor, each output pixel the mean of its f x f block (the edge blocks
 * of what is left over: the mean of what they cover), as libvips' shrink and OpenCV's INTER_AREA
 * do. Before `resample`, it brings a raster near the size the object pass needs in one cheap pass.
 */
export function boxShrink(img: Raster, f: number): Raster {
  if (f <= 1) return img;
  const { width: w, height: h, channels: c } = img;
  const ow = Math.ceil(w / f);
  const oh = Math.ceil(h / f);
  // where each value of a source row goes in its output row: one flat loop a row, no division
  const block = new Int32Array(w * c);
  for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) block[x * c + k] = ((x / f) | 0) * c + k;
  const sums = new Uint32Array(ow * oh * c);
  for (let y = 0; y < h; y++) addRow(img.data, y * w * c, sums, ((y / f) | 0) * ow * c, block);
  const out = new Uint8Array(ow * oh * c);
  for (let oy = 0; oy < oh; oy++) divideRow(sums, out, oy * ow * c, ow, c, f, Math.min(f, h - oy * f), w);
  return { data: out, width: ow, height: oh, channels: c };
}

/** Adds one source row into its output row of block sums. */
function addRow(data: Uint8Array, from: number, sums: Uint32Array, to: number, block: Int32Array): void {
  for (let i = 0; i < block.length; i++) sums[to + block[i]!]! += data[from + i]!;
}

/** One output row: each block's sum over the pixels it covered (the last column and row may cover fewer). */
function divideRow(sums: Uint32Array, out: Uint8Array, row: number, ow: number, c: number, f: number, bh: number, w: number): void {
  for (let ox = 0; ox < ow; ox++) {
    const n = bh * Math.min(f, w - ox * f);
    const o = row + ox * c;
    for (let k = 0; k < c; k++) out[o + k] = Math.round(sums[o + k]! / n);
  }
}

/**
 * Resamples HWC uint8 pixels to w x h with a Lanczos-3 filter that widens with the downscale
 * factor (as libvips' and PIL's resize): separable, two passes through a float buffer. For the
 * small rasters of the object pass (a working image of about twice the model's side, a model
 * input of tens of pixels) this costs less than one round trip to libvips' thread pool.
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

/**
 * Per output index: the first source index and the normalized weights from it. A shrink by 2 or
 * more averages the source pixels each output pixel covers (by the share of each it covers:
 * OpenCV's INTER_AREA, libvips' shrink), a few taps where Lanczos would take 6 x the factor;
 * anything nearer 1 uses Lanczos-3.
 */
function weights(from: number, to: number): { start: number; taps: Float32Array }[] {
  const key = from * 65536 + to;
  const cached = WEIGHTS.get(key);
  if (cached) return cached;
  if (WEIGHTS.size > 4096) WEIGHTS.clear();
  const scale = from / to;
  if (scale >= 2) {
    const area = areaWeights(from, to);
    WEIGHTS.set(key, area);
    return area;
  }
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

/** Box weights: output i covers source [i * scale, (i + 1) * scale), each source pixel by its overlap. */
function areaWeights(from: number, to: number): { start: number; taps: Float32Array }[] {
  const scale = from / to;
  const out: { start: number; taps: Float32Array }[] = [];
  for (let i = 0; i < to; i++) {
    const lo = i * scale;
    const hi = Math.min(from, (i + 1) * scale);
    const start = Math.floor(lo);
    const end = Math.ceil(hi - 1e-9);
    const taps = new Float32Array(end - start);
    for (let j = start; j < end; j++) taps[j - start] = (Math.min(hi, j + 1) - Math.max(lo, j)) / scale;
    out.push({ start, taps });
  }
  return out;
}

/** objectBox for one channel: a pixel belongs to the object when it lies outside [lo, hi]; each row is scanned from its ends. */
function objectBoxGray(data: Uint8Array, w: number, h: number, lo: number, hi: number): Box | undefined {
  let left = w;
  let right = -1;
  let top = h;
  let bottom = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let x = 0;
    while (x < w && data[row + x]! >= lo && data[row + x]! <= hi) x++;
    if (x === w) continue;
    if (x < left) left = x;
    let r = w - 1;
    while (data[row + r]! >= lo && data[row + r]! <= hi) r--;
    if (r > right) right = r;
    if (y < top) top = y;
    bottom = y;
  }
  return right < 0 ? undefined : { left, top, width: right - left + 1, height: bottom - top + 1 };
}
