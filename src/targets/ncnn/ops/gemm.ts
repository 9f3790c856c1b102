/**
 * Gemm(A, B, C) with constant B (and C) -> InnerProduct; alpha and beta are folded into the
 * weights, transB=0 weights transposed. A transposed or computed B is refused.
 */
import { innerProduct, transpose2d } from './inner-product.js';
import type { OpConverter } from './op.js';

export const gemm: OpConverter = {
  ops: ['Gemm'],
  convert(node, ctx) {
    if (node.getInt('transA', 0)) throw ctx.unsupported(node, 'has transA=1; ferry writes Gemm as an InnerProduct of an untransposed A');
    const b = ctx.constant(node.inputs[1] ?? '');
    if (!b || b.dims.length !== 2) throw ctx.unsupported(node, 'multiplies by a B computed at run time; ncnn needs a constant 2-D B');
    const alpha = node.getFloat('alpha', 1);
    const beta = node.getFloat('beta', 1);
    const transB = node.getInt('transB', 0);
    let w = ctx.floats(node, 1, 'B');
    const [r, c] = b.dims as [number, number];
    if (!transB) w = transpose2d(w, r, c);
    const n = transB ? r : c;
    if (alpha !== 1) for (let i = 0; i < w.length; i++) w[i]! *= alpha;
    let bias: Float32Array | undefined;
    if (node.inputs[2]) {
      const cv = ctx.floats(node, 2, 'C');
      if (cv.length !== n && cv.length !== 1) throw ctx.unsupported(node, `has a C of ${cv.length} values; ncnn's InnerProduct takes one bias per output (${n})`);
      bias = cv.length === n ? cv : new Float32Array(n).fill(cv[0]!);
      if (beta !== 1) for (let i = 0; i < n; i++) bias[i]! *= beta;
    }
    innerProduct(node, ctx, w, n, bias);
  },
};
