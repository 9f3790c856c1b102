/**
 * If, Loop and Scan: their bodies must take and produce as many values as the node passes and
 * returns (the counts onnx's type inference for these operators relies on).
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { CheckContext } from './context.js';
import { plural } from './report.js';
import type { OpSchema } from './schemas.js';

function graphAttribute(n: Node, name: string): Graph | undefined {
  const a = n.attribute(name);
  return a?.type === 'graph' ? a.value : undefined;
}

export function checkControlFlow(cx: CheckContext, n: Node, label: string, schema: OpSchema): void {
  if (schema.domain !== 'ai.onnx') return;
  const r = cx.report;
  switch (schema.name) {
    case 'If':
      for (const branch of ['then_branch', 'else_branch']) {
        const g = graphAttribute(n, branch);
        if (g && g.outputs.length !== n.outputs.length) {
          r.error('subgraph', label, `${branch} has ${plural(g.outputs.length, 'output')}, the If node ${n.outputs.length}: each branch produces one value per If output`);
        }
      }
      return;
    case 'Loop': {
      const body = graphAttribute(n, 'body');
      if (!body || n.inputs.length < 2) return;
      const carried = n.inputs.length - 2;
      if (body.inputs.length !== n.inputs.length) {
        r.error('subgraph', label, `body takes ${plural(body.inputs.length, 'input')}; with ${plural(carried, 'loop-carried value')} it must take ${n.inputs.length} (iteration number, condition, then the loop-carried values)`);
      }
      if (body.outputs.length !== n.outputs.length + 1) {
        r.error('subgraph', label, `body has ${plural(body.outputs.length, 'output')}; the Loop node has ${plural(n.outputs.length, 'output')}, so the body must have ${n.outputs.length + 1} (condition, loop-carried values, scan outputs)`);
      }
      return;
    }
    case 'Scan': {
      const body = graphAttribute(n, 'body');
      if (!body) return;
      const expected = schema.since < 9 ? n.inputs.length - 1 : n.inputs.length; // Scan-8 has sequence_lens first
      if (body.inputs.length !== expected) r.error('subgraph', label, `body takes ${plural(body.inputs.length, 'input')}, but the Scan node passes ${expected} (state variables, then scan inputs)`);
      if (body.outputs.length !== n.outputs.length) r.error('subgraph', label, `body has ${plural(body.outputs.length, 'output')}, the Scan node ${n.outputs.length}`);
      return;
    }
    default:
  }
}
