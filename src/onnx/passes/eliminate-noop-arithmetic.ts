/**
 * x + 0, 0 + x, x - 0, x * 1, 1 * x and x / 1 go, when the constant is all zeros (ones) and does
 * not broadcast x to a larger shape: a scalar, or (with shape inference) no larger than x.
 * (x + 0 turns -0 into +0: no output compares differently.)
 */
import type { Pass } from './pass.js';
import { constantTensor, forwardValue, isOp } from './util.js';

/** Which side may hold the constant, and the constant that does nothing. */
const NEUTRAL: Readonly<Record<string, { value: number; sides: readonly number[] }>> = {
  Add: { value: 0, sides: [0, 1] },
  Sub: { value: 0, sides: [1] },
  Mul: { value: 1, sides: [0, 1] },
  Div: { value: 1, sides: [1] },
};

export const eliminateNoopArithmetic: Pass = {
  name: 'eliminate-noop-arithmetic',
  description: 'remove Add/Sub of 0 and Mul/Div by 1',
  run(model, context) {
    const g = model.graph;
    let changes = 0;
    for (const n of g.nodes) {
      if (!isOp(n, 'Add', 'Sub', 'Mul', 'Div') || n.inputs.length !== 2 || !n.graph) continue;
      const { value, sides } = NEUTRAL[n.opType]!;
      for (const side of sides) {
        const c = constantTensor(g, n.inputs[side]!);
        const x = n.inputs[1 - side]!;
        if (!c || c.elementCount > 4096 || c.isExternal) continue;
        let values: number[];
        try {
          values = c.numbers();
        } catch {
          continue;
        }
        if (!values.every((v) => v === value)) continue;
        const xf = context.facts().get(x);
        const out = context.facts().get(n.outputs[0] ?? '');
        if (xf?.elemType !== undefined && xf.elemType !== c.dataType) continue;
        const keepsShape = c.dims.length === 0 || (xf?.shape !== undefined && out?.shape !== undefined &&
          xf.shape.length === out.shape.length && xf.shape.every((d, i) => d !== null && d === out.shape![i]));
        if (!keepsShape) continue;
        if (forwardValue(g, n, x)) {
          changes++;
          break;
        }
      }
    }
    return changes;
  },
};
