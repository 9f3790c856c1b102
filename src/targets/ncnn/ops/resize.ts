/**
 * Resize / Upsample of [N, C, H, W] over H and W -> Interp: nearest (asymmetric, floor), or
 * bilinear (half_pixel / pytorch_half_pixel, or align_corners). Scales are written when the
 * model gives scales (so the ncnn model resizes any input size), else the output size.
 */
import type { Param } from '../net.js';
import { p } from '../net.js';
import type { OpConverter } from './op.js';

export const resize: OpConverter = {
  ops: ['Resize', 'Upsample'],
  convert(node, ctx) {
    const x = ctx.layout(node.inputs[0]!, node);
    const out = ctx.shape(node.outputs[0]!, node);
    if (x.shape.length !== 4 || x.shape[0] !== out[0] || x.shape[1] !== out[1]) throw ctx.unsupported(node, `resizes [${x.shape.join(',')}] to [${out.join(',')}]; ncnn's Interp resizes H and W of [N, C, H, W]`);
    const mode = node.getString('mode', 'nearest');
    const coord = node.getString('coordinate_transformation_mode', node.opType === 'Upsample' ? 'asymmetric' : 'half_pixel');
    let type: number;
    let alignCorner = 0;
    if (mode === 'nearest') {
      if (coord !== 'asymmetric' || !['floor', 'round_prefer_floor'].includes(node.getString('nearest_mode', 'round_prefer_floor'))) {
        if (coord !== 'asymmetric') throw ctx.unsupported(node, `is nearest with ${coord} coordinates; ncnn's Interp is nearest asymmetric (floor)`);
      }
      type = 1;
    } else if (mode === 'linear' || mode === 'bilinear') {
      type = 2;
      if (coord === 'align_corners') alignCorner = 1;
      else if (coord !== 'half_pixel' && coord !== 'pytorch_half_pixel') throw ctx.unsupported(node, `is linear with ${coord} coordinates; ncnn's Interp is half_pixel or align_corners`);
    } else if (mode === 'cubic') {
      type = 3;
    } else {
      throw ctx.unsupported(node, `has mode ${mode}`);
    }
    const scalesInput = node.opType === 'Upsample' ? (node.inputs[1] ?? '') : (node.inputs[2] ?? '');
    const scales = node.attribute('scales') ? node.getFloats('scales') : scalesInput && ctx.constant(scalesInput)?.elementCount ? Array.from(ctx.floats(node, node.opType === 'Upsample' ? 1 : 2, 'scales')) : undefined;
    const keep = [false, true, true, true];
    const bottom = ctx.input(node, 0, keep);
    const top = ctx.top(node, 0, keep);
    const params: [number, Param][] = [[0, p.int(type)]];
    if (scales && scales.length === 4) params.push([1, p.float(scales[2]!)], [2, p.float(scales[3]!)]);
    else params.push([3, p.int(out[2]!)], [4, p.int(out[3]!)]);
    params.push([6, p.int(alignCorner)]);
    ctx.add({ type: 'Interp', name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top], params });
  },
};
