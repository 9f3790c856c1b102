/**
 * Transpose(Transpose(x, p1), p2) is Transpose(x, q) with q[i] = p1[p2[i]]: the second reads x
 * directly; the first goes once nothing else reads it, and the fused one goes if q is the identity.
 */
import { attr } from '../ir/attribute.js';
import type { Pass } from './pass.js';
import { allGraphs, forwardValue, isOp } from './util.js';
import { isIdentityPerm } from './eliminate-noop-transpose.js';

export const fuseTransposes: Pass = {
  name: 'fuse-transposes',
  description: 'merge consecutive Transposes into one (none when they cancel)',
  run(model) {
    let changes = 0;
    for (const g of allGraphs(model)) {
      for (const second of g.nodes) {
        if (!isOp(second, 'Transpose') || !second.attribute('perm') || !second.graph) continue;
        const first = g.producer(second.inputs[0] ?? '');
        if (!first || !isOp(first, 'Transpose') || !first.attribute('perm')) continue;
        const p1 = first.getInts('perm');
        const p2 = second.getInts('perm');
        if (p1.length !== p2.length) continue;
        const q = p2.map((i) => p1[i]!);
        const source = first.inputs[0] ?? '';
        second.setInput(0, source);
        second.setAttribute('perm', attr.ints(q));
        if (!g.isUsed(first.outputs[0] ?? '')) g.removeNode(first);
        if (isIdentityPerm(q)) forwardValue(g, second, source);
        changes++;
      }
    }
    return changes;
  },
};
