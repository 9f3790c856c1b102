/**
 * Elementwise activations, one ncnn layer each: Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid,
 * HardSwish, Mish, Tanh, Elu, Selu, Softplus, PRelu; the layout of the input is kept.
 */
import type { Node } from '../../../onnx/ir/node.js';
import type { ConvertContext } from '../context.js';
import type { Param } from '../net.js';
import { floatWeight, p } from '../net.js';
import type { OpConverter } from './op.js';

const FLT_MAX = 3.4028234663852886e38;

function clipBounds(node: Node, ctx: ConvertContext): [number, number] {
  if (node.attribute('min') || node.attribute('max') || node.inputs.length === 1) return [node.getFloat('min', -FLT_MAX), node.getFloat('max', FLT_MAX)];
  const lo = node.inputs[1] ? ctx.floats(node, 1, 'min')[0]! : -FLT_MAX;
  const hi = node.inputs[2] ? ctx.floats(node, 2, 'max')[0]! : FLT_MAX;
  return [lo, hi];
}

const TABLE: Record<string, (node: Node, ctx: ConvertContext) => { type: string; params?: [number, Param][]; slope?: Float32Array }> = {
  Relu: () => ({ type: 'ReLU' }),
  LeakyRelu: (n) => ({ type: 'ReLU', params: [[0, p.float(n.getFloat('alpha', 0.01))]] }),
  Clip: (n, ctx) => {
    const [lo, hi] = clipBounds(n, ctx);
    return { type: 'Clip', params: [[0, p.float(lo)], [1, p.float(hi)]] };
  },
  Sigmoid: () => ({ type: 'Sigmoid' }),
  HardSigmoid: (n) => ({ type: 'HardSigmoid', params: [[0, p.float(n.getFloat('alpha', 0.2))], [1, p.float(n.getFloat('beta', 0.5))]] }),
  HardSwish: () => ({ type: 'HardSwish', params: [[0, p.float(1 / 6)], [1, p.float(0.5)]] }),
  Mish: () => ({ type: 'Mish' }),
  Tanh: () => ({ type: 'TanH' }),
  Elu: (n) => ({ type: 'ELU', params: [[0, p.float(n.getFloat('alpha', 1))]] }),
  Selu: (n) => ({ type: 'SELU', params: [[0, p.float(n.getFloat('alpha', 1.67326319217681884765625))], [1, p.float(n.getFloat('gamma', 1.05070102214813232421875))]] }),
  Softplus: () => ({ type: 'Softplus' }),
  PRelu: (n, ctx) => ({ type: 'PReLU', slope: ctx.floats(n, 1, 'slope') }),
};

export const activation: OpConverter = {
  ops: Object.keys(TABLE),
  convert(node, ctx) {
    const spec = TABLE[node.opType]!(node, ctx);
    const x = ctx.layout(node.inputs[0]!, node);
    const params = spec.params ?? [];
    const weights = [];
    let keep: boolean[] = [...x.keep];
    if (spec.slope) {
      // PReLU: one slope per channel (axis 1), or one for all.
      if (spec.slope.length > 1) {
        keep[1] = true;
        if (ctx.axis(node, { shape: x.shape, keep }, 1) !== 0) throw ctx.unsupported(node, 'has per-channel slopes on an axis that is not the outermost of its ncnn blob');
      }
      params.push([0, p.int(spec.slope.length)]);
      weights.push(floatWeight(spec.slope, false));
    }
    const bottom = ctx.input(node, 0, keep);
    const top = ctx.top(node, 0, keep);
    ctx.add({ type: spec.type, name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top], params, weights });
  },
};
