/**
 * Initializers nothing reads go (with the graph input of the same name, in models that list
 * initializers as inputs: an input nothing reads cannot change any output).
 */
import type { Pass } from './pass.js';
import { allGraphs } from './util.js';

export const eliminateUnusedInitializers: Pass = {
  name: 'eliminate-unused-initializers',
  description: 'remove initializers nothing reads',
  run(model) {
    let changes = 0;
    for (const g of allGraphs(model)) {
      const dropInputs = new Set<string>();
      for (const name of [...g.initializers.keys()]) {
        if (g.isUsed(name)) continue;
        g.removeInitializer(name);
        if (g.isInput(name)) dropInputs.add(name);
        changes++;
      }
      if (dropInputs.size) g.inputs = g.inputs.filter((v) => !dropInputs.has(v.name));
    }
    return changes;
  },
};
