/**
 * `ferry check`: structural validation of an ONNX model in the spirit of onnx.checker, against the
 * operator schemas of data/onnx-schemas.json. Every problem is collected (the checks never stop at
 * the first); errors make a model invalid, warnings do not.
 *
 *   const report = checkModel(await loadModel('model.onnx', { verifyExternalData: false }));
 *   if (!report.ok) for (const e of report.errors) console.log(`${e.where}: ${e.message}`);
 *
 * One file per family of checks: model.ts (IR version, metadata, opset imports), graph.ts (SSA,
 * order, outputs, initializers, value infos), nodes.ts (operator schemas: arity, attributes),
 * attributes.ts (AttributeProto fields), types.ts (type constraints), control-flow.ts
 * (If/Loop/Scan bodies), tensors.ts (data fields and sizes, external files, sparse indices),
 * functions.ts (model-local functions, their opsets and call cycles).
 *
 * A model read from a file is checked with its decoded protobuf too: some faults onnx.checker
 * rejects (an attribute given twice or without a type, a tensor with data in two fields) do not
 * survive the trip into the IR.
 */
import { dirname, resolve } from 'node:path';
import { FerryError, isFerryError } from '../../errors.js';
import { modelFromProto } from '../convert/from-proto.js';
import { decodeModel, readModelBytes } from '../io/load.js';
import type { Model } from '../ir/model.js';
import { decodeModelProto } from '../proto/codec.js';
import type { ModelProto } from '../proto/types.js';
import { CheckContext } from './context.js';
import { checkFunctions } from './functions.js';
import { checkGraph } from './graph.js';
import { checkModelHeader } from './model.js';
import type { CheckIssue } from './report.js';
import { plural } from './report.js';
import { schemaTable } from './schemas.js';

export type { CheckIssue, CheckRule, Severity } from './report.js';
export { KNOWN_IR_VERSION } from './model.js';
export { schemaTable, SchemaTable } from './schemas.js';
export type { OpSchema, FormalParameter, AttributeSchema } from './schemas.js';

export interface CheckReport {
  /** No errors (warnings allowed). */
  readonly ok: boolean;
  /** Nodes checked: the main graph's, its subgraphs' and function bodies'. */
  readonly nodes: number;
  readonly errors: readonly CheckIssue[];
  readonly warnings: readonly CheckIssue[];
  /** The schema table the nodes were checked against. */
  readonly schemas: { readonly onnx: string; readonly maxOpset: Readonly<Record<string, number>> };
}

export interface CheckOptions {
  /**
   * The ModelProto `model` was decoded from (checkModelFile passes it): enables the rules on
   * protobuf fields the IR does not keep (duplicate attributes, attribute types and value fields,
   * tensor data fields, metadata keys, function domains). @defaultValue undefined: IR rules only
   */
  readonly proto?: ModelProto;
}

/** Checks a model in memory. Reads no tensor data except sparse indices; external data files are only stat'ed. */
export function checkModel(model: Model, options: CheckOptions = {}): CheckReport {
  const schemas = schemaTable();
  const { proto } = options;
  const cx = new CheckContext(model, schemas, proto);
  const imports = checkModelHeader(cx);
  const g = model.graph;
  checkGraph(cx, { graph: g, prefix: '', label: `graph "${g.name}"`, main: true, imports, ...(proto?.graph ? { proto: proto.graph } : {}) }, undefined);
  checkFunctions(cx);
  cx.flushNotes();
  const { errors, warnings } = cx.report;
  return { ok: errors.length === 0, nodes: cx.nodes, errors, warnings, schemas: { onnx: schemas.onnxVersion, maxOpset: Object.fromEntries(schemas.maxOpset) } };
}

/**
 * Loads and checks a .onnx file (external data files are stat'ed, not read), with the rules on
 * its protobuf fields. Throws ONNX_INVALID when the file cannot be read as a model at all.
 */
export async function checkModelFile(path: string): Promise<CheckReport & { model: Model }> {
  const file = resolve(path);
  const bytes = await readModelBytes(path);
  const options = { baseDir: dirname(file), verifyExternalData: false, source: path };
  let proto: ModelProto | undefined;
  try {
    proto = decodeModelProto(bytes);
  } catch {
    proto = undefined;
  }
  let model: Model;
  try {
    // decodeModel says what a file that is no model is (a ZIP, a pickle, truncated...)
    model = proto?.graph && proto.ir_version ? modelFromProto(proto, options) : decodeModel(bytes, options);
  } catch (err) {
    if (isFerryError(err)) throw err;
    // the IR refuses some malformed files while building (duplicate initializer names, absurd dims)
    throw new FerryError('ONNX_INVALID', `${path}: ${(err as Error).message}`, { cause: err });
  }
  return { ...checkModel(model, proto ? { proto } : {}), model };
}

/** Throws ONNX_CHECK_FAILED listing the first errors when the model fails the checks; returns the report otherwise. */
export function assertModelValid(model: Model, what = 'the model'): CheckReport {
  const report = checkModel(model);
  if (!report.ok) {
    const first = report.errors.slice(0, 5).map((e) => `${e.where}: ${e.message}`).join('; ');
    const more = report.errors.length > 5 ? ` (and ${report.errors.length - 5} more: run \`ferry check\`)` : '';
    throw new FerryError('ONNX_CHECK_FAILED', `${what} fails the ONNX checks with ${plural(report.errors.length, 'error')}: ${first}${more}`);
  }
  return report;
}
