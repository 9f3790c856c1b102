/**
 * A Reshape to the shape its input already has does nothing: it goes. Needs both shapes from
 * shape inference: equal, dim by dim (numbers, or the same symbolic name).
 */
import type { Pass } from './pass.js';
import { forwardValue, isOp } from './util.js';

export const eliminateNoopReshape: Pass = {
  name: 'eliminate-noop-reshape',
  description: 'remove Reshape to the shape the input already has',
  run(model, context) {
    const g = model.graph;
    let changes = 0;
    for (const n of g.nodes) {
      if (!isOp(n, 'Reshape')) continue;
      const input = n.inputs[0] ?? '';
      const from = context.facts().get(input)?.shape;
      const to = context.facts().get(n.outputs[0] ?? '')?.shape;
      if (!from || !to || from.length !== to.length) continue;
      if (!from.every((d, i) => d !== null && d === to[i])) continue;
      if (forwardValue(g, n, input)) changes++;
    }
    return changes;
  },
};
