/**
 * Models with If / Loop / Scan (what `ferry export --method script` makes of data-dependent code)
 * for the quantizers.
 *
 * Shape inference does not enter subgraphs, so the outputs of an If or a Loop have no known type
 * and every node reading them looked "not float32" (a Gemm after a Loop was refused as "inputs
 * are not float32"). Their types are declared by the subgraphs' outputs: an If's outputs are its
 * branches', a Loop's are its body's after the condition, a Scan's are its body's.
 * `declareControlFlowTypes` writes them into the graph's value_info, which inference then reads.
 *
 * Weighted nodes inside subgraphs: dynamic int8 quantizes them in place (it needs no calibration);
 * static int8 and float16 leave them in float32 and say why (`subgraphWeightedNodes`).
 */
import type { Graph } from '../onnx/ir/graph.js';
import type { Node } from '../onnx/ir/node.js';
import { ValueInfo } from '../onnx/ir/value-info.js';

/** The subgraph output whose type a control-flow node's output `index` has, or undefined. */
function subgraphOutput(node: Node, index: number): ValueInfo | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  switch (node.opType) {
    case 'If':
      return node.getGraph('then_branch').outputs[index];
    case 'Loop':
      return node.getGraph('body').outputs[index + 1]; // body outputs: condition, carried values, scan outputs
    case 'Scan':
      return node.getGraph('body').outputs[index];
    default:
      return undefined;
  }
}

/**
 * Declares the element type (and, for If and Loop-carried values whose subgraphs agree, the shape)
 * of every If / Loop / Scan output of `graph` that has no declared type yet, from the subgraphs.
 * Returns how many values it declared.
 */
export function declareControlFlowTypes(graph: Graph): number {
  let declared = 0;
  for (const n of graph.nodes) {
    if (!n.hasSubgraphs) continue;
    n.outputs.forEach((name, i) => {
      if (!name || graph.typeOf(name)?.elemType) return;
      const out = subgraphOutput(n, i);
      const elemType = out?.elemType;
      if (!elemType) return;
      let shape = out.shape;
      if (n.opType === 'If') {
        const other = n.getGraph('else_branch').outputs[i]?.shape;
        if (!shape || !other || shape.length !== other.length || shape.some((d, k) => d !== other[k])) shape = undefined;
      } else if (n.opType === 'Scan' || (n.opType === 'Loop' && i >= n.inputs.length - 2)) {
        shape = undefined; // scan outputs are stacked: one more axis
      }
      graph.valueInfo.set(name, ValueInfo.tensor(name, elemType, shape));
      declared++;
    });
  }
  return declared;
}

/** A node inside a subgraph, and where: the node holding the subgraph and the attribute naming it. */
export interface SubgraphNode {
  readonly node: Node;
  readonly graph: Graph;
  readonly owner: Node;
  readonly attribute: string;
}

/** Nodes of the given op types inside the subgraphs of `graph`'s nodes, at any depth. */
export function subgraphNodes(graph: Graph, opTypes: readonly string[]): SubgraphNode[] {
  const out: SubgraphNode[] = [];
  const visit = (g: Graph, owner?: Node, attribute?: string): void => {
    for (const n of g.nodes) {
      if (owner && opTypes.includes(n.opType) && (n.domain === '' || n.domain === 'ai.onnx')) out.push({ node: n, graph: g, owner, attribute: attribute! });
      if (!n.hasSubgraphs) continue;
      for (const [key, a] of n.attributes) {
        if (a.type === 'graph') visit(a.value, n, key);
        else if (a.type === 'graphs') for (const sub of a.value) visit(sub, n, key);
      }
    }
  };
  visit(graph);
  return out;
}

/** "inside Loop "/Loop" (body)": where a subgraph node is, for reports. */
export function whereInside(s: SubgraphNode): string {
  return `inside ${s.owner.opType} "${s.owner.name || s.owner.outputs[0]}" (${s.attribute})`;
}
