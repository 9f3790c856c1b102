/**
 * A graph (GraphProto): ordered nodes, named initializers, inputs, outputs, and an index of who
 * produces and who reads each value, kept current through every change made with the methods
 * here and on Node. Subgraphs (If branches, Loop and Scan bodies) are Graphs held by a node's
 * attribute; what they read from enclosing scopes counts as a use by that node.
 *
 * Cost model: producer() is a map lookup; consumers() is a map lookup (plus re-reading the
 * subgraphs of nodes whose subgraphs changed since the last query); removeNode() is O(uses);
 * the node list is compacted lazily, so removing many nodes costs O(nodes) once, not per node.
 */
import { attributeGraphs } from './attribute.js';
import type { Node, NodeInit } from './node.js';
import { Node as NodeClass, describeNode } from './node.js';
import type { SparseTensor } from './sparse-tensor.js';
import type { Tensor } from './tensor.js';
import { ValueInfo } from './value-info.js';
import type { OpaqueProto } from '../proto/types.js';
import { GRAPH, INDEXED, INPUTS_CHANGED, OUTPUTS_CHANGED, OWNER, SUBGRAPHS_CHANGED } from './internal.js';
import { topologicalOrder } from './topo-sort.js';

export interface GraphInit {
  /** @defaultValue '' */
  name?: string;
  /** @defaultValue [] */
  inputs?: readonly ValueInfo[];
  /** @defaultValue [] */
  outputs?: readonly ValueInfo[];
  /** Nodes in order; they must not be in another graph. @defaultValue [] */
  nodes?: Iterable<Node | NodeInit>;
  /** Named tensors; names must be unique. @defaultValue [] */
  initializers?: Iterable<Tensor>;
  /** @defaultValue [] */
  sparseInitializers?: readonly SparseTensor[];
  /** Types of intermediate values. @defaultValue [] */
  valueInfo?: Iterable<ValueInfo>;
  /** @defaultValue '' */
  docString?: string;
  /** GraphProto metadata_props. @defaultValue none */
  metadata?: ReadonlyMap<string, string>;
  /** GraphProto quantization_annotation, kept verbatim. @defaultValue [] */
  quantizationAnnotation?: readonly OpaqueProto[];
}

/** Where `addNode` puts a node: before or after a node of the graph; at the end by default. */
export interface NodePosition {
  before?: Node;
  after?: Node;
}

export class Graph {
  name: string;
  docString: string;
  readonly metadata: Map<string, string>;
  /** Types of intermediate values by name (ValueInfoProto value_info). Not indexed: edit freely. */
  readonly valueInfo: Map<string, ValueInfo>;
  /** GraphProto quantization_annotation (TensorAnnotation), kept verbatim. */
  quantizationAnnotation: readonly OpaqueProto[];
  /** @internal */ [OWNER]: Node | undefined = undefined;

  #inputs: readonly ValueInfo[] = [];
  #outputs: readonly ValueInfo[] = [];
  readonly #initializers = new Map<string, Tensor>();
  #sparse: readonly SparseTensor[] = [];
  #nodes: Node[] = [];
  /** `#nodes` was handed out by the `nodes` getter: copy it before changing it. */
  #nodesShared = false;
  /** Nodes removed but still in `#nodes` (compacted on the next read). */
  #removed = 0;
  readonly #producers = new Map<string, Node>();
  readonly #consumers = new Map<string, Set<Node>>();
  /** Nodes whose subgraphs changed: their uses are re-read before the next consumers() query. */
  readonly #stale = new Set<Node>();
  #outer: readonly string[] | undefined;
  /** Every name in this graph tree (root graph only; built by the first uniqueName()). */
  #names: Set<string> | undefined;
  readonly #nameCounters = new Map<string, number>();

  constructor(init: GraphInit = {}) {
    this.name = init.name ?? '';
    this.docString = init.docString ?? '';
    this.metadata = new Map(init.metadata);
    this.valueInfo = new Map([...(init.valueInfo ?? [])].map((v) => [v.name, v]));
    this.quantizationAnnotation = init.quantizationAnnotation ?? [];
    this.#inputs = Object.freeze([...(init.inputs ?? [])]);
    this.#outputs = Object.freeze([...(init.outputs ?? [])]);
    this.#sparse = Object.freeze([...(init.sparseInitializers ?? [])]);
    for (const t of init.initializers ?? []) this.addInitializer(t);
    for (const n of init.nodes ?? []) this.addNode(n);
  }

