/**
 * Dropout is the identity at inference: it goes, unless its mask output is read or it is in
 * training mode (a training_mode input that is not a constant false, or is_test=0 before opset 7).
 */
import type { Pass } from './pass.js';
import { allGraphs, constantTensor, forwardValue, isOp } from './util.js';

export const eliminateDropout: Pass = {
  name: 'eliminate-dropout',
  description: 'remove Dropout (inference mode: the identity) whose mask is unused',
  run(model) {
    let changes = 0;
    for (const g of allGraphs(model)) {
      for (const n of g.nodes) {
        if (!isOp(n, 'Dropout')) continue;
        if (n.attribute('is_test') && n.getInt('is_test') === 0) continue;
        const training = n.inputs[2];
        if (training) {
          const t = constantTensor(g, training);
          if (!t || t.elementCount !== 1 || t.numbers()[0] !== 0) continue;
        }
        if (forwardValue(g, n, n.inputs[0] ?? '')) changes++;
      }
    }
    return changes;
  },
};
