/**
 * Reshape [C, H, W] -> [g, C/g, H, W], Permute swapping the two outer axes, Reshape back to
 * [C, H, W]: ShuffleNet's channel shuffle, one ShuffleChannel (group g) as onnx2ncnn's
 * fuse_shufflechannel makes it.
 */
import { p } from '../net.js';
import type { Layer } from '../net.js';
import type { NetPass } from './pass.js';
import { removeLayers, soleReader } from './graph.js';

/** Permute order_type 6 (WHCD): the output's c and d are the input's d and c. */
const SWAP_OUTER = 6;

export const fuseShuffleChannel: NetPass = {
  name: 'fuse-shuffle-channel',
  description: 'reshape-permute-reshape channel shuffles -> ShuffleChannel',
  run(net, outputs) {
    let changes = 0;
    for (const r1 of [...net.layers]) {
      if (r1.type !== 'Reshape' || !net.layers.includes(r1)) continue;
      const x = r1.bottoms[0]!;
      const inDims = net.shapes.get(x);
      const mid = net.shapes.get(r1.tops[0]!);
      if (!inDims || !mid || inDims.length !== 3 || mid.length !== 4) continue;
      const [c, h, w] = inDims as [number, number, number];
      const [g, cg, h2, w2] = mid as [number, number, number, number];
      if (g * cg !== c || h2 !== h || w2 !== w) continue;
      const perm = soleReader(net, r1.tops[0]!, outputs);
      if (!perm || perm.type !== 'Permute' || perm.params.get(0)?.value !== SWAP_OUTER) continue;
      const r2 = soleReader(net, perm.tops[0]!, outputs);
      const outDims = r2 ? net.shapes.get(r2.tops[0]!) : undefined;
      if (!r2 || (r2.type !== 'Reshape' && r2.type !== 'Flatten') || !outDims || outDims.join() !== inDims.join()) continue;
      const shuffle: Layer = { ...r1, type: 'ShuffleChannel', tops: [...r2.tops], params: new Map([[0, p.int(g)], [1, p.int(0)]]) };
      net.layers[net.layers.indexOf(r1)] = shuffle;
      removeLayers(net, [perm, r2]);
      changes++;
    }
    return changes;
  },
};
