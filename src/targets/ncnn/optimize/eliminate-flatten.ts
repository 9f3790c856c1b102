/**
 * A Flatten (or a Reshape to 1-D) whose only reader is an InnerProduct goes: InnerProduct
 * flattens a 1-, 3- or 4-D input itself, in the same c, h, w order (ncnnoptimize's
 * eliminate_flatten_after_global_pooling and friends). A 2-D input is kept flattened: an
 * InnerProduct maps 2-D inputs row by row.
 */
import type { NetPass } from './pass.js';
import { removeLayers, soleReader } from './graph.js';

export const eliminateFlatten: NetPass = {
  name: 'eliminate-flatten',
  description: 'drop a Flatten before an InnerProduct, which flattens its input itself',
  run(net, outputs) {
    let changes = 0;
    for (const f of [...net.layers]) {
      const out = net.shapes.get(f.tops[0] ?? '');
      if ((f.type !== 'Flatten' && f.type !== 'Reshape') || out?.length !== 1) continue;
      const dims = net.shapes.get(f.bottoms[0]!);
      if (!dims || dims.length === 2) continue;
      const ip = soleReader(net, f.tops[0]!, outputs);
      if (!ip || ip.type !== 'InnerProduct') continue;
      ip.bottoms = ip.bottoms.map((b) => (b === f.tops[0] ? f.bottoms[0]! : b));
      removeLayers(net, [f]);
      changes++;
    }
    return changes;
  },
};
