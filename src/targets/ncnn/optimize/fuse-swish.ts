/** x * Sigmoid(x) -> Swish (SiLU), one layer instead of two. */
import type { Layer } from '../net.js';
import type { NetPass } from './pass.js';
import { removeLayers, soleReader } from './graph.js';

export const fuseSwish: NetPass = {
  name: 'fuse-swish',
  description: 'x * sigmoid(x) -> Swish',
  run(net, outputs) {
    let changes = 0;
    for (const sig of [...net.layers]) {
      if (sig.type !== 'Sigmoid' || !net.layers.includes(sig)) continue;
      const x = sig.bottoms[0]!;
      const mul = soleReader(net, sig.tops[0]!, outputs);
      if (!mul || mul.type !== 'BinaryOp' || mul.params.get(1)?.value === 1 || Number(mul.params.get(0)?.value ?? 0) !== 2 || mul.bottoms.length !== 2 || !mul.bottoms.includes(x)) continue;
      const swish: Layer = { ...sig, type: 'Swish', tops: [...mul.tops], params: new Map() };
      net.layers[net.layers.indexOf(sig)] = swish;
      removeLayers(net, [mul]);
      changes++;
    }
    return changes;
  },
};
