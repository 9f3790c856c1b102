/**
 * The calibration table in ncnn2table's format, which ncnn's own ncnn2int8 reads:
 * `<layer>_param_0 s0 s1 ...` (weight scales per output channel, or per group) for every layer,
 * then `<layer> s` (the scale of the layer's input blob), each value `%f`.
 */

export interface LayerScales {
  /** The ncnn layer name. */
  readonly layer: string;
  readonly weightScales: Float32Array;
  readonly bottomScale: number;
}

const f = (v: number): string => v.toFixed(6);

export function writeTable(scales: readonly LayerScales[]): string {
  const lines = scales.map((s) => `${s.layer}_param_0 ${Array.from(s.weightScales, f).join(' ')} `);
  for (const s of scales) lines.push(`${s.layer} ${f(s.bottomScale)} `);
  return `${lines.join('\n')}\n`;
}

/** Reads a table back: layer -> { weightScales, bottomScale }. */
export function parseTable(text: string): Map<string, { weightScales?: number[]; bottomScale?: number }> {
  const out = new Map<string, { weightScales?: number[]; bottomScale?: number }>();
  for (const line of text.split('\n')) {
    const [key, ...vals] = line.trim().split(/\s+/);
    if (!key) continue;
    const nums = vals.map(Number);
    if (key.endsWith('_param_0')) {
      const layer = key.slice(0, -'_param_0'.length);
      out.set(layer, { ...out.get(layer), weightScales: nums });
    } else {
      out.set(key, { ...out.get(key), bottomScale: nums[0]! });
    }
  }
  return out;
}
