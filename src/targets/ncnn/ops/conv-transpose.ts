/**
 * ConvTranspose -> Deconvolution (group 1) or DeconvolutionDepthWise: ONNX's weight
 * [in, out/group, kh, kw] reordered to ncnn's [out, in] per group, as onnx2ncnn does.
 */
import type { Param } from '../net.js';
import { floatWeight, p } from '../net.js';
import { windowParams } from './conv.js';
import type { OpConverter } from './op.js';

export const convTranspose: OpConverter = {
  ops: ['ConvTranspose'],
  convert(node, ctx) {
    const w = ctx.constant(node.inputs[1] ?? '');
    if (!w) throw ctx.unsupported(node, 'has weights computed at run time; ncnn needs constant weights');
    const group = node.getInt('group', 1);
    const [inChannels, outPerGroup] = w.dims as [number, number];
    const kernel = w.dims.slice(2);
    const maxk = kernel.reduce((a, b) => a * b, 1);
    const src = ctx.floats(node, 1, 'weight');
    const inPerGroup = inChannels / group;
    const weight = new Float32Array(src.length);
    let at = 0;
    for (let g = 0; g < group; g++) {
      const base = g * inPerGroup * outPerGroup * maxk;
      for (let k = 0; k < outPerGroup; k++) {
        for (let j = 0; j < inPerGroup; j++) {
          weight.set(src.subarray(base + (j * outPerGroup + k) * maxk, base + (j * outPerGroup + k + 1) * maxk), at);
          at += maxk;
        }
      }
    }
    const bias = node.inputs[2] ? ctx.floats(node, 2, 'bias') : undefined;
    const keep = [false, true, true, true];
    if (ctx.shape(node.inputs[0]!, node).length !== 4) throw ctx.unsupported(node, 'is not 2-D; ferry writes 2-D transposed convolutions');
    const bottom = ctx.input(node, 0, keep);
    const top = ctx.top(node, 0, keep);
    const params: [number, Param][] = [[0, p.int(outPerGroup * group)], ...windowParams(node, ctx, kernel), [5, p.int(bias ? 1 : 0)], [6, p.int(weight.length)]];
    const outPad = node.getInts('output_padding', []);
    if (outPad.length === 2) params.push([18, p.int(outPad[1]!)], [19, p.int(outPad[0]!)]);
    const outShape = ctx.shape(node.outputs[0]!, node);
    if (node.attribute('output_shape')) params.push([20, p.int(outShape[3]!)], [21, p.int(outShape[2]!)]);
    if (group > 1) params.push([7, p.int(group)]);
    ctx.add({
      type: group > 1 ? 'DeconvolutionDepthWise' : 'Deconvolution', name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top], params,
      weights: [floatWeight(weight, true), ...(bias ? [floatWeight(bias, false)] : [])],
    });
  },
};
