/**
 * A mean or max Reduction over the h and w of a [C, H, W] blob, dims not kept -> global
 * Pooling (ncnnoptimize's replace_reduction_with_global_pooling): the same [C], faster.
 */
import { p } from '../net.js';
import type { Layer } from '../net.js';
import type { NetPass } from './pass.js';

export const reductionToPooling: NetPass = {
  name: 'reduction-to-pooling',
  description: 'mean/max over H and W -> global Pooling',
  run(net) {
    let changes = 0;
    net.layers = net.layers.map((l): Layer => {
      const op = l.params.get(0)?.value;
      const axes = l.params.get(3);
      if (l.type !== 'Reduction' || (op !== 3 && op !== 4) || (l.params.get(4)?.value ?? 0) !== 0 || axes?.type !== 'ints') return l;
      if (net.shapes.get(l.bottoms[0]!)?.length !== 3 || [...axes.value].sort().join() !== '1,2' || (l.params.get(2) && l.params.get(2)!.value !== 1)) return l;
      changes++;
      return { ...l, type: 'Pooling', params: new Map([[0, p.int(op === 3 ? 1 : 0)], [4, p.int(1)]]) };
    });
    return changes;
  },
};