  // ---- inputs, outputs, initializers ----------------------------------------------------------

  /** Graph inputs in order. Assign a new array to change them. */
  get inputs(): readonly ValueInfo[] {
    return this.#inputs;
  }

  set inputs(list: readonly ValueInfo[]) {
    this.#inputs = Object.freeze([...list]);
    this.#noteNames(list.map((v) => v.name));
    this.#changed();
  }

  /** Graph outputs in order. Assign a new array to change them. */
  get outputs(): readonly ValueInfo[] {
    return this.#outputs;
  }

  set outputs(list: readonly ValueInfo[]) {
    this.#outputs = Object.freeze([...list]);
    this.#changed();
  }

  /** Initializers by name. Change them with addInitializer / removeInitializer. */
  get initializers(): ReadonlyMap<string, Tensor> {
    return this.#initializers;
  }

  /** Sparse initializers (kept as read; named by their values tensor). Assign a new array to change them. */
  get sparseInitializers(): readonly SparseTensor[] {
    return this.#sparse;
  }

  set sparseInitializers(list: readonly SparseTensor[]) {
    this.#sparse = Object.freeze([...list]);
    this.#noteNames(list.map((s) => s.values.name));
    this.#changed();
  }

  /**
   * Adds a named tensor as an initializer. Throws if the name is empty or already an initializer,
   * unless `replace` is set.
   * @param options.replace replace an initializer of the same name. @defaultValue false
   */
  addInitializer(tensor: Tensor, options: { replace?: boolean } = {}): Tensor {
    if (!tensor.name) throw new Error(`graph "${this.name}": an initializer needs a name`);
    if (!options.replace && this.#initializers.has(tensor.name)) {
      throw new Error(`graph "${this.name}" already has an initializer "${tensor.name}" (pass { replace: true } to replace it)`);
    }
    this.#initializers.set(tensor.name, tensor);
    this.#noteNames([tensor.name]);
    this.#changed();
    return tensor;
  }

  /** Removes an initializer; returns whether there was one. Graph inputs of that name stay. */
  removeInitializer(name: string): boolean {
    const had = this.#initializers.delete(name);
    if (had) this.#changed();
    return had;
  }

  isInput(name: string): boolean {
    return this.#inputs.some((v) => v.name === name);
  }

  isOutput(name: string): boolean {
    return this.#outputs.some((v) => v.name === name);
  }

  /** The type recorded for a value: graph input, output or value_info (in that order), or an initializer's. */
  typeOf(name: string): ValueInfo | undefined {
    const known = this.#inputs.find((v) => v.name === name) ?? this.#outputs.find((v) => v.name === name) ?? this.valueInfo.get(name);
    if (known?.type) return known;
    const t = this.#initializers.get(name);
    return t ? ValueInfo.tensor(name, t.dataType, t.dims) : known;
  }

  // ---- nodes ----------------------------------------------------------------------------------

  /**
   * The nodes in order: a snapshot, safe to iterate while adding and removing nodes (the changes
   * show in the next read; the first change after a read copies the list once).
   */
  get nodes(): readonly Node[] {
    this.#compact();
    this.#nodesShared = true;
    return this.#nodes;
  }

  /** The node whose attribute holds this graph; undefined for a top-level graph. */
  get owner(): Node | undefined {
    return this[OWNER];
  }

  /**
   * Adds a node (a Node not in any graph, or a NodeInit to make one) at the end, or before /
   * after a node of this graph. Returns the node.
   */
  addNode(node: Node | NodeInit, position: NodePosition = {}): Node {
    const n = this.#adopt(node);
    this.#compact();
    const nodes = this.#ownNodes();
    const anchor = position.before ?? position.after;
    let index = nodes.length;
    if (anchor) {
      const i = anchor[GRAPH] === this ? nodes.indexOf(anchor) : -1;
      if (i < 0) throw new Error(`${describeNode(anchor)} is not a node of graph "${this.name}"`);
      index = position.before ? i : i + 1;
    }
    nodes.splice(index, 0, n);
    this.#attach(n);
    return n;
  }

