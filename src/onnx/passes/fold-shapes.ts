/**
 * Shape arithmetic whose result is fixed becomes initializers: a Shape of a value with static
 * dims, and the Gather / Unsqueeze / Concat / Slice / Cast / arithmetic on it, as far as shape
 * inference (../shape-inference.ts) can follow the values. With --input-shape fixing the inputs'
 * dims, `Shape -> Gather -> Unsqueeze -> Concat -> Reshape` chains reduce to a Reshape by a
 * constant; dims that stay symbolic (a dynamic batch) leave only the parts that need them.
 *
 * Only integer values are folded here (float arithmetic is left to fold-constants, which runs
 * it on ONNX Runtime and so rounds as the model would).
 */
import { Tensor } from '../ir/tensor.js';
import { DataType } from '../ir/data-type.js';
import type { ValueFacts } from '../shape-inference.js';
import type { Pass } from './pass.js';
import { allowInitializers, isOp } from './util.js';

const FOLDABLE_TYPES: ReadonlySet<number> = new Set([DataType.INT64, DataType.INT32]);

export const foldShapes: Pass = {
  name: 'fold-shapes',
  description: 'replace Shape and the shape arithmetic on it by constants where shapes are static',
  run(model, context) {
    const g = model.graph;
    const facts = context.facts();
    let changes = 0;
    for (const n of g.nodes) {
      if (isOp(n, 'Constant') || n.hasSubgraphs || n.outputs.length === 0) continue;
      const used = n.outputs.filter((out) => out && g.isUsed(out));
      const tensors = used.map((out) => toTensor(out, facts.get(out)));
      if (used.length === 0 || tensors.some((t) => t === undefined)) continue;
      g.removeNode(n);
      for (const t of tensors) g.addInitializer(t!);
      changes++;
    }
    if (changes) allowInitializers(model);
    return changes;
  },
};

function toTensor(name: string, f: ValueFacts | undefined): Tensor | undefined {
  if (!f?.value || !f.shape || f.elemType === undefined || !FOLDABLE_TYPES.has(f.elemType)) return undefined;
  if (!f.value.every((d) => typeof d === 'number' && Number.isSafeInteger(d))) return undefined;
  const dims = f.shape as number[];
  const values = f.value as number[];
  return f.elemType === DataType.INT64
    ? Tensor.fromArray({ name, dims, data: BigInt64Array.from(values, BigInt) })
    : Tensor.fromArray({ name, dims, data: Int32Array.from(values) });
}
