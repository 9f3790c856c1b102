/**
 * MatMul(A, B) + C becomes Gemm(A, B, C) when A and B are 2-D (shape inference), C is [N],
 * [1, N] or [M, N] (Gemm broadcasts C one way only), the type is a float type, and nothing else
 * reads the MatMul's output. The Gemm takes the Add's place (C may be computed after the MatMul).
 */
import { DataType } from '../ir/data-type.js';
import type { Pass } from './pass.js';
import { isOp, soleConsumer } from './util.js';

const GEMM_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]);

export const fuseMatmulAddIntoGemm: Pass = {
  name: 'fuse-matmul-add-into-gemm',
  description: 'turn a 2-D MatMul followed by Add of a bias into Gemm',
  run(model, context) {
    const g = model.graph;
    if ((model.opset('') ?? 0) < 7) return 0;
    let changes = 0;
    for (const add of g.nodes) {
      if (!isOp(add, 'Add') || !add.graph || add.inputs.length !== 2) continue;
      for (const side of [0, 1]) {
        const m = add.inputs[side]!;
        const mm = g.producer(m);
        if (!mm || !isOp(mm, 'MatMul') || !soleConsumer(g, m, add)) continue;
        const [a, b] = mm.inputs as [string, string];
        const c = add.inputs[1 - side]!;
        const sa = context.facts().get(a)?.shape;
        const sb = context.facts().get(b)?.shape;
        const sc = context.facts().get(c)?.shape;
        const type = context.facts().get(a)?.elemType;
        if (!sa || !sb || !sc || sa.length !== 2 || sb.length !== 2 || type === undefined || !GEMM_TYPES.has(type)) continue;
        if (context.facts().get(c)?.elemType !== type) continue;
        const n = sb[1];
        const fits = typeof n === 'number' && (
          (sc.length === 1 && sc[0] === n) || (sc.length === 2 && sc[0] === 1 && sc[1] === n) ||
          (sc.length === 2 && sc[0] !== null && sc[0] === sa[0] && sc[1] === n));
        if (!fits) continue;
        g.replaceNode(add, { opType: 'Gemm', name: mm.name, inputs: [a, b, c], outputs: [add.outputs[0]!] });
        g.removeNode(mm);
        changes++;
        break;
      }
    }
    return changes;
  },
};
