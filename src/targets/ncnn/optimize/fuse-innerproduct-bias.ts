/**
 * InnerProduct without bias, then an Add of a constant with one value per output: the constant
 * becomes the bias (ncnnoptimize's fuse_innerproduct_add). A MatMul + Add pair from ONNX.
 */
import { floatWeight, p } from '../net.js';
import type { NetPass } from './pass.js';
import { readers, removeLayers, soleReader } from './graph.js';

export const fuseInnerProductBias: NetPass = {
  name: 'fuse-innerproduct-bias',
  description: 'fold an Add of a per-output constant into the InnerProduct before it',
  run(net, outputs) {
    let changes = 0;
    for (const ip of [...net.layers]) {
      if (ip.type !== 'InnerProduct' || ip.params.get(1)?.value === 1 || ip.params.has(9)) continue;
      const add = soleReader(net, ip.tops[0]!, outputs);
      if (!add || add.type !== 'BinaryOp' || (add.params.get(0)?.value ?? 0) !== 0 || add.params.get(1)?.value === 1 || add.bottoms.length !== 2) continue;
      const other = add.bottoms.find((b) => b !== ip.tops[0]);
      const mem = other === undefined ? undefined : net.producer(other);
      const n = Number(ip.params.get(0)!.value);
      if (!mem || mem.type !== 'MemoryData' || readers(net, other!).length !== 1) continue;
      const w = mem.weights[0];
      if (!w || w.kind !== 'float' || w.data.length !== n) continue;
      ip.params.set(1, p.int(1));
      ip.weights = [ip.weights[0]!, floatWeight(w.data, false)];
      ip.tops = [...add.tops];
      removeLayers(net, [add, mem]);
      changes++;
    }
    return changes;
  },
};
