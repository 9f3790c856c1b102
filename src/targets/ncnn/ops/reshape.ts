/**
 * Reshape, Flatten, Squeeze, Unsqueeze: the output dims are static, so each becomes a Reshape
 * to the output's ncnn dims (or a Flatten to 1-D, or nothing when the ncnn dims do not change:
 * a Flatten after global pooling, a Squeeze of the batch axis).
 */
import { defaultKeep, ncnnDims, reshapeParams } from '../context.js';
import type { OpConverter } from './op.js';

export const reshape: OpConverter = {
  ops: ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'],
  convert(node, ctx) {
    const x = ctx.layout(node.inputs[0]!, node);
    const outShape = ctx.shape(node.outputs[0]!, node);
    const keep = defaultKeep(outShape);
    const have = ncnnDims(x);
    const want = ncnnDims({ shape: outShape, keep });
    if (have.length === want.length && have.every((d, i) => d === want[i])) {
      ctx.alias(node, 0, 0);
      return;
    }
    const bottom = ctx.input(node, 0);
    const top = ctx.top(node, 0, keep);
    const name = ctx.nodeLayerName(node);
    if (want.length === 1) ctx.add({ type: 'Flatten', name, bottoms: [bottom], tops: [top], params: [] });
    else ctx.add({ type: 'Reshape', name, bottoms: [bottom], tops: [top], params: reshapeParams(want) });
  },
};
