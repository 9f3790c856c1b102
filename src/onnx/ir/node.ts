/**
 * A node (NodeProto): an operator applied to named values. Inputs and outputs are value names;
 * '' marks an omitted optional input or output. Change them with the set* methods: the graph's
 * producer/consumer index follows every change.
 */
import { FerryError } from '../../errors.js';
import type { Attribute } from './attribute.js';
import { attributeGraphs } from './attribute.js';
import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import type { OpaqueProto } from '../proto/types.js';
import { GRAPH, INDEXED, INPUTS_CHANGED, OUTPUTS_CHANGED, OWNER, SUBGRAPHS_CHANGED } from './internal.js';

export interface NodeInit {
  /** The operator, e.g. 'Conv'. */
  opType: string;
  /** Input value names, '' for an omitted optional input. @defaultValue [] */
  inputs?: readonly string[];
  /** Output value names, '' for an omitted optional output. @defaultValue [] */
  outputs?: readonly string[];
  /** @defaultValue '' */
  name?: string;
  /** The operator set: '' (= 'ai.onnx'), 'com.microsoft', ... @defaultValue '' */
  domain?: string;
  /** Function overload (NodeProto.overload). @defaultValue '' */
  overload?: string;
  /** Attributes by name: build them with `attr` (`{ axis: attr.int(1) }`). @defaultValue none */
  attributes?: Readonly<Record<string, Attribute>> | ReadonlyMap<string, Attribute>;
  /** @defaultValue '' */
  docString?: string;
  /** NodeProto metadata_props. @defaultValue none */
  metadata?: ReadonlyMap<string, string>;
  /** NodeProto device_configurations, kept verbatim. @defaultValue [] */
  deviceConfigurations?: readonly OpaqueProto[];
}

const utf8 = new TextDecoder();
const NONE: readonly OpaqueProto[] = Object.freeze([]);

export class Node {
  name: string;
  opType: string;
  /** '' for the default ONNX domain (also written 'ai.onnx'). */
  domain: string;
  overload: string;
  docString: string;
  #metadata: Map<string, string> | undefined;
  /** NodeProto device_configurations (sharding), kept verbatim. */
  deviceConfigurations: readonly OpaqueProto[];
  #inputs: readonly string[];
  #outputs: readonly string[];
  readonly #attributes = new Map<string, Attribute>();
  /** How many attributes hold graphs. */
  #graphAttributes = 0;
  /** @internal */ [GRAPH]: Graph | undefined = undefined;
  /** @internal */ [INDEXED]: readonly string[] = [];

  constructor(init: NodeInit) {
    this.opType = init.opType;
    this.name = init.name ?? '';
    this.domain = init.domain ?? '';
    this.overload = init.overload ?? '';
    this.docString = init.docString ?? '';
    if (init.metadata?.size) this.#metadata = new Map(init.metadata);
    this.deviceConfigurations = init.deviceConfigurations ?? NONE;
    this.#inputs = Object.freeze([...(init.inputs ?? [])]);
    this.#outputs = Object.freeze([...(init.outputs ?? [])]);
    const attributes = init.attributes instanceof Map ? init.attributes : Object.entries(init.attributes ?? {});
    for (const [name, value] of attributes) this.setAttribute(name, value);
  }

