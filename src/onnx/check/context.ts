/**
 * State shared by the checks of one model: the report, the schema table, the opsets in force in
 * each graph, the names each graph scope defines, and the notes that are reported once per model
 * (missing opset imports, custom and experimental operators).
 */
import { lstatSync } from 'node:fs';
import type { FunctionDef } from '../ir/function.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { GraphProto, ModelProto } from '../proto/types.js';
import { Reporter, plural, shortList } from './report.js';
import type { SchemaTable } from './schemas.js';
import { canonicalDomain } from './schemas.js';

/** One graph being checked: the main graph, a subgraph (If/Loop/Scan body) or a function body. */
export interface Frame {
  readonly graph: Graph;
  /** Put before node labels: '' in the main graph, `If "c" > then_branch > ` in a subgraph. */
  readonly prefix: string;
  /** Names the graph in messages: `graph "main"`, `If "c" > then_branch`, `function com.acme.Gelu`. */
  readonly label: string;
  /** The model's main graph: its inputs and outputs must be fully typed. */
  readonly main: boolean;
  /** A subgraph (an If/Loop/Scan body, in the main graph or a function): onnx.checker's !is_main_graph. */
  readonly nested?: boolean;
  /** Opsets in force, canonical domain ('ai.onnx' for '') to version. */
  readonly imports: ReadonlyMap<string, number>;
  /** Set inside a function body (and its subgraphs). */
  readonly fn?: FunctionDef;
  /**
   * The protobuf message the graph was decoded from, when the model was read from a file: its
   * nodes, initializers, inputs and outputs in the IR's order. The wire-level rules (attribute and
   * tensor fields the IR normalizes away) read it; a model built in memory has none.
   */
  readonly proto?: GraphProto;
}

/** What lstat tells of an external data file: its size, and whether it is a symbolic link or has other hard links. */
export interface FileInfo {
  readonly size: number | undefined;
  readonly symlink: boolean;
  readonly links: number;
}

/** What defined a name, and its type when known (an ONNX type string: 'tensor(float)'). */
export interface Binding {
  /** 'a graph input', 'an initializer', or the label of the node that produces it. */
  readonly origin: string;
  type: string | undefined;
}

/** The names a graph defines, over those of the graphs enclosing it (ONNX lexical scoping). */
export class Scope {
  readonly #names = new Map<string, Binding>();
  readonly parent: Scope | undefined;

  constructor(parent: Scope | undefined) {
    this.parent = parent;
  }

  /** The binding of a name in this graph or an enclosing one. */
  lookup(name: string): Binding | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const b = s.#names.get(name);
      if (b) return b;
    }
    return undefined;
  }

  /** The binding of a name in this graph only. */
  here(name: string): Binding | undefined {
    return this.#names.get(name);
  }

  define(name: string, origin: string, type: string | undefined): void {
    this.#names.set(name, { origin, type });
  }
}

/** The opsets of a model or function, by canonical domain. */
export function canonicalImports(imports: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [domain, version] of imports) out.set(canonicalDomain(domain), version);
  return out;
}

export class CheckContext {
  readonly report = new Reporter();
  readonly schemas: SchemaTable;
  readonly model: Model;
  /** The ModelProto the model was decoded from, when it was read from a file. */
  readonly proto: ModelProto | undefined;
  /** The model's opsets, plus those functions import for domains the model does not (onnx.checker's merge). */
  functionModelImports: ReadonlyMap<string, number> = new Map();
  /** Nodes checked, in every graph, subgraph and function body. */
  nodes = 0;
  readonly #missingImports = new Map<string, { where: string; nodes: string[] }>();
  readonly #custom = new Map<string, { domain: string; nodes: string[] }>();
  readonly #experimental = new Map<string, string[]>();
  readonly #files = new Map<string, FileInfo>();

  constructor(model: Model, schemas: SchemaTable, proto?: ModelProto) {
    this.model = model;
    this.schemas = schemas;
    this.proto = proto;
  }

  /** A node uses a domain its model (or function) does not import: reported once per domain. */
  noteMissingImport(frame: Frame, domain: string, node: string): void {
    const owner = frame.fn ? `function ${functionName(frame.fn)}` : 'the model';
    const key = `${owner}\0${domain}`;
    let entry = this.#missingImports.get(key);
    if (!entry) this.#missingImports.set(key, (entry = { where: owner, nodes: [] }));
    entry.nodes.push(node);
  }

  /** A node of a domain the schema table does not know and no model-local function defines. */
  noteCustomOp(domain: string, opType: string, node: string): void {
    const key = `${domain}.${opType}`;
    let entry = this.#custom.get(key);
    if (!entry) this.#custom.set(key, (entry = { domain, nodes: [] }));
    entry.nodes.push(node);
  }

  /** A node of an experimental operator onnx.checker lets through unchecked. */
  noteExperimental(opType: string, node: string): void {
    let nodes = this.#experimental.get(opType);
    if (!nodes) this.#experimental.set(opType, (nodes = []));
    nodes.push(node);
  }

  /** Reports the notes gathered over the whole model. */
  flushNotes(): void {
    for (const [key, { where, nodes }] of this.#missingImports) {
      const domain = key.slice(key.indexOf('\0') + 1);
      this.report.error('opset-import', nodes[0]!, `domain "${domain}" is not in ${where === 'the model' ? "the model's" : `${where}'s`} opset_import; used by ${plural(nodes.length, 'node')}: ${shortList(nodes)}`);
    }
    for (const [op, { domain, nodes }] of this.#custom) {
      this.report.warn('custom-op', nodes[0]!, `${op} (${plural(nodes.length, 'node')}): no schema for domain "${domain}" and no model-local function of that name; its inputs, outputs and attributes are not checked`);
    }
    for (const [op, nodes] of this.#experimental) {
      this.report.warn('experimental-op', nodes[0]!, `${op} (${plural(nodes.length, 'node')}) is an experimental operator ONNX no longer defines; not checked (ONNX Runtime may not run it)`);
    }
  }

  /** An external data file, lstat'ed once: its size (undefined when it is missing or not a regular file), links. */
  file(path: string): FileInfo {
    let info = this.#files.get(path);
    if (!info) {
      try {
        const st = lstatSync(path);
        info = { size: st.isFile() ? st.size : undefined, symlink: st.isSymbolicLink(), links: st.nlink };
      } catch {
        info = { size: undefined, symlink: false, links: 0 };
      }
      this.#files.set(path, info);
    }
    return info;
  }
}

/** `com.acme.Gelu`, with `:overload` when it has one. */
export function functionName(fn: FunctionDef): string {
  return `${fn.domain ? `${fn.domain}.` : ''}${fn.name}${fn.overload ? `:${fn.overload}` : ''}`;
}
