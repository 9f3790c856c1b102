/** Split -> Slice (slices array along the ncnn axis). */
import { p } from '../net.js';
import type { OpConverter } from './op.js';

export const split: OpConverter = {
  ops: ['Split'],
  convert(node, ctx) {
    const x = ctx.layout(node.inputs[0]!, node);
    const axis = ctx.onnxAxis(node, x.shape.length, node.getInt('axis', 0));
    const keep = [...x.keep];
    keep[axis] = true;
    const bottom = ctx.input(node, 0, keep);
    const slices = node.outputs.map((o) => ctx.shape(o, node)[axis]!);
    const tops = node.outputs.map((_, i) => ctx.top(node, i, keep));
    ctx.add({
      type: 'Slice', name: ctx.nodeLayerName(node), bottoms: [bottom], tops,
      params: [[0, p.ints(slices)], [1, p.int(ctx.axis(node, { shape: x.shape, keep }, axis))]],
    });
  },
};
