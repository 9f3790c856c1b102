/**
 * Initializers with the same type, dims and bytes become one: readers of the copies read the first.
 * Bytes are compared only among tensors whose type and dims match and whose sampled bytes (64
 * spread over the tensor) match too, so distinct weights of one shape are told apart without
 * reading them whole. Graph inputs and graph outputs keep their names. Tensors in external data
 * files and tensors over 256 MiB are left alone (reading gigabytes to find copies costs more than
 * the copies).
 */
import { DataType } from '../ir/data-type.js';
import type { Tensor } from '../ir/tensor.js';
import type { Pass } from './pass.js';
import { allGraphs } from './util.js';

const MAX_BYTES = 256 * 2 ** 20;

export const eliminateDuplicateInitializers: Pass = {
  name: 'eliminate-duplicate-initializers',
  description: 'merge initializers with identical type, dims and data',
  run(model) {
    let changes = 0;
    for (const g of allGraphs(model)) {
      const groups = new Map<string, Tensor[]>();
      for (const [name, t] of g.initializers) {
        if (g.isInput(name) || g.isOutput(name) || t.dataType === DataType.STRING || t.isExternal || t.byteLength > MAX_BYTES) continue;
        const key = `${t.dataType}:${t.dims.join('x')}:${t.byteLength}`;
        const list = groups.get(key);
        if (list) list.push(t);
        else groups.set(key, [t]);
      }
      for (const list of groups.values()) {
        if (list.length < 2) continue;
        const kept: { tensor: Tensor; sample: string }[] = [];
        for (const t of list) {
          const bytes = t.bytes();
          const s = sample(bytes);
          const same = kept.find((k) => k.sample === s && Buffer.from(k.tensor.bytes()).equals(Buffer.from(bytes)));
          if (!same) {
            kept.push({ tensor: t, sample: s });
            continue;
          }
          g.replaceAllUses(t.name, same.tensor.name);
          g.removeInitializer(t.name);
          changes++;
        }
      }
    }
    return changes;
  },
};

/** 64 bytes spread evenly over `bytes`, as a string: equal tensors have equal samples. */
function sample(bytes: Uint8Array): string {
  const n = bytes.byteLength;
  if (n <= 64) return Buffer.from(bytes).toString('latin1');
  let out = '';
  for (let i = 0; i < 64; i++) out += String.fromCharCode(bytes[Math.floor((i * (n - 1)) / 63)]!);
  return out;
}
