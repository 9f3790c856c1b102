/**
 * Reshape(Reshape(x, s1), s2) is Reshape(x, s2): the second reads x directly (the first goes once
 * nothing else reads it). Safe when s2 has no 0 entry (with allowzero=0 a 0 copies a dim of the
 * Reshape's input, which changes), i.e. every entry of s2 is a known non-zero number, or a
 * symbolic dim at an index where x and the intermediate have the same dim.
 */
import type { Pass } from './pass.js';
import { isOp } from './util.js';

export const fuseReshapes: Pass = {
  name: 'fuse-reshapes',
  description: 'merge consecutive Reshapes into one',
  run(model, context) {
    const g = model.graph;
    let changes = 0;
    for (const second of g.nodes) {
      if (!isOp(second, 'Reshape') || !second.graph || second.inputs.length < 2) continue;
      const mid = second.inputs[0]!;
      const first = g.producer(mid);
      if (!first || !isOp(first, 'Reshape') || first.inputs.length < 2) continue;
      const x = first.inputs[0]!;
      const spec = context.facts().get(second.inputs[1]!)?.value;
      if (!spec) continue;
      const xs = context.facts().get(x)?.shape;
      const ms = context.facts().get(mid)?.shape;
      const allowZero = second.getInt('allowzero', 0) === 1;
      const safe = allowZero || spec.every((d, i) => (typeof d === 'number' ? d !== 0 : d !== null && xs?.[i] !== undefined && xs[i] !== null && xs[i] === ms?.[i]));
      if (!safe) continue;
      second.setInput(0, x);
      if (!g.isUsed(mid)) g.removeNode(first);
      changes++;
    }
    return changes;
  },
};
