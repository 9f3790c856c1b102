/**
 * Add, Sub, Mul, Div, Pow, Max, Min -> BinaryOp. A one-element constant becomes the layer's
 * scalar (with_scalar=1; x^2, x^0.5, x^-0.5, x^-1 a UnaryOp, exact where ncnn's pow is not; a scalar on the left turns Sub, Div, Pow into RSUB, RDIV, RPOW). Other
 * operands are given the rank of the output with size-1 axes where ONNX broadcasts (ncnn's
 * explicit broadcast); a constant becomes a MemoryData of those dims, a blob of other dims a
 * Reshape, except the [C] of global pooling against [C, H, W], which ncnn broadcasts per channel.
 */
import { ncnnDims, reshapeParams } from '../context.js';
import type { ValueLayout } from '../context.js';
import { p } from '../net.js';
import type { OpConverter } from './op.js';

const OP_TYPES: Record<string, number> = { Add: 0, Sub: 1, Mul: 2, Div: 3, Max: 4, Min: 5, Pow: 6 };
/** x^b as a UnaryOp: SQUARE, SQRT, RSQ, RECIPROCAL. */
const POW_UNARY = new Map([[2, 4], [0.5, 5], [-0.5, 6], [-1, 15]]);
const SWAPPED: Record<number, number> = { 0: 0, 1: 7, 2: 2, 3: 8, 4: 4, 5: 5, 6: 9 };

export const binary: OpConverter = {
  ops: Object.keys(OP_TYPES),
  convert(node, ctx) {
    if (node.inputs.length !== 2) throw ctx.unsupported(node, `has ${node.inputs.length} inputs; ferry writes two-input ${node.opType}`);
    const op = OP_TYPES[node.opType]!;
    const name = ctx.nodeLayerName(node);
    const out = ctx.shape(node.outputs[0]!, node);
    const consts = node.inputs.map((v) => ctx.constant(v));
    if (consts[0] && consts[1]) throw ctx.unsupported(node, 'has two constant inputs (simplify folds these)');
    const scalar = consts.findIndex((t) => t !== undefined && t.elementCount === 1 && t.dims.length <= out.length);
    if (scalar >= 0) {
      const x = 1 - scalar;
      const xl = ctx.layout(node.inputs[x]!, node);
      if (xl.shape.length !== out.length || xl.shape.some((d, i) => d !== out[i])) throw ctx.unsupported(node, 'broadcasts a scalar to a larger shape than its other input');
      const value = ctx.floats(node, scalar, 'scalar')[0]!;
      const bottom = ctx.input(node, x);
      if (op === 6 && scalar === 1 && value === 1) {
        ctx.alias(node, 0, 0);
        return;
      }
      const top = ctx.top(node, 0, xl.keep);
      // ncnn's SIMD pow is exp(b log x): NaN for negative x. Exponents with a UnaryOp are exact.
      const unary = op === 6 && scalar === 1 ? POW_UNARY.get(value) : undefined;
      if (unary !== undefined) {
        ctx.add({ type: 'UnaryOp', name, bottoms: [bottom], tops: [top], params: [[0, p.int(unary)]] });
        return;
      }
      ctx.add({ type: 'BinaryOp', name, bottoms: [bottom], tops: [top], params: [[0, p.int(scalar === 1 ? op : SWAPPED[op]!)], [1, p.int(1)], [2, p.float(value)]] });
      return;
    }
    const full = (i: number): boolean => {
      const s = ctx.shape(node.inputs[i]!, node);
      return s.length === out.length && s.every((d, k) => d === out[k]);
    };
    const main = !consts[0] && full(0) ? 0 : !consts[1] && full(1) ? 1 : full(0) ? 0 : full(1) ? 1 : -1;
    if (main < 0) throw ctx.unsupported(node, `broadcasts both inputs ([${node.inputs.map((v) => ctx.shape(v, node).join(',')).join('] and [')}]); ferry writes BinaryOp where one input has the output's dims`);
    const mainLayout: ValueLayout = consts[main] ? { shape: out, keep: out.map((d, i) => d !== 1 || i === out.length - 1) } : ctx.layout(node.inputs[main]!, node);
    const keep = mainLayout.keep;
    const bottoms: string[] = [];
    for (const i of [0, 1]) {
      if (i === main) {
        bottoms.push(ctx.input(node, i, keep));
        continue;
      }
      const v = node.inputs[i]!;
      const s = ctx.shape(v, node);
      if (s.length > out.length) throw ctx.unsupported(node, `has an input of rank ${s.length} above its output's`);
      const aligned = [...Array(out.length - s.length).fill(1), ...s];
      if (aligned.some((d, k) => !keep[k] && d !== 1)) throw ctx.unsupported(node, `broadcasts "${v}" along the batch axis`);
      const target = aligned.filter((_, k) => keep[k]);
      if (consts[i]) {
        bottoms.push(ctx.constantBlob(v, target));
        continue;
      }
      const l = ctx.layout(v, node);
      const have = ncnnDims(l);
      const blob = ctx.input(node, i);
      const same = have.length === target.length && have.every((d, k) => d === target[k]);
      const perChannel = have.length === 1 && target.length >= 3 && target[0] === have[0] && target.slice(1).every((d) => d === 1);
      if (same || perChannel) {
        bottoms.push(blob);
        continue;
      }
      const reshaped = ctx.blobName(`${blob}_bcast`);
      ctx.add({ type: 'Reshape', name: ctx.layerName(`${name}_bcast`), bottoms: [blob], tops: [reshaped], params: reshapeParams(target) });
      bottoms.push(reshaped);
    }
    const top = ctx.top(node, 0, keep);
    ctx.add({ type: 'BinaryOp', name, bottoms, tops: [top], params: [[0, p.int(op)]] });
  },
};
