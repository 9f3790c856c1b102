/** ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSum/LogSumExp -> Reduction over ncnn axes (fixbug0=1). */
import { p } from '../net.js';
import type { OpConverter } from './op.js';

const OPERATIONS: Record<string, number> = {
  ReduceSum: 0, ReduceSumSquare: 2, ReduceMean: 3, ReduceMax: 4, ReduceMin: 5, ReduceProd: 6, ReduceL1: 7, ReduceL2: 8, ReduceLogSum: 9, ReduceLogSumExp: 10,
};

export const reduce: OpConverter = {
  ops: Object.keys(OPERATIONS),
  convert(node, ctx) {
    const x = ctx.layout(node.inputs[0]!, node);
    const rank = x.shape.length;
    const fromInput = node.opType === 'ReduceSum' ? ctx.opset >= 13 : ctx.opset >= 18;
    let axes = fromInput ? ctx.ints(node, 1, 'axes') : node.attribute('axes') ? node.getInts('axes') : undefined;
    if (!axes || axes.length === 0) axes = x.shape.map((_, i) => i);
    const onnxAxes = axes.map((a) => ctx.onnxAxis(node, rank, a));
    const keepdims = node.getInt('keepdims', 1);
    // reducing a dropped (size-1) axis changes nothing: leave it out
    const reduced = onnxAxes.filter((a) => x.keep[a] || x.shape[a] !== 1);
    if (reduced.some((a) => !x.keep[a])) throw ctx.unsupported(node, 'reduces the batch axis');
    const ncnnAxes = reduced.map((a) => ctx.axis(node, x, a));
    const bottom = ctx.input(node, 0);
    const out = ctx.shape(node.outputs[0]!, node);
    let keep: boolean[];
    if (keepdims) keep = [...x.keep];
    else keep = x.keep.filter((_, i) => !onnxAxes.includes(i));
    if (keep.length !== out.length) throw ctx.unsupported(node, 'has an output rank ferry did not expect');
    if (!keep.some(Boolean) && keep.length) keep[keep.length - 1] = true;
    const top = ctx.top(node, 0, keep);
    ctx.add({
      type: 'Reduction', name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top],
      params: [[0, p.int(OPERATIONS[node.opType]!)], [1, p.int(0)], [3, p.ints(ncnnAxes)], [4, p.int(keepdims)], [5, p.int(1)]],
    });
  },
};
