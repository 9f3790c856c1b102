/**
 * Softmax -> Softmax along the ncnn axis (fixbug0=1, the fixed axis handling). Before opset 13
 * ONNX softmaxes the input flattened from `axis` on, which is the same only when `axis` is the
 * last axis of size > 1.
 */
import { p } from '../net.js';
import type { OpConverter } from './op.js';

export const softmax: OpConverter = {
  ops: ['Softmax'],
  convert(node, ctx) {
    const x = ctx.layout(node.inputs[0]!, node);
    const rank = x.shape.length;
    const opset = ctx.opset;
    const axis = ctx.onnxAxis(node, rank, node.getInt('axis', opset >= 13 ? -1 : 1));
    if (opset < 13 && x.shape.slice(axis + 1).some((d) => d !== 1)) throw ctx.unsupported(node, `(opset ${opset}) normalizes axes ${axis}..${rank - 1} together; ncnn's Softmax takes one axis`);
    const keep = [...x.keep];
    keep[axis] = true;
    const bottom = ctx.input(node, 0, keep);
    const top = ctx.top(node, 0, keep);
    ctx.add({ type: 'Softmax', name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top], params: [[0, p.int(ctx.axis(node, { shape: x.shape, keep }, axis))], [1, p.int(1)]] });
  },
};
