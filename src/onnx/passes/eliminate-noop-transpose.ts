/** A Transpose whose perm is the identity (0, 1, ..., n-1) does nothing: it goes. */
import type { Pass } from './pass.js';
import { allGraphs, forwardValue, isOp } from './util.js';

export function isIdentityPerm(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

export const eliminateNoopTranspose: Pass = {
  name: 'eliminate-noop-transpose',
  description: 'remove Transpose with the identity permutation',
  run(model, context) {
    let changes = 0;
    for (const g of allGraphs(model)) {
      for (const n of g.nodes) {
        if (!isOp(n, 'Transpose')) continue;
        const input = n.inputs[0] ?? '';
        // Without perm, Transpose reverses the axes: the identity for rank 0 and 1 only.
        const rank = () => (g === model.graph ? context.facts().get(input)?.shape?.length : undefined) ?? Infinity;
        const noop = n.attribute('perm') ? isIdentityPerm(n.getInts('perm')) : rank() <= 1;
        if (noop && forwardValue(g, n, input)) changes++;
      }
    }
    return changes;
  },
};
