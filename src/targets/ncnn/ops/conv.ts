/**
 * Conv -> Convolution (group 1) or ConvolutionDepthWise (group > 1), as onnx2ncnn writes them:
 * weight [out, in/group, kh, kw] tagged, bias raw. A 1x1 Conv of a pooled [C] blob (an SE
 * block after global pooling) becomes an InnerProduct, as ncnnoptimize's
 * replace_convolution_with_innerproduct_after_global_pooling does.
 */
import type { Node } from '../../../onnx/ir/node.js';
import type { ConvertContext } from '../context.js';
import type { Param } from '../net.js';
import { floatWeight, p } from '../net.js';
import type { OpConverter } from './op.js';

/** Kernel, stride, dilation and pad params shared by Convolution and Deconvolution. */
export function windowParams(node: Node, ctx: ConvertContext, kernel: readonly number[]): [number, Param][] {
  if (kernel.length !== 2) throw ctx.unsupported(node, `has a ${kernel.length}-D kernel; ferry writes 2-D convolutions`);
  const [dh, dw] = node.getInts('dilations', [1, 1]);
  const [sh, sw] = node.getInts('strides', [1, 1]);
  const pads = node.getInts('pads', [0, 0, 0, 0]);
  const autoPad = node.getString('auto_pad', 'NOTSET');
  const out: [number, Param][] = [[1, p.int(kernel[1]!)], [11, p.int(kernel[0]!)], [2, p.int(dw!)], [12, p.int(dh!)], [3, p.int(sw!)], [13, p.int(sh!)]];
  if (autoPad === 'SAME_UPPER') out.push([4, p.int(-233)]);
  else if (autoPad === 'SAME_LOWER') out.push([4, p.int(-234)]);
  else out.push([4, p.int(pads[1]!)], [14, p.int(pads[0]!)], [15, p.int(pads[3]!)], [16, p.int(pads[2]!)]);
  return out;
}

export const conv: OpConverter = {
  ops: ['Conv'],
  convert(node, ctx) {
    const w = ctx.constant(node.inputs[1] ?? '');
    if (!w) throw ctx.unsupported(node, 'has weights computed at run time; ncnn needs constant weights');
    const [out, inPerGroup] = w.dims as [number, number];
    const kernel = w.dims.slice(2);
    const group = node.getInt('group', 1);
    const weight = ctx.floats(node, 1, 'weight');
    const bias = node.inputs[2] ? ctx.floats(node, 2, 'bias') : undefined;
    const x = ctx.layout(node.inputs[0]!, node);
    const name = ctx.nodeLayerName(node);
    const pointwise = kernel.every((k) => k === 1) && node.getInts('pads', [0, 0, 0, 0]).every((v) => v === 0) && group === 1;
    const pooled = x.shape.length === 4 && x.shape[2] === 1 && x.shape[3] === 1;
    if (pointwise && pooled && x.keep.filter(Boolean).length === 1 && x.keep[1]) {
      // [C] from global pooling: an InnerProduct keeps it 1-D.
      const bottom = ctx.input(node, 0);
      const top = ctx.top(node, 0, x.keep);
      ctx.add({
        type: 'InnerProduct', name, bottoms: [bottom], tops: [top],
        params: [[0, p.int(out)], [1, p.int(bias ? 1 : 0)], [2, p.int(weight.length)]],
        weights: [floatWeight(weight, true), ...(bias ? [floatWeight(bias, false)] : [])],
      });
      return;
    }
    if (x.shape.length !== 4) throw ctx.unsupported(node, `has a rank-${x.shape.length} input; ferry writes 2-D convolutions (N, C, H, W)`);
    const keep = [false, true, true, true];
    const bottom = ctx.input(node, 0, keep);
    const top = ctx.top(node, 0, keep);
    const params: [number, Param][] = [[0, p.int(out)], ...windowParams(node, ctx, kernel), [5, p.int(bias ? 1 : 0)], [6, p.int(weight.length)]];
    if (group > 1) params.push([7, p.int(group)]);
    if (inPerGroup * group !== x.shape[1]) throw ctx.unsupported(node, `has weights for ${inPerGroup * group} input channels, its input has ${x.shape[1]}`);
    ctx.add({
      type: group > 1 ? 'ConvolutionDepthWise' : 'Convolution', name, bottoms: [bottom], tops: [top], params,
      weights: [floatWeight(weight, true), ...(bias ? [floatWeight(bias, false)] : [])],
    });
  },
};
