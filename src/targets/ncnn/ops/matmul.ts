/**
 * MatMul -> InnerProduct when B is a constant 2-D matrix (its bias Add is fused later, as
 * ncnnoptimize's fuse_innerproduct_add does), else ncnn's MatMul of two blobs of the same rank.
 */
import { innerProduct, transpose2d } from './inner-product.js';
import type { OpConverter } from './op.js';

export const matmul: OpConverter = {
  ops: ['MatMul'],
  convert(node, ctx) {
    const b = ctx.constant(node.inputs[1] ?? '');
    if (b) {
      if (b.dims.length !== 2) throw ctx.unsupported(node, `multiplies by a constant of rank ${b.dims.length}; ferry writes constant MatMuls as InnerProduct (2-D B)`);
      const [k, n] = b.dims as [number, number];
      innerProduct(node, ctx, transpose2d(ctx.floats(node, 1, 'B'), k, n), n, undefined);
      return;
    }
    const a = ctx.layout(node.inputs[0]!, node);
    const bl = ctx.layout(node.inputs[1]!, node);
    if (ctx.constant(node.inputs[0]!) || a.shape.length !== bl.shape.length || a.shape.length < 2) {
      throw ctx.unsupported(node, `multiplies [${a.shape.join(',')}] by [${bl.shape.join(',')}]; ferry writes MatMul of two run-time values of the same rank (>= 2)`);
    }
    const keep = a.shape.map((d, i) => i >= a.shape.length - 2 || d !== 1 || bl.shape[i] !== 1 || (a.keep[i] ?? false));
    const bottoms = [ctx.input(node, 0, keep), ctx.input(node, 1, keep)];
    const top = ctx.top(node, 0, keep);
    ctx.add({ type: 'MatMul', name: ctx.nodeLayerName(node), bottoms, tops: [top], params: [] });
  },
};
