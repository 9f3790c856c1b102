/** Constant nodes become initializers: fewer nodes, and every later pass sees one kind of constant. */
import type { Pass } from './pass.js';
import { allGraphs, allowInitializers, constantNodeTensor, isOp } from './util.js';

export const constantToInitializer: Pass = {
  name: 'constant-to-initializer',
  description: 'turn Constant nodes into initializers',
  run(model) {
    let changes = 0;
    for (const g of allGraphs(model)) {
      for (const n of g.nodes) {
        if (!isOp(n, 'Constant')) continue;
        const out = n.outputs[0];
        const tensor = constantNodeTensor(n);
        // A subgraph output stays a node output: ONNX Runtime has had trouble with subgraph outputs that are initializers.
        if (!out || !tensor || g.initializers.has(out) || g.isInput(out) || (g !== model.graph && g.isOutput(out))) continue;
        g.removeNode(n);
        g.addInitializer(tensor);
        changes++;
      }
    }
    if (changes) allowInitializers(model);
    return changes;
  },
};
