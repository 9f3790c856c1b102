/**
 * The operator schema table `ferry check` verifies nodes against: data/onnx-schemas.json, every
 * schema of every opset with its history, dumped from the onnx Python package by
 * tools/gen_onnx_schemas.py. Read once, on first use (about 0.5 MB of JSON).
 */
import { readFileSync } from 'node:fs';
import { FerryError } from '../../errors.js';

/** A formal input or output of an operator. */
export interface FormalParameter {
  readonly name: string;
  /** A type constraint name ('T') or a literal type string ('tensor(int64)'). */
  readonly type: string;
  readonly option: 'single' | 'optional' | 'variadic';
  /** Variadic only: all the values it takes have one type. */
  readonly homogeneous?: boolean;
}

export interface AttributeSchema {
  /** 'int', 'ints', 'float', 'string', 'tensor', 'graph', ... (the IR's attribute type names). */
  readonly type: string;
  readonly required: boolean;
}

/** One version of one operator (onnx.defs.OpSchema). */
export interface OpSchema {
  /** 'ai.onnx' for the default domain. */
  readonly domain: string;
  readonly name: string;
  /** The opset version this definition appeared in. */
  readonly since: number;
  readonly deprecated: boolean;
  readonly minInputs: number;
  /** null: unbounded (a variadic last input). */
  readonly maxInputs: number | null;
  readonly minOutputs: number;
  readonly maxOutputs: number | null;
  readonly inputs: readonly FormalParameter[];
  readonly outputs: readonly FormalParameter[];
  readonly attributes: Readonly<Record<string, AttributeSchema>>;
  /** Constraint name to the type strings it allows ('tensor(float)', 'seq(tensor(int64))', ...). */
  readonly typeConstraints: Readonly<Record<string, readonly string[]>>;
  readonly function: boolean;
  /** The input counts allowed, when not every count in [minInputs, maxInputs] is (onnx's NumInputs({...})). */
  readonly allowedInputs?: readonly number[];
  /** The output counts allowed, when not every count in [minOutputs, maxOutputs] is: BatchNormalization's 1 or 5. */
  readonly allowedOutputs?: readonly number[];
  /** Registered with AllowUncheckedAttributes: onnx.checker lets any attribute through (LayerNormalization-17). */
  readonly uncheckedAttributes?: boolean;
}

interface TableFile {
  readonly onnx: string;
  readonly maxOpset: Record<string, number>;
  readonly schemas: readonly OpSchema[];
}

/** The default domain's canonical name in the table: '' and 'ai.onnx' are the same domain. */
export function canonicalDomain(domain: string): string {
  return domain === '' ? 'ai.onnx' : domain;
}

/** Domains whose operators ONNX defines: a node there without a schema is an error, not a custom op. */
export const STANDARD_DOMAINS: ReadonlySet<string> = new Set(['ai.onnx', 'ai.onnx.ml', 'ai.onnx.training', 'ai.onnx.preview', 'ai.onnx.preview.training']);

/**
 * The domains where onnx.checker looks only at operator schemas (check_node's built-in list): a
 * model-local function cannot define an operator there.
 */
export const SCHEMA_ONLY_DOMAINS: ReadonlySet<string> = new Set(['ai.onnx', 'ai.onnx.ml', 'ai.onnx.training']);

export class SchemaTable {
  /** The onnx package version the table was made from. */
  readonly onnxVersion: string;
  /** The newest opset of each domain the table knows. */
  readonly maxOpset: ReadonlyMap<string, number>;
  /** domain -> op -> versions, oldest first. */
  readonly #byOp = new Map<string, Map<string, OpSchema[]>>();

  constructor(file: TableFile) {
    this.onnxVersion = file.onnx;
    this.maxOpset = new Map(Object.entries(file.maxOpset));
    for (const s of file.schemas) {
      let ops = this.#byOp.get(s.domain);
      if (!ops) this.#byOp.set(s.domain, (ops = new Map()));
      let versions = ops.get(s.name);
      if (!versions) ops.set(s.name, (versions = []));
      versions.push(s);
    }
    for (const ops of this.#byOp.values()) for (const v of ops.values()) v.sort((a, b) => a.since - b.since);
  }

  /** True when the table has schemas for the domain ('' = ai.onnx). */
  hasDomain(domain: string): boolean {
    return this.#byOp.has(canonicalDomain(domain));
  }

  /** The schema in force at `opset`: the version with the largest `since` <= opset (as onnx's GetSchema). */
  lookup(domain: string, opType: string, opset: number): OpSchema | undefined {
    const versions = this.#byOp.get(canonicalDomain(domain))?.get(opType);
    if (!versions) return undefined;
    let found: OpSchema | undefined;
    for (const s of versions) {
      if (s.since > opset) break;
      found = s;
    }
    return found;
  }

  /** Every version of an operator, oldest first; empty when the domain has no such operator. */
  history(domain: string, opType: string): readonly OpSchema[] {
    return this.#byOp.get(canonicalDomain(domain))?.get(opType) ?? [];
  }

  /** Operators of a domain whose name matches `opType` ignoring case (for "did you mean"). */
  similar(domain: string, opType: string): string[] {
    const lower = opType.toLowerCase();
    return [...(this.#byOp.get(canonicalDomain(domain))?.keys() ?? [])].filter((k) => k.toLowerCase() === lower);
  }
}

let cached: SchemaTable | undefined;

/** The table in data/onnx-schemas.json (read once). Throws INTERNAL when the file is missing: a broken install. */
export function schemaTable(): SchemaTable {
  if (cached) return cached;
  const url = new URL('../../../data/onnx-schemas.json', import.meta.url);
  let file: TableFile;
  try {
    file = JSON.parse(readFileSync(url, 'utf8')) as TableFile;
  } catch (err) {
    throw new FerryError('INTERNAL', `cannot read the ONNX operator schema table ${url.pathname}: ${(err as Error).message} (the package is incomplete: it must ship data/)`, { cause: err });
  }
  return (cached = new SchemaTable(file));
}
