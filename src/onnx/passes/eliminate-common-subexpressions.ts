/**
 * Nodes that compute the same thing (same op, domain, inputs and attributes) become one: readers
 * of the later copy read the first (exporters repeat `Shape(x)`, `Gather(shape, 0)` per use).
 * Left alone: random ops, nodes with subgraphs, nodes with tensor attributes over 4 KiB, and
 * copies whose outputs are graph outputs (their names must stay).
 */
import type { Attribute } from '../ir/attribute.js';
import type { Node } from '../ir/node.js';
import type { Pass } from './pass.js';
import { NONDETERMINISTIC_OPS } from './fold-constants.js';
import { allGraphs } from './util.js';

export const eliminateCommonSubexpressions: Pass = {
  name: 'eliminate-common-subexpressions',
  description: 'merge nodes that compute the same op on the same inputs',
  run(model) {
    let changes = 0;
    for (const g of allGraphs(model)) {
      const seen = new Map<string, Node>();
      for (const n of g.nodes) {
        const key = nodeKey(n);
        if (key === undefined) continue;
        const kept = seen.get(key);
        if (!kept) {
          seen.set(key, n);
          continue;
        }
        if (kept.outputs.length !== n.outputs.length || n.outputs.some((v, i) => v && (g.isOutput(v) || !kept.outputs[i]))) continue;
        n.outputs.forEach((v, i) => { if (v) g.replaceAllUses(v, kept.outputs[i]!); });
        g.removeNode(n);
        changes++;
      }
    }
    return changes;
  },
};

function nodeKey(n: Node): string | undefined {
  if (n.hasSubgraphs || NONDETERMINISTIC_OPS.has(n.opType) || n.outputs.length === 0) return undefined;
  const attrs: string[] = [];
  for (const name of [...n.attributes.keys()].sort()) {
    const a = attributeKey(n.attributes.get(name)!);
    if (a === undefined) return undefined;
    attrs.push(`${name}=${a}`);
  }
  return JSON.stringify([n.domain === 'ai.onnx' ? '' : n.domain, n.opType, n.overload, n.inputs, attrs]);
}

function attributeKey(a: Attribute): string | undefined {
  switch (a.type) {
    case 'int': return `i${a.value}`;
    case 'ints': return `I${a.value.join(',')}`;
    case 'float': return `f${a.value}`;
    case 'floats': return `F${a.value.join(',')}`;
    case 'string': return `s${typeof a.value === 'string' ? a.value : Buffer.from(a.value).toString('hex')}`;
    case 'strings': return `S${JSON.stringify(a.value.map((v) => (typeof v === 'string' ? v : Buffer.from(v).toString('hex'))))}`;
    case 'tensor': {
      const t = a.value;
      if (t.byteLength > 4096 || t.isExternal) return undefined;
      let data: string;
      try {
        data = Buffer.from(t.bytes()).toString('hex');
      } catch {
        data = JSON.stringify(t.strings());
      }
      return `t${t.dataType}:${t.dims.join('x')}:${data}`;
    }
    default: return undefined;
  }
}
