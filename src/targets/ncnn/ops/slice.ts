/**
 * Slice (steps 1) -> Crop with starts, ends and axes arrays in ncnn axes, the bounds clamped to
 * the static dims. A slice that keeps a whole axis leaves it out; one that keeps everything is
 * no layer at all.
 */
import { p } from '../net.js';
import type { OpConverter } from './op.js';

export const slice: OpConverter = {
  ops: ['Slice'],
  convert(node, ctx) {
    const x = ctx.layout(node.inputs[0]!, node);
    const rank = x.shape.length;
    const fromAttrs = node.attribute('starts') !== undefined;
    const starts = fromAttrs ? node.getInts('starts') : ctx.ints(node, 1, 'starts')!;
    const ends = fromAttrs ? node.getInts('ends') : ctx.ints(node, 2, 'ends')!;
    const axes = (fromAttrs ? node.getInts('axes', starts.map((_, i) => i)) : ctx.ints(node, 3, 'axes') ?? starts.map((_, i) => i)).map((a) => ctx.onnxAxis(node, rank, a));
    const steps = fromAttrs ? undefined : ctx.ints(node, 4, 'steps');
    if (steps?.some((s) => s !== 1)) throw ctx.unsupported(node, `has steps ${steps.join(',')}; ncnn's Crop takes steps of 1`);
    const keep = [...x.keep];
    const crop: { axis: number; start: number; end: number }[] = [];
    axes.forEach((a, i) => {
      const dim = x.shape[a]!;
      const clamp = (v: number): number => Math.max(0, Math.min(dim, v < 0 ? v + dim : v));
      const start = clamp(starts[i]!);
      const end = clamp(ends[i]!);
      if (start === 0 && end === dim) return;
      keep[a] = true;
      crop.push({ axis: a, start, end });
    });
    if (crop.length === 0) {
      ctx.alias(node, 0, 0);
      return;
    }
    const bottom = ctx.input(node, 0, keep);
    const top = ctx.top(node, 0, keep);
    const layout = { shape: x.shape, keep };
    ctx.add({
      type: 'Crop', name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top],
      params: [[9, p.ints(crop.map((c) => c.start))], [10, p.ints(crop.map((c) => c.end))], [11, p.ints(crop.map((c) => ctx.axis(node, layout, c.axis)))]],
    });
  },
};