  /**
   * Removes a node. Nodes that read its outputs keep reading those names: rewire them first
   * (replaceAllUses), or give the names a new producer (replaceNode does both steps in one).
   */
  removeNode(node: Node): void {
    this.#assertMine(node);
    this.#detach(node);
    this.#removed++;
  }

  /**
   * Puts `replacements` (in order) where `node` was and removes it. They may reuse its output
   * names, so its consumers read the replacements' outputs without rewiring. Returns the added nodes.
   */
  replaceNode(node: Node, replacements: Node | NodeInit | readonly (Node | NodeInit)[]): Node[] {
    this.#assertMine(node);
    const added = (Array.isArray(replacements) ? replacements : [replacements as Node | NodeInit]).map((r) => this.#adopt(r));
    if (new Set(added).size !== added.length) throw new Error('replaceNode: the same node is given twice');
    this.#compact();
    const nodes = this.#ownNodes();
    this.#detach(node);
    nodes.splice(nodes.indexOf(node), 1, ...added);
    for (const n of added) this.#attach(n);
    return added;
  }

  /** The node that produces `value` in this graph; undefined for graph inputs, initializers, outer-scope values and unknown names. */
  producer(value: string): Node | undefined {
    return this.#producers.get(value);
  }

  /**
   * The nodes of this graph that read `value`: as an input, or inside one of their subgraphs
   * (an outer-scope capture). Graph outputs are not nodes: see isOutput(). Each node once, in no
   * promised order.
   */
  consumers(value: string): Node[] {
    this.#flush();
    const set = this.#consumers.get(value);
    return set ? [...set] : [];
  }

  /** True when a node reads `value` or it is a graph output. */
  isUsed(value: string): boolean {
    this.#flush();
    return (this.#consumers.get(value)?.size ?? 0) > 0 || this.isOutput(value);
  }

  /**
   * Makes every node that reads `from` read `to` instead, inside subgraphs too (where `from` is
   * not shadowed). Graph outputs keep their names (they are the model's interface): to rename a
   * value everywhere, use renameValue(). Returns the number of inputs changed.
   */
  replaceAllUses(from: string, to: string): number {
    if (from === to) return 0;
    let count = 0;
    for (const n of this.consumers(from)) count += replaceUsesInNode(n, from, to);
    return count;
  }

  /**
   * Renames a value everywhere in this graph: its producer's output (or the graph input, or the
   * initializer), every use (subgraphs included), graph outputs and value_info. Throws if `to`
   * is already defined here.
   */
  renameValue(from: string, to: string): void {
    if (from === to) return;
    if (this.#producers.has(to) || this.isInput(to) || this.#initializers.has(to)) {
      throw new Error(`graph "${this.name}": cannot rename "${from}" to "${to}": "${to}" is already defined`);
    }
    const p = this.#producers.get(from);
    if (p) p.setOutputs(p.outputs.map((v) => (v === from ? to : v)));
    if (this.isInput(from)) this.inputs = this.#inputs.map((v) => (v.name === from ? v.with({ name: to }) : v));
    if (this.#initializers.has(from)) {
      const entries = [...this.#initializers]; // keep the initializer's place in the order
      this.#initializers.clear();
      for (const [k, t] of entries) this.#initializers.set(k === from ? to : k, k === from ? t.with({ name: to }) : t);
      this.#changed();
    }
    if (this.#sparse.some((s) => s.values.name === from)) {
      this.sparseInitializers = this.#sparse.map((s) => (s.values.name === from ? { ...s, values: s.values.with({ name: to }) } : s));
    }
    this.replaceAllUses(from, to);
    if (this.isOutput(from)) this.outputs = this.#outputs.map((v) => (v.name === from ? v.with({ name: to }) : v));
    const vi = this.valueInfo.get(from);
    if (vi) {
      this.valueInfo.delete(from);
      this.valueInfo.set(to, vi.with({ name: to }));
    }
    this.#noteNames([to]);
  }

  /**
   * A name used nowhere in this graph, its subgraphs or the graphs enclosing it (values and node
   * names alike): `base` itself if free, else `base_1`, `base_2`, ... The name is reserved: the
   * next call never returns it again.
   */
  uniqueName(base: string): string {
    const root = this.#root();
    const names = (root.#names ??= collectNames(root));
    let name = base;
    if (names.has(name)) {
      let i = root.#nameCounters.get(base) ?? 1;
      while (names.has(`${base}_${i}`)) i++;
      root.#nameCounters.set(base, i + 1);
      name = `${base}_${i}`;
    }
    names.add(name);
    return name;
  }

  /**
   * Orders the nodes so every node comes after the producers of what it reads, keeping the
   * current order wherever it already does (a stable sort). Throws ONNX_GRAPH_CYCLE naming the
   * nodes and values of a cycle.
   * @param options.recursive sort subgraphs too. @defaultValue true
   */
  topologicalSort(options: { recursive?: boolean } = {}): void {
    const order = topologicalOrder(this);
    this.#nodes = order;
    this.#nodesShared = false;
    this.#removed = 0;
    if (options.recursive ?? true) for (const n of order) for (const g of n.subgraphs()) g.topologicalSort(options);
  }

  /** Every node of this graph and, depth-first after each node, of its subgraphs. */
  *walk(): Generator<Node> {
    for (const n of this.nodes) {
      yield n;
      for (const g of n.subgraphs()) yield* g.walk();
    }
  }

  /**
   * Values this graph reads but does not define (not an input, initializer or node output here):
   * for a subgraph, what it takes from enclosing scopes.
   */
  get outerScopeNames(): readonly string[] {
    if (this.#outer) return this.#outer;
    const defined = new Set<string>(['']);
    for (const v of this.#inputs) defined.add(v.name);
    for (const k of this.#initializers.keys()) defined.add(k);
    for (const s of this.#sparse) defined.add(s.values.name);
    const nodes = this.nodes;
    for (const n of nodes) for (const v of n.outputs) defined.add(v);
    const outer = new Set<string>();
    for (const n of nodes) {
      for (const v of n.inputs) if (!defined.has(v)) outer.add(v);
      for (const v of n.implicitInputs) if (!defined.has(v)) outer.add(v);
    }
    for (const v of this.#outputs) if (!defined.has(v.name)) outer.add(v.name);
    return (this.#outer = Object.freeze([...outer]));
  }

  /** A deep copy, detached: nodes and subgraphs copied, tensors and value infos shared (they are immutable). */
  clone(): Graph {
    return new Graph({
      name: this.name, docString: this.docString, metadata: this.metadata, inputs: this.#inputs, outputs: this.#outputs,
      initializers: this.#initializers.values(), sparseInitializers: this.#sparse, valueInfo: this.valueInfo.values(),
      quantizationAnnotation: this.quantizationAnnotation, nodes: this.nodes.map((n) => n.clone()),
    });
  }

  // ---- the index protocol (called by Node) ----------------------------------------------------

  /** @internal */
  [INPUTS_CHANGED](node: Node): void {
    this.#reindex(node);
    this.#noteNames(node.inputs);
    this.#changed();
  }

  /** @internal */
  [OUTPUTS_CHANGED](node: Node, before: readonly string[]): void {
    for (const v of before) if (v && this.#producers.get(v) === node) this.#producers.delete(v);
    for (const v of node.outputs) if (v && !this.#producers.has(v)) this.#producers.set(v, node);
    this.#noteNames(node.outputs);
    this.#changed();
  }

  /** @internal */
  [SUBGRAPHS_CHANGED](node: Node): void {
    this.#stale.add(node);
    this.#noteNodeNames(node);
    this.#changed();
  }

  // ---- private --------------------------------------------------------------------------------

  /** Records what `node` reads (inputs and subgraph captures) in the consumer index. */
  #reindex(node: Node): void {
    // Nodes read a handful of values: arrays and includes() beat Sets here (this runs per node on load).
    const next: string[] = [];
    for (const v of node.inputs) if (v && !next.includes(v)) next.push(v);
    if (node.hasSubgraphs) for (const v of node.implicitInputs) if (!next.includes(v)) next.push(v);
    const prev = node[INDEXED];
    for (const v of prev) if (!next.includes(v)) this.#consumers.get(v)?.delete(node);
    for (const v of next) {
      let set = this.#consumers.get(v);
      if (!set) this.#consumers.set(v, (set = new Set()));
      set.add(node);
    }
    node[INDEXED] = next;
    if (this.#stale.size) this.#stale.delete(node);
  }

  #flush(): void {
    for (const n of this.#stale) if (n[GRAPH] === this) this.#reindex(n);
    this.#stale.clear();
  }

  /** Something here changed: forget cached captures here and in every enclosing graph. */
  #changed(): void {
    this.#outer = undefined;
    const owner = this[OWNER];
    owner?.[GRAPH]?.[SUBGRAPHS_CHANGED](owner);
  }

  #compact(): void {
    if (this.#removed === 0) return;
    this.#nodes = this.#nodes.filter((n) => n[GRAPH] === this);
    this.#nodesShared = false;
    this.#removed = 0;
  }

  #ownNodes(): Node[] {
    if (this.#nodesShared) {
      this.#nodes = [...this.#nodes];
      this.#nodesShared = false;
    }
    return this.#nodes;
  }

  #adopt(node: Node | NodeInit): Node {
    const n = node instanceof NodeClass ? node : new NodeClass(node);
    if (n[GRAPH]) throw new Error(`${describeNode(n)} is already in graph "${n[GRAPH].name}": remove it there or clone() it`);
    return n;
  }

  #assertMine(node: Node): void {
    if (node[GRAPH] !== this) throw new Error(`${describeNode(node)} is not a node of graph "${this.name}"`);
  }

  #attach(n: Node): void {
    n[GRAPH] = this;
    for (const v of n.outputs) if (v && !this.#producers.has(v)) this.#producers.set(v, n);
    this.#reindex(n);
    this.#noteNodeNames(n);
    this.#changed();
  }

  #detach(n: Node): void {
    for (const v of n.outputs) if (v && this.#producers.get(v) === n) this.#producers.delete(v);
    for (const v of n[INDEXED]) this.#consumers.get(v)?.delete(n);
    n[INDEXED] = [];
    this.#stale.delete(n);
    n[GRAPH] = undefined;
    this.#changed();
  }

  #root(): Graph {
    let g: Graph = this;
    for (let owner = g[OWNER]; owner?.[GRAPH]; owner = g[OWNER]) g = owner[GRAPH];
    return g;
  }

  /** Adds a node's names, and every name in its subgraphs, to the reserved names (once uniqueName is in use). */
  #noteNodeNames(n: Node): void {
    const set = this.#root().#names;
    if (!set) return;
    if (n.name) set.add(n.name);
    for (const v of n.outputs) if (v) set.add(v);
    for (const g of n.subgraphs()) for (const v of collectNames(g)) set.add(v);
  }

  #noteNames(names: Iterable<string>): void {
    const set = this.#root().#names;
    if (set) for (const v of names) if (v) set.add(v);
  }
}

/** Replaces uses of `from` in a node: its inputs, and in its subgraphs where `from` is not shadowed. */
function replaceUsesInNode(n: Node, from: string, to: string): number {
  let count = n.replaceInput(from, to);
  for (const a of n.attributes.values()) {
    for (const g of attributeGraphs(a)) {
      if (!g.outerScopeNames.includes(from)) continue;
      for (const inner of g.consumers(from)) count += replaceUsesInNode(inner, from, to);
      if (g.isOutput(from)) {
        g.outputs = g.outputs.map((v) => (v.name === from ? v.with({ name: to }) : v));
        count++;
      }
    }
  }
  return count;
}

function collectNames(root: Graph): Set<string> {
  const names = new Set<string>();
  const visit = (g: Graph): void => {
    for (const v of g.inputs) names.add(v.name);
    for (const v of g.outputs) names.add(v.name);
    for (const k of g.initializers.keys()) names.add(k);
    for (const s of g.sparseInitializers) names.add(s.values.name);
    for (const k of g.valueInfo.keys()) names.add(k);
    for (const n of g.nodes) {
      if (n.name) names.add(n.name);
      for (const v of n.inputs) if (v) names.add(v);
      for (const v of n.outputs) if (v) names.add(v);
      for (const sub of n.subgraphs()) visit(sub);
    }
  };
  visit(root);
  return names;
}
