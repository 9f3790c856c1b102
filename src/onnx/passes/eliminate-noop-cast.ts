/** A Cast to the type its input already has does nothing: it goes. Needs the input's type (shape inference). */
import type { Pass } from './pass.js';
import { forwardValue, isOp } from './util.js';

export const eliminateNoopCast: Pass = {
  name: 'eliminate-noop-cast',
  description: 'remove Cast to the type the input already has',
  run(model, context) {
    const g = model.graph;
    let changes = 0;
    for (const n of g.nodes) {
      if (!isOp(n, 'Cast')) continue;
      const input = n.inputs[0] ?? '';
      const type = context.facts().get(input)?.elemType;
      if (type === undefined || n.getInt('to', -1) !== type) continue;
      if (forwardValue(g, n, input)) changes++;
    }
    return changes;
  },
};
