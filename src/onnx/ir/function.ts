/**
 * A model-local function (FunctionProto): an operator defined by a body of nodes, called by
 * nodes whose (domain, opType[, overload]) match. The body is a Graph, so passes work on it as
 * on any graph: its inputs and outputs are the function's formal parameters (name only, unless
 * value_info types them).
 */
import type { Attribute } from './attribute.js';
import type { Graph } from './graph.js';

export interface FunctionInit {
  name: string;
  domain: string;
  /** @defaultValue '' */
  overload?: string;
  /** Attribute names the function takes without a default. @defaultValue [] */
  attributes?: readonly string[];
  /** Attributes the function takes, with their default values. @defaultValue none */
  attributeDefaults?: ReadonlyMap<string, Attribute>;
  /** Opsets the body uses, domain to version. @defaultValue none */
  opsetImports?: ReadonlyMap<string, number>;
  body: Graph;
  /** @defaultValue '' */
  docString?: string;
  /** @defaultValue none */
  metadata?: ReadonlyMap<string, string>;
}

export class FunctionDef {
  name: string;
  domain: string;
  overload: string;
  /** Attribute names taken without a default (FunctionProto.attribute). */
  attributes: string[];
  /** Attributes taken with a default (FunctionProto.attribute_proto). */
  readonly attributeDefaults: Map<string, Attribute>;
  readonly opsetImports: Map<string, number>;
  /** The body: its inputs/outputs are the function's parameters, its value_info the function's. */
  body: Graph;
  docString: string;
  readonly metadata: Map<string, string>;

  constructor(init: FunctionInit) {
    this.name = init.name;
    this.domain = init.domain;
    this.overload = init.overload ?? '';
    this.attributes = [...(init.attributes ?? [])];
    this.attributeDefaults = new Map(init.attributeDefaults);
    this.opsetImports = new Map(init.opsetImports);
    this.body = init.body;
    this.docString = init.docString ?? '';
    this.metadata = new Map(init.metadata);
  }

  /** Formal input names. */
  get inputs(): string[] {
    return this.body.inputs.map((v) => v.name);
  }

  /** Formal output names. */
  get outputs(): string[] {
    return this.body.outputs.map((v) => v.name);
  }

  /** A deep copy (the body cloned). */
  clone(): FunctionDef {
    return new FunctionDef({ ...this, body: this.body.clone() });
  }
}

