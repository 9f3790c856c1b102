/** Identity nodes go: their readers read the Identity's input (graph outputs keep their names). */
import type { Pass } from './pass.js';
import { allGraphs, forwardValue, isOp } from './util.js';

export const eliminateIdentity: Pass = {
  name: 'eliminate-identity',
  description: 'remove Identity nodes',
  run(model) {
    let changes = 0;
    for (const g of allGraphs(model)) {
      for (const n of g.nodes) {
        if (isOp(n, 'Identity') && forwardValue(g, n, n.inputs[0] ?? '')) changes++;
      }
    }
    return changes;
  },
};
