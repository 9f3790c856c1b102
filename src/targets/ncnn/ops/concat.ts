/** Concat -> Concat along the ncnn axis of the ONNX axis; every input in the output's layout. */
import { p } from '../net.js';
import type { OpConverter } from './op.js';

export const concat: OpConverter = {
  ops: ['Concat'],
  convert(node, ctx) {
    const out = ctx.shape(node.outputs[0]!, node);
    const axis = ctx.onnxAxis(node, out.length, node.getInt('axis'));
    const inputs = node.inputs.filter(Boolean);
    // keep an axis when any input keeps it, and always the concat axis
    const keep = out.map((_, i) => i === axis || inputs.some((v) => !ctx.constant(v) && ctx.layout(v, node).keep[i]));
    const bottoms = node.inputs.map((v, i) => (v ? ctx.input(node, i, keep) : '')).filter(Boolean);
    const top = ctx.top(node, 0, keep);
    ctx.add({ type: 'Concat', name: ctx.nodeLayerName(node), bottoms, tops: [top], params: [[0, p.int(ctx.axis(node, { shape: out, keep }, axis))]] });
  },
};
