/** Pad (constant, reflect, edge) -> Padding: top/bottom, left/right, front/behind for the last three axes. */
import { p } from '../net.js';
import type { OpConverter } from './op.js';

const MODES: Record<string, number> = { constant: 0, edge: 1, reflect: 2 };

export const pad: OpConverter = {
  ops: ['Pad'],
  convert(node, ctx) {
    const x = ctx.layout(node.inputs[0]!, node);
    const rank = x.shape.length;
    const pads = node.attribute('pads') ? node.getInts('pads') : ctx.ints(node, 1, 'pads')!;
    const mode = MODES[node.getString('mode', 'constant')];
    if (mode === undefined) throw ctx.unsupported(node, `has mode ${node.getString('mode')}; ncnn pads constant, edge or reflect`);
    if (node.inputs[3]) throw ctx.unsupported(node, 'pads only some axes (axes input)');
    const value = node.attribute('value') ? node.getFloat('value') : node.inputs[2] ? ctx.floats(node, 2, 'constant_value')[0]! : 0;
    const begin = (a: number): number => pads[a]!;
    const end = (a: number): number => pads[a + rank]!;
    for (let a = 0; a < rank - 3; a++) if (begin(a) || end(a)) throw ctx.unsupported(node, `pads axis ${a}; ncnn pads the last three axes`);
    const keep = x.shape.map((_, i) => x.keep[i]! || ((i >= rank - 3) && (begin(i) > 0 || end(i) > 0)));
    const bottom = ctx.input(node, 0, keep);
    const top = ctx.top(node, 0, keep);
    const at = (k: number): number => (rank - k >= 0 ? rank - k : -1);
    const get = (a: number, f: (a: number) => number): number => (a >= 0 ? f(a) : 0);
    ctx.add({
      type: 'Padding', name: ctx.nodeLayerName(node), bottoms: [bottom], tops: [top],
      params: [[0, p.int(get(at(2), begin))], [1, p.int(get(at(2), end))], [2, p.int(get(at(1), begin))], [3, p.int(get(at(1), end))],
        [4, p.int(mode)], [5, p.float(value)], [7, p.int(get(at(3), begin))], [8, p.int(get(at(3), end))]],
    });
  },
};
