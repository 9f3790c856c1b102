/**
 * The .param text (docs/developer-guide/param-and-model-file-structure.md): magic 7767517, the
 * layer and blob counts, then one layer a line: type, name, input and output counts, the blob
 * names, and `k=v` params. Arrays are written the old way, `-23300-k=n,v1,...,vn`, which every
 * ncnn version reads.
 *
 * Floats are spelled so ncnn reads them as floats and gets the same float32 back: ParamDict
 * takes a value for a float when it holds '.' or 'e', reads at most 15 characters, and sums the
 * digits after the point in a 32-bit integer (so never more than 9 of them): the shortest
 * exponential form that round-trips, e.g. `6e0`, `1.66666672e-1`.
 */
import type { Net, Param } from './net.js';

export const PARAM_MAGIC = 7767517;

/** A float32 as ncnn's ParamDict reads it back exactly. */
export function formatFloat(value: number): string {
  if (Number.isNaN(value)) throw new RangeError('ncnn params cannot hold NaN');
  const f = Math.fround(Math.max(-3.4028234663852886e38, Math.min(3.4028234663852886e38, value)));
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  for (let digits = 0; digits <= 8; digits++) {
    const s = f.toExponential(digits);
    if (Math.fround(Number(s)) === f) return s.replace('e+', 'e');
  }
  return f.toExponential(8).replace('e+', 'e');
}

function formatParam(id: number, v: Param): string {
  switch (v.type) {
    case 'int': return `${id}=${v.value}`;
    case 'float': return `${id}=${formatFloat(v.value)}`;
    case 'ints': return `${-23300 - id}=${[v.value.length, ...v.value].join(',')}`;
    case 'floats': return `${-23300 - id}=${[String(v.value.length), ...v.value.map(formatFloat)].join(',')}`;
    case 'string': return `${id}=${v.value}`;
  }
}

/** The .param text of `net`. */
export function writeParam(net: Net): string {
  const lines = [String(PARAM_MAGIC), `${net.layers.length} ${net.blobs().size}`];
  for (const l of net.layers) {
    const params = [...l.params].sort((a, b) => a[0] - b[0]).map(([k, v]) => formatParam(k, v));
    const head = `${l.type.padEnd(20)} ${l.name.padEnd(24)} ${l.bottoms.length} ${l.tops.length}`;
    lines.push([head, ...l.bottoms, ...l.tops, ...params].join(' '));
  }
  return `${lines.join('\n')}\n`;
}
