/**
 * Crops of one blob along one axis that cut it into consecutive pieces (torch's chunk exported
 * as Slices: ShuffleNetV2's channel split) -> one Slice layer, without the Split they would need.
 */
import { p } from '../net.js';
import type { Layer } from '../net.js';
import type { NetPass } from './pass.js';
import { readers, removeLayers } from './graph.js';

function cropOf(l: Layer): { axis: number; start: number; end: number } | undefined {
  const s = l.params.get(9);
  const e = l.params.get(10);
  const a = l.params.get(11);
  if (l.type !== 'Crop' || s?.type !== 'ints' || e?.type !== 'ints' || a?.type !== 'ints' || a.value.length !== 1 || l.params.size !== 3) return undefined;
  return { axis: a.value[0]!, start: s.value[0]!, end: e.value[0]! };
}

export const fuseCropsIntoSlice: NetPass = {
  name: 'fuse-crops-into-slice',
  description: 'Crops that cut a blob into consecutive pieces along one axis -> one Slice',
  run(net, outputs) {
    let changes = 0;
    for (const blob of [...net.blobs()]) {
      const crops = readers(net, blob);
      if (crops.length < 2 || outputs.has(blob)) continue;
      const parts = crops.map((c) => ({ c, s: cropOf(c) }));
      if (parts.some((x) => !x.s || x.c.bottoms.length !== 1)) continue;
      const axis = parts[0]!.s!.axis;
      const dims = net.shapes.get(blob);
      if (!dims || parts.some((x) => x.s!.axis !== axis)) continue;
      parts.sort((a, b) => a.s!.start - b.s!.start);
      let at = 0;
      let ok = true;
      for (const x of parts) {
        if (x.s!.start !== at) ok = false;
        at = x.s!.end;
      }
      if (!ok || at !== dims[axis]) continue;
      const first = parts[0]!.c;
      const slice: Layer = { ...first, type: 'Slice', tops: parts.map((x) => x.c.tops[0]!), params: new Map([[0, p.ints(parts.map((x) => x.s!.end - x.s!.start))], [1, p.int(axis)]]), weights: [] };
      const at0 = Math.min(...parts.map((x) => net.layers.indexOf(x.c)));
      removeLayers(net, parts.map((x) => x.c));
      net.layers.splice(at0, 0, slice);
      changes++;
    }
    return changes;
  },
};
