/**
 * Transpose -> Permute. The dropped size-1 axes go where the permutation takes them; the kept
 * ones are permuted as ncnn's order_type says (the names list the output's w, h, [d,] c by the
 * input axis each comes from). A permutation that only moves size-1 axes is no layer.
 */
import { ncnnDims, reshapeParams } from '../context.js';
import { p } from '../net.js';
import type { OpConverter } from './op.js';

const ORDERS: Record<number, readonly string[]> = {
  2: ['WH', 'HW'],
  3: ['WHC', 'HWC', 'WCH', 'CWH', 'HCW', 'CHW'],
  4: ['WHDC', 'HWDC', 'WDHC', 'DWHC', 'HDWC', 'DHWC', 'WHCD', 'HWCD', 'WCHD', 'CWHD', 'HCWD', 'CHWD',
    'WDCH', 'DWCH', 'WCDH', 'CWDH', 'DCWH', 'CDWH', 'HDCW', 'DHCW', 'HCDW', 'CHDW', 'DCHW', 'CDHW'],
};
const LETTERS: Record<number, string> = { 2: 'HW', 3: 'CHW', 4: 'CDHW' };

export const transpose: OpConverter = {
  ops: ['Transpose'],
  convert(node, ctx) {
    const x = ctx.layout(node.inputs[0]!, node);
    const rank = x.shape.length;
    const perm = node.getInts('perm', x.shape.map((_, i) => rank - 1 - i));
    // drop size-1 axes from the permutation: they do not move any element
    const keepIn = x.shape.map((d, i) => !!x.keep[i] && d !== 1);
    const moved = perm.filter((a) => keepIn[a]);
    const order = [...moved].sort((a, b) => a - b);
    const nperm = moved.map((a) => order.indexOf(a));
    const keepOut = perm.map((a) => x.keep[a]!);
    if (!keepOut.some(Boolean)) keepOut[rank - 1] = true;
    if (nperm.every((a, i) => a === i)) {
      // only size-1 axes move: the elements keep their order
      const bottom = ctx.input(node, 0);
      const outLayout = { shape: ctx.shape(node.outputs[0]!, node), keep: keepOut };
      if (ncnnDims(outLayout).join() === ncnnDims(x).join()) {
        ctx.alias(node, 0, 0);
        return;
      }
      const top = ctx.top(node, 0, keepOut);
      ctx.add({ type: 'Reshape', name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top], params: reshapeParams(ncnnDims(outLayout)) });
      return;
    }
    const n = nperm.length;
    const letters = LETTERS[n];
    if (!letters) throw ctx.unsupported(node, `permutes ${n} axes of size > 1; ncnn's Permute takes 2 to 4`);
    const name = [...nperm].reverse().map((a) => letters[a]).join('');
    const orderType = ORDERS[n]!.indexOf(name);
    // the input must hold exactly its non-1 axes for the Permute to see them as its dims
    const bottom = ctx.input(node, 0, keepIn.some(Boolean) ? keepIn : x.keep);
    const outShape = ctx.shape(node.outputs[0]!, node);
    const keepTight = outShape.map((d, i) => keepIn[perm[i]!]! && d !== 1);
    const top = ctx.top(node, 0, keepTight);
    ctx.add({ type: 'Permute', name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top], params: [[0, p.int(orderType)]] });
  },
};
