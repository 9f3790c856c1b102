/**
 * HardSwish from its pieces, as onnx2ncnn's fuse_hardswish does:
 * x * Clip(x + 3, 0, 6) / 6 (or * 1/6), and x * HardSigmoid(x). One layer instead of four.
 */
import { p } from '../net.js';
import type { Layer } from '../net.js';
import type { NetPass } from './pass.js';
import { floatParam, removeLayers, scalarOp, soleReader } from './graph.js';

const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(b));

/** The multiply of `x` by `gate` (a BinaryOp MUL of the two), when it is the gate's only reader. */
function mulBy(net: Parameters<NetPass['run']>[0], gate: Layer, x: string, outputs: ReadonlySet<string>): Layer | undefined {
  const mul = soleReader(net, gate.tops[0]!, outputs);
  if (!mul || mul.type !== 'BinaryOp' || mul.params.get(1)?.value === 1 || Number(mul.params.get(0)?.value ?? 0) !== 2) return undefined;
  return mul.bottoms.length === 2 && mul.bottoms.includes(x) ? mul : undefined;
}

export const fuseHardSwish: NetPass = {
  name: 'fuse-hardswish',
  description: 'x * clip(x + 3, 0, 6) / 6 and x * hardsigmoid(x) -> HardSwish',
  run(net, outputs) {
    let changes = 0;
    for (const first of [...net.layers]) {
      if (!net.layers.includes(first)) continue;
      const x = first.bottoms[0];
      if (x === undefined) continue;
      if (first.type === 'HardSigmoid') {
        const mul = mulBy(net, first, x, outputs);
        if (!mul) continue;
        const hs: Layer = { ...first, type: 'HardSwish', tops: [...mul.tops], params: new Map([[0, p.float(floatParam(first, 0, 0.2))], [1, p.float(floatParam(first, 1, 0.5))]]) };
        net.layers[net.layers.indexOf(first)] = hs;
        removeLayers(net, [mul]);
        changes++;
        continue;
      }
      const add = scalarOp(first);
      if (!add || add.op !== 0 || !near(add.b, 3)) continue;
      const clip = soleReader(net, first.tops[0]!, outputs);
      if (!clip || clip.type !== 'Clip' || !near(floatParam(clip, 0, -1), 0) || !near(floatParam(clip, 1, -1), 6)) continue;
      const mul = mulBy(net, clip, x, outputs);
      if (!mul) continue;
      const div = soleReader(net, mul.tops[0]!, outputs);
      const d = div ? scalarOp(div) : undefined;
      if (!div || !d || !((d.op === 3 && near(d.b, 6)) || (d.op === 2 && near(d.b, 1 / 6)))) continue;
      const hs: Layer = { ...first, type: 'HardSwish', tops: [...div.tops], params: new Map([[0, p.float(1 / 6)], [1, p.float(0.5)]]), weights: [] };
      net.layers[net.layers.indexOf(first)] = hs;
      removeLayers(net, [clip, mul, div]);
      changes++;
    }
    return changes;
  },
};
