/**
 * Nodes none of whose outputs is read (by a node, a subgraph, or as a graph output) go, in
 * reverse order so that a dead chain goes in one run. ONNX ops have no side effects, so an
 * unread result is never needed.
 */
import type { Pass } from './pass.js';
import { allGraphs } from './util.js';

export const eliminateDeadNodes: Pass = {
  name: 'eliminate-dead-nodes',
  description: 'remove nodes whose outputs nothing reads',
  run(model) {
    let changes = 0;
    for (const g of allGraphs(model).reverse()) { // inner graphs first: their captures then read true
      const nodes = g.nodes;
      for (let i = nodes.length - 1; i >= 0; i--) {
        const n = nodes[i]!;
        if (n.outputs.some((v) => v && g.isUsed(v))) continue;
        g.removeNode(n);
        changes++;
      }
    }
    return changes;
  },
};
