/**
 * MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool -> Pooling. Global pooling gives ncnn's
 * 1-D [C] (the layout records [1, C, 1, 1] as C alone). ceil_mode becomes ncnn's full padding
 * (pad_mode 0), which gives the same output size unless the last window would start in the
 * right padding, a case refused.
 */
import type { Param } from '../net.js';
import { p } from '../net.js';
import type { OpConverter } from './op.js';

export const pool: OpConverter = {
  ops: ['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool'],
  convert(node, ctx) {
    const x = ctx.layout(node.inputs[0]!, node);
    if (x.shape.length !== 4) throw ctx.unsupported(node, `has a rank-${x.shape.length} input; ferry writes 2-D pooling (N, C, H, W)`);
    if (node.outputs.filter(Boolean).length > 1) throw ctx.unsupported(node, 'has an Indices output');
    const type = node.opType === 'MaxPool' || node.opType === 'GlobalMaxPool' ? 0 : 1;
    const keep = [false, true, true, true];
    const bottom = ctx.input(node, 0, keep);
    const name = ctx.nodeLayerName(node);
    if (node.opType.startsWith('Global')) {
      const top = ctx.top(node, 0, [false, true, false, false]);
      ctx.add({ type: 'Pooling', name, bottoms: [bottom], tops: [top], params: [[0, p.int(type)], [4, p.int(1)]] });
      return;
    }
    const [kh, kw] = node.getInts('kernel_shape');
    const [sh, sw] = node.getInts('strides', [1, 1]);
    const pads = node.getInts('pads', [0, 0, 0, 0]);
    if (node.getInts('dilations', [1, 1]).some((d) => d !== 1)) throw ctx.unsupported(node, 'has dilations; ncnn pooling has none');
    const autoPad = node.getString('auto_pad', 'NOTSET');
    const ceil = node.getInt('ceil_mode', 0) === 1;
    let padMode = autoPad === 'SAME_UPPER' ? 2 : autoPad === 'SAME_LOWER' ? 3 : 1;
    if (ceil && padMode === 1) {
      padMode = 0;
      const [, , ih, iw] = x.shape as [number, number, number, number];
      const [, , oh, ow] = ctx.shape(node.outputs[0]!, node) as [number, number, number, number];
      const full = (i: number, k: number, s: number, a: number, b: number): number => Math.ceil((i + a + b - k) / s) + 1;
      if (full(ih, kh!, sh!, pads[0]!, pads[2]!) !== oh || full(iw, kw!, sw!, pads[1]!, pads[3]!) !== ow) {
        throw ctx.unsupported(node, `with ceil_mode gives ${oh}x${ow}, where ncnn's full padding gives another size`);
      }
    }
    const top = ctx.top(node, 0, keep);
    const params: [number, Param][] = [[0, p.int(type)], [1, p.int(kw!)], [11, p.int(kh!)], [2, p.int(sw!)], [12, p.int(sh!)],
      [3, p.int(pads[1]!)], [13, p.int(pads[0]!)], [14, p.int(pads[3]!)], [15, p.int(pads[2]!)], [5, p.int(padMode)]];
    if (type === 1) params.push([6, p.int(node.getInt('count_include_pad', 0))]);
    ctx.add({ type: 'Pooling', name, bottoms: [bottom], tops: [top], params });
  },
};