  /** NodeProto metadata_props (made on first access: most nodes have none). */
  get metadata(): Map<string, string> {
    return (this.#metadata ??= new Map());
  }

  /** The graph this node is in; undefined once removed (or before it is added). */
  get graph(): Graph | undefined {
    return this[GRAPH];
  }

  /** Input value names in order; '' = omitted optional input. */
  get inputs(): readonly string[] {
    return this.#inputs;
  }

  /** Output value names in order; '' = omitted optional output. */
  get outputs(): readonly string[] {
    return this.#outputs;
  }

  /** Sets input `index` (it may be `inputs.length`, to append; gaps fill with ''). */
  setInput(index: number, name: string): void {
    this.setInputs(withItem(this.#inputs, index, name));
  }

  setInputs(names: readonly string[]): void {
    this.#inputs = Object.freeze([...names]);
    this[GRAPH]?.[INPUTS_CHANGED](this);
  }

  /** Replaces every use of `from` among the explicit inputs by `to`; returns how many. */
  replaceInput(from: string, to: string): number {
    let n = 0;
    const next = this.#inputs.map((v) => (v === from ? (n++, to) : v));
    if (n) this.setInputs(next);
    return n;
  }

  /** Sets output `index` (it may be `outputs.length`, to append; gaps fill with ''). */
  setOutput(index: number, name: string): void {
    this.setOutputs(withItem(this.#outputs, index, name));
  }

  setOutputs(names: readonly string[]): void {
    const before = this.#outputs;
    this.#outputs = Object.freeze([...names]);
    this[GRAPH]?.[OUTPUTS_CHANGED](this, before);
  }

  /** Attributes by name, in file order. Change them with setAttribute/removeAttribute. */
  get attributes(): ReadonlyMap<string, Attribute> {
    return this.#attributes;
  }

  attribute(name: string): Attribute | undefined {
    return this.#attributes.get(name);
  }

  /**
   * Sets an attribute (build it with `attr`). A graph attribute's graph becomes this node's: a
   * graph belongs to one node at a time (clone() it to use it twice).
   */
  setAttribute(name: string, value: Attribute): void {
    const graphs = attributeGraphs(value);
    for (const g of graphs) {
      const owner = g[OWNER];
      const ownAttr = owner === this ? [...this.#attributes].find(([k, a]) => k !== name && attributeGraphs(a).includes(g)) : undefined;
      if ((owner && owner !== this) || ownAttr) {
        throw new Error(`graph "${g.name}" already belongs to ${describeNode(owner!)}${ownAttr ? ` (attribute ${ownAttr[0]})` : ''}: clone() it to use it again`);
      }
    }
    const old = this.#attributes.get(name);
    const oldGraphs = old ? attributeGraphs(old) : [];
    for (const g of oldGraphs) if (!graphs.includes(g)) g[OWNER] = undefined;
    for (const g of graphs) g[OWNER] = this;
    this.#attributes.set(name, value);
    this.#graphAttributes += (isGraphAttribute(value) ? 1 : 0) - (old && isGraphAttribute(old) ? 1 : 0);
    if (graphs.length || oldGraphs.length) this[GRAPH]?.[SUBGRAPHS_CHANGED](this);
  }

  removeAttribute(name: string): boolean {
    const old = this.#attributes.get(name);
    if (!old) return false;
    this.#attributes.delete(name);
    if (isGraphAttribute(old)) this.#graphAttributes--;
    const graphs = attributeGraphs(old);
    for (const g of graphs) g[OWNER] = undefined;
    if (graphs.length) this[GRAPH]?.[SUBGRAPHS_CHANGED](this);
    return true;
  }

  // Typed attribute getters. Each returns `fallback` when the attribute is absent and a fallback is
  // given; without one, a missing attribute, or one of another type, throws ONNX_INVALID naming the
  // node and attribute (a model problem `check` reports). `attribute(name)` reads without throwing.

  /** The int attribute as a number (int64 values beyond 2^53 are rounded); `fallback` when absent. */
  getInt(name: string, fallback?: number): number {
    const a = this.#get(name, 'int', fallback);
    return a === undefined ? fallback! : Number(a.value);
  }

  /** The int attribute exactly. */
  getBigInt(name: string, fallback?: bigint): bigint {
    const a = this.#get(name, 'int', fallback);
    return a === undefined ? fallback! : a.value;
  }

  getFloat(name: string, fallback?: number): number {
    const a = this.#get(name, 'float', fallback);
    return a === undefined ? fallback! : a.value;
  }

  /** The string attribute (bytes that are not UTF-8 are decoded with replacement characters). */
  getString(name: string, fallback?: string): string {
    const a = this.#get(name, 'string', fallback);
    return a === undefined ? fallback! : typeof a.value === 'string' ? a.value : utf8.decode(a.value);
  }

  /** The ints attribute as numbers (int64 values beyond 2^53 are rounded). */
  getInts(name: string, fallback?: readonly number[]): number[] {
    const a = this.#get(name, 'ints', fallback);
    return a === undefined ? [...fallback!] : a.value.map(Number);
  }

  getFloats(name: string, fallback?: readonly number[]): number[] {
    const a = this.#get(name, 'floats', fallback);
    return a === undefined ? [...fallback!] : [...a.value];
  }

  getStrings(name: string, fallback?: readonly string[]): string[] {
    const a = this.#get(name, 'strings', fallback);
    return a === undefined ? [...fallback!] : a.value.map((s) => (typeof s === 'string' ? s : utf8.decode(s)));
  }

  getTensor(name: string): Tensor {
    return this.#get(name, 'tensor', undefined)!.value;
  }

  getGraph(name: string): Graph {
    return this.#get(name, 'graph', undefined)!.value;
  }

  /** True when an attribute holds a graph (If, Loop, Scan ...). */
  get hasSubgraphs(): boolean {
    return this.#graphAttributes > 0;
  }

  /** The graphs this node's attributes hold (If branches, Loop/Scan bodies), in attribute order. */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.#attributes.values()) out.push(...attributeGraphs(a));
    return out;
  }

  /**
   * Values the node's subgraphs read from enclosing scopes (outer-scope captures): uses of this
   * node as much as its inputs are, so `graph.consumers()` counts them.
   */
  get implicitInputs(): readonly string[] {
    if (!this.#graphAttributes) return [];
    let out: Set<string> | undefined;
    for (const a of this.#attributes.values()) {
      for (const g of attributeGraphs(a)) for (const v of g.outerScopeNames) (out ??= new Set()).add(v);
    }
    return out ? [...out] : [];
  }

  /** A detached copy: same name, inputs, outputs and attributes; subgraphs deep-copied, tensors shared. */
  clone(): Node {
    const attributes = new Map<string, Attribute>();
    for (const [k, a] of this.#attributes) {
      if (a.type === 'graph') attributes.set(k, { ...a, value: a.value.clone() });
      else if (a.type === 'graphs') attributes.set(k, { ...a, value: a.value.map((g) => g.clone()) });
      else attributes.set(k, a);
    }
    return new Node({
      opType: this.opType, name: this.name, domain: this.domain, overload: this.overload, inputs: this.#inputs, outputs: this.#outputs,
      attributes, docString: this.docString, metadata: this.#metadata, deviceConfigurations: this.deviceConfigurations,
    });
  }

  /** `Conv "conv1"`, or `Conv -> y` for an unnamed node: for messages. */
  toString(): string {
    return describeNode(this);
  }

  #get<T extends Attribute['type']>(name: string, type: T, fallback: unknown): Extract<Attribute, { type: T }> | undefined {
    const a = this.#attributes.get(name);
    if (!a) {
      if (fallback !== undefined) return undefined;
      throw new FerryError('ONNX_INVALID', `${describeNode(this)}: attribute "${name}" is missing`);
    }
    if (a.type !== type) throw new FerryError('ONNX_INVALID', `${describeNode(this)}: attribute "${name}" is ${a.type === 'ref' ? `a reference to "${a.ref}"` : `a ${a.type}`}, expected ${type}`);
    return a as Extract<Attribute, { type: T }>;
  }
}

/** `Conv "conv1"`, or `Conv -> y` when the node has no name. */
export function describeNode(n: Node): string {
  const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
  return n.name ? `${op} "${n.name}"` : `${op} -> ${n.outputs.filter(Boolean).join(', ') || '(no outputs)'}`;
}

function isGraphAttribute(a: Attribute): boolean {
  return a.type === 'graph' || a.type === 'graphs';
}

function withItem(list: readonly string[], index: number, value: string): string[] {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`index ${index} is not a non-negative integer`);
  const next = [...list];
  while (next.length < index) next.push('');
  next[index] = value;
  return next;
}
