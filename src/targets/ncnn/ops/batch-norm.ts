/**
 * BatchNormalization (inference) -> BatchNorm: slope, mean, var + epsilon, bias, all raw fp32,
 * as onnx2ncnn writes them. Usually fused into the Conv before it by then (simplify's
 * fuse-bn-into-conv); this is for the ones that are not.
 */
import { floatWeight, p } from '../net.js';
import type { OpConverter } from './op.js';

export const batchNorm: OpConverter = {
  ops: ['BatchNormalization'],
  convert(node, ctx) {
    if (node.outputs.filter(Boolean).length > 1) throw ctx.unsupported(node, 'is in training mode (it has running-statistics outputs)');
    const eps = node.getFloat('epsilon', 1e-5);
    const [scale, bias, mean, v] = [1, 2, 3, 4].map((i) => ctx.floats(node, i, ['scale', 'B', 'mean', 'var'][i - 1]!)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const x = ctx.layout(node.inputs[0]!, node);
    const keep = [...x.keep];
    keep[1] = true;
    const bottom = ctx.input(node, 0, keep);
    if (ctx.axis(node, { shape: x.shape, keep }, 1) !== 0) throw ctx.unsupported(node, 'normalizes an axis that is not the outermost of its ncnn blob');
    const top = ctx.top(node, 0, keep);
    ctx.add({
      type: 'BatchNorm', name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top], params: [[0, p.int(scale.length)], [1, p.float(0)]],
      weights: [floatWeight(scale, false), floatWeight(mean, false), floatWeight(v.map((x) => x + eps), false), floatWeight(bias, false)],
    });
  },
};
