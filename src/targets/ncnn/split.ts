/**
 * ncnn needs one reader per blob: a blob several layers read goes through a Split layer with one
 * top per reader (`x_splitncnn_0`, ...), as onnx2ncnn writes it.
 */
import type { Net } from './net.js';
import { layer } from './net.js';

export function insertSplits(net: Net): number {
  const uses = new Map<string, number>();
  for (const l of net.layers) for (const b of l.bottoms) uses.set(b, (uses.get(b) ?? 0) + 1);
  let added = 0;
  const layers = [...net.layers];
  const out = [];
  const renamed = new Map<string, string[]>();
  for (const l of layers) {
    l.bottoms = l.bottoms.map((b) => renamed.get(b)?.shift() ?? b);
    out.push(l);
    for (const t of l.tops) {
      const n = uses.get(t) ?? 0;
      if (n < 2) continue;
      const tops = Array.from({ length: n }, (_, i) => `${t}_splitncnn_${i}`);
      out.push(layer({ type: 'Split', name: `splitncnn_${added}`, bottoms: [t], tops }));
      renamed.set(t, [...tops]);
      const dims = net.shapes.get(t);
      if (dims) for (const s of tops) net.shapes.set(s, dims);
      const source = net.sources.get(t);
      if (source) for (const s of tops) net.sources.set(s, source);
      added++;
    }
  }
  net.layers = out;
  return added;
}
