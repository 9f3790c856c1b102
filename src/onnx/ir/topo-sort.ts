/**
 * Topological order of a graph's nodes: Kahn's algorithm taking the ready node that came first
 * in the current order (a binary heap of positions), so an already sorted graph keeps its order
 * and a nearly sorted one moves as few nodes as possible. O(n log n + uses).
 */
import { FerryError } from '../../errors.js';
import type { Graph } from './graph.js';
import type { Node } from './node.js';
import { describeNode } from './node.js';

/** The graph's nodes in a valid order; throws ONNX_GRAPH_CYCLE naming a cycle if there is none. */
export function topologicalOrder(graph: Graph): Node[] {
  const nodes = graph.nodes;
  const position = new Map<Node, number>();
  nodes.forEach((n, i) => position.set(n, i));
  const pending = new Int32Array(nodes.length);
  const dependents: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    const seen = new Set<number>();
    for (const v of readsOf(n)) {
      const p = graph.producer(v);
      const j = p === undefined ? undefined : position.get(p);
      if (j === undefined || j === i || seen.has(j)) continue; // a node reading its own output is caught as a cycle below
      seen.add(j);
      pending[i]!++;
      dependents[j]!.push(i);
    }
    if (n.inputs.some((v) => v && graph.producer(v) === n)) pending[i]!++; // self-loop: never ready
  });

  const heap = new MinHeap();
  for (let i = 0; i < nodes.length; i++) if (pending[i] === 0) heap.push(i);
  const order: Node[] = [];
  while (heap.size) {
    const i = heap.pop();
    order.push(nodes[i]!);
    for (const j of dependents[i]!) if (--pending[j]! === 0) heap.push(j);
  }
  if (order.length < nodes.length) {
    const left = nodes.filter((_, i) => pending[i]! > 0);
    throw new FerryError('ONNX_GRAPH_CYCLE', `graph "${graph.name}" has a cycle: ${describeCycle(graph, left)}`);
  }
  return order;
}

function readsOf(n: Node): string[] {
  const out: string[] = [];
  for (const v of n.inputs) if (v) out.push(v);
  out.push(...n.implicitInputs);
  return out;
}

/** `Add "a" -(y)-> Relu "b" -(x)-> Add "a"`: one cycle among the nodes Kahn could not order. */
function describeCycle(graph: Graph, left: readonly Node[]): string {
  const stuck = new Set(left);
  // Walk from a stuck node to a stuck producer of what it reads, until a node repeats.
  const steps: { node: Node; reads: string }[] = [];
  const index = new Map<Node, number>();
  let node: Node = left[0]!;
  while (!index.has(node)) {
    index.set(node, steps.length);
    const step = { node, reads: '' };
    steps.push(step);
    const v = readsOf(node).find((r) => stuck.has(graph.producer(r)!));
    if (v === undefined) return left.map(describeNode).join(', ');
    step.reads = v;
    node = graph.producer(v)!;
  }
  const cycle = steps.slice(index.get(node)); // cycle[i] reads from cycle[i + 1]; the last reads from cycle[0]
  let text = describeNode(cycle[0]!.node);
  for (let i = cycle.length - 1; i >= 0; i--) text += ` -(${cycle[i]!.reads})-> ${describeNode(cycle[i]!.node)}`;
  return text;
}

/** A min-heap of non-negative integers. */
class MinHeap {
  #a: number[] = [];

  get size(): number {
    return this.#a.length;
  }

  push(v: number): void {
    const a = this.#a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.#a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
