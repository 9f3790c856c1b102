/** Elementwise math -> UnaryOp (op_type per ncnn's table): Abs, Neg, Floor, Ceil, Sqrt, Exp, Log, Sin, Cos, Reciprocal, Round ... */
import { p } from '../net.js';
import type { OpConverter } from './op.js';

const OP_TYPES: Record<string, number> = {
  Abs: 0, Neg: 1, Floor: 2, Ceil: 3, Sqrt: 5, Exp: 7, Log: 8, Sin: 9, Cos: 10, Tan: 11, Asin: 12, Acos: 13, Atan: 14, Reciprocal: 15, Round: 18,
};

export const unary: OpConverter = {
  ops: Object.keys(OP_TYPES),
  convert(node, ctx) {
    const bottom = ctx.input(node, 0);
    const top = ctx.top(node, 0, ctx.layout(node.inputs[0]!, node).keep);
    ctx.add({ type: 'UnaryOp', name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top], params: [[0, p.int(OP_TYPES[node.opType]!)]] });
  },
};
