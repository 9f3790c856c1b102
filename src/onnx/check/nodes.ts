/**
 * Node checks against the operator schema in force for the imported opset (onnx.checker's
 * check_node and OpSchema::Verify): the operator exists (or a model-local function of a custom
 * domain defines it), is not deprecated, gets a number of inputs and outputs its formal parameters
 * allow, only attributes it declares, each of the declared type, and every required one. Types
 * are checked in types.ts, If/Loop/Scan bodies in control-flow.ts, attribute fields (for models
 * read from a file) in attributes.ts.
 */
import type { Attribute } from '../ir/attribute.js';
import type { FunctionDef } from '../ir/function.js';
import type { Node } from '../ir/node.js';
import type { NodeProto } from '../proto/types.js';
import { attributeProto, checkAttributeFields, checkAttributeValuePresent, fieldsAgree, hasType } from './attributes.js';
import type { CheckContext, Frame, Scope } from './context.js';
import { functionName } from './context.js';
import { checkControlFlow } from './control-flow.js';
import { plural, shortList } from './report.js';
import type { FormalParameter, OpSchema } from './schemas.js';
import { SCHEMA_ONLY_DOMAINS, STANDARD_DOMAINS, canonicalDomain } from './schemas.js';
import { checkSparseTensor, checkTensor } from './tensors.js';
import { checkNodeTypes, schemaName } from './types.js';

/** Operators onnx.checker passes unchecked (experimental ops ONNX dropped): a warning, not an error. */
const EXPERIMENTAL = new Set([
  'ATen', 'Affine', 'ConstantFill', 'Crop', 'DynamicSlice', 'GRUUnit', 'GivenTensorFill', 'ImageScaler', 'ParametricSoftplus', 'Scale', 'ScaledTanh',
]);

/**
 * Checks one node (not its subgraphs: the graph walk recurses into those). `proto` is the
 * NodeProto it was decoded from, when the model was read from a file. Returns the types of its
 * outputs where they can be told, for the type checks of later nodes.
 */
export function checkNode(
  cx: CheckContext, frame: Frame, scope: Scope, n: Node, label: string, declared: (name: string) => string | undefined, proto?: NodeProto,
): (string | undefined)[] | undefined {
  const r = cx.report;
  if (!n.opType) r.error('node', label, 'the node has no op_type');
  if (n.inputs.length === 0 && n.outputs.length === 0) r.error('node', label, 'the node has no inputs and no outputs');
  if (proto) checkAttributeFields(cx, label, proto, frame.nested === true);
  for (const [name, a] of n.attributes) checkAttributeValue(cx, frame, label, name, a, proto);
  if (!n.opType) return undefined;

  if (n.domain === 'ai.onnx') {
    // onnx.checker finds neither an opset import nor a schema for the spelled-out default domain
    r.error('node', label, 'the node\'s domain is "ai.onnx": ONNX\'s own operators are in the domain "" (leave it empty); onnx.checker finds no operator schema under "ai.onnx"');
    return undefined;
  }
  const domain = canonicalDomain(n.domain);
  const version = frame.imports.get(domain);
  if (version === undefined) {
    cx.noteMissingImport(frame, domain, label);
    return undefined;
  }
  if (domain === 'ai.onnx' && EXPERIMENTAL.has(n.opType)) {
    cx.noteExperimental(n.opType, label);
    return undefined;
  }
  if (frame.fn && !frame.nested && !frame.fn.opsetImports.has(n.domain)) {
    // check_opset_compatibility looks the node's domain up in the function's imports as spelled
    r.error('opset-import', label, `function ${functionName(frame.fn)} imports the default domain as "${n.domain ? '' : 'ai.onnx'}", but the node's domain is "${n.domain}": import it as "${n.domain}" (onnx.checker matches the spelling)`);
  }
  if (frame.fn) checkFunctionOpset(cx, n, label, domain, version);

  const schema = cx.schemas.lookup(domain, n.opType, version);
  if (!schema) {
    const fn = findFunction(cx, n);
    if (fn && SCHEMA_ONLY_DOMAINS.has(domain)) {
      r.error('unknown-op', label, `${n.opType} calls model-local function ${functionName(fn)}, but ${domain} operators must have an ONNX schema (onnx.checker does not look for functions there): give the function a domain of its own`);
    } else if (fn) checkFunctionCall(cx, n, label, fn);
    else if (STANDARD_DOMAINS.has(domain)) unknownOperator(cx, n, label, domain, version);
    else cx.noteCustomOp(domain, n.opType, label);
    return undefined;
  }
  if (schema.deprecated) {
    r.error('deprecated-op', label, `${n.opType} is deprecated in ${domain} opset ${version} (since opset ${schema.since})${n.opType === 'Upsample' ? ': use Resize' : n.opType === 'Scatter' ? ': use ScatterElements' : ''}`);
    return undefined;
  }
  checkArity(cx, label, schema, 'input', n.inputs, schema.inputs, schema.minInputs, schema.maxInputs, schema.allowedInputs);
  checkArity(cx, label, schema, 'output', n.outputs, schema.outputs, schema.minOutputs, schema.maxOutputs, schema.allowedOutputs);
  checkAttributes(cx, n, label, schema, proto);
  checkControlFlow(cx, n, label, schema);
  return checkNodeTypes(cx, scope, n, schema, label, declared);
}

function checkAttributeValue(cx: CheckContext, frame: Frame, label: string, name: string, a: Attribute, node: NodeProto | undefined): void {
  const r = cx.report;
  if (!name) r.error('attribute', label, 'an attribute has no name');
  const p = attributeProto(node, name);
  switch (a.type) {
    case 'tensor': if (!p || p.t) checkTensor(cx, a.value, label, `attribute "${name}"`, p?.t ?? undefined); break;
    case 'tensors': a.value.forEach((t, i) => checkTensor(cx, t, label, `attribute "${name}"[${i}]`, p?.tensors?.[i])); break;
    case 'sparse_tensor': if (!p || p.sparse_tensor) checkSparseTensor(cx, a.value, label, `attribute "${name}"`, p?.sparse_tensor ?? undefined); break;
    case 'sparse_tensors': a.value.forEach((s, i) => checkSparseTensor(cx, s, label, `attribute "${name}"[${i}]`, p?.sparse_tensors?.[i])); break;
    case 'ref':
      if (!frame.fn) r.error('attribute', label, `attribute "${name}" refers to "${a.ref}", but only nodes in a function body can refer to attributes`);
      else if (!frame.fn.attributes.includes(a.ref) && !frame.fn.attributeDefaults.has(a.ref)) {
        r.error('attribute', label, `attribute "${name}" refers to "${a.ref}", which function ${functionName(frame.fn)} does not take`);
      }
      break;
    default:
  }
}

function checkArity(
  cx: CheckContext, label: string, schema: OpSchema, kind: 'input' | 'output',
  actual: readonly string[], params: readonly FormalParameter[], min: number, max: number | null, allowed: readonly number[] | undefined,
): void {
  const count = actual.length;
  if (count < min || (max !== null && count > max)) {
    const range = max === null ? `at least ${min}` : min === max ? `${min}` : `${min} to ${max}`;
    cx.report.error('arity', label, `${plural(count, kind)}, but ${schemaName(schema)} takes ${range}${describeParams(params)}`);
    return;
  }
  if (allowed && !allowed.includes(count)) {
    const list = `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`;
    cx.report.error('arity', label, `${plural(count, kind)}, but ${schemaName(schema)} takes ${list}${describeParams(params)} (name the ones you skip '' rather than dropping them)`);
    return;
  }
  actual.forEach((v, i) => {
    const p = i < params.length ? params[i] : undefined;
    if (!v && p?.option === 'single') cx.report.error('arity', label, `${kind} ${i} (${p.name}) is required, but the node leaves it empty`);
  });
}

/** ` (X, W, B optional)`: the formal parameters, for arity messages. */
function describeParams(params: readonly FormalParameter[]): string {
  if (!params.length) return '';
  return ` (${params.map((p) => `${p.name}${p.option === 'single' ? '' : p.option === 'optional' ? ' optional' : '...'}`).join(', ')})`;
}

function checkAttributes(cx: CheckContext, n: Node, label: string, schema: OpSchema, node: NodeProto | undefined): void {
  const r = cx.report;
  const declared = schema.attributes;
  const sname = schemaName(schema);
  for (const [name, a] of n.attributes) {
    if (name.startsWith('__')) continue; // internal symbols: implementation details onnx.checker skips
    const s = Object.hasOwn(declared, name) ? declared[name] : undefined;
    if (!s) {
      const names = Object.keys(declared);
      const near = names.filter((k) => editDistance(k, name) <= 2);
      const hint = near.length ? ` (did you mean ${near.map((k) => `"${k}"`).join(' or ')}?)` : '';
      const text = `unknown attribute "${name}"${hint}: ${sname} takes ${names.length ? shortList(names, 12) : 'no attributes'}`;
      if (schema.uncheckedAttributes) r.warn('attribute', label, `${text} (onnx.checker lets it through)`);
      else r.error('attribute', label, text);
      continue;
    }
    const p = attributeProto(node, name);
    if (p && !hasType(p)) {
      // from IR version 2 checkAttributeFields said so already; before, Verify finds the type UNDEFINED
      if (cx.model.irVersion < 2) r.error('attribute', label, `attribute "${name}" has no type, but ${sname} takes ${s.type} (set AttributeProto.type)`);
      continue;
    }
    if (p && !fieldsAgree(p)) continue; // its fields contradict its type: said once, by checkAttributeFields
    const type = a.type === 'ref' ? a.refType : a.type;
    if (type !== s.type) r.error('attribute', label, `attribute "${name}" has type ${type}, but ${sname} takes ${s.type}`);
    else if (p) checkAttributeValuePresent(cx, label, name, s.type, p);
  }
  for (const [name, s] of Object.entries(declared)) {
    if (s.required && !n.attributes.has(name)) r.error('attribute', label, `required attribute "${name}" (${s.type}) is missing`);
  }
}

/** Levenshtein distance, for "did you mean" on attribute names (a few short strings). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** A model-local function a node calls: same domain ('' = ai.onnx), name and overload. */
function findFunction(cx: CheckContext, n: Node): FunctionDef | undefined {
  const domain = canonicalDomain(n.domain);
  return cx.model.functions.find((f) => canonicalDomain(f.domain) === domain && f.name === n.opType && f.overload === n.overload);
}

function checkFunctionCall(cx: CheckContext, n: Node, label: string, fn: FunctionDef): void {
  const r = cx.report;
  const name = functionName(fn);
  if (n.inputs.length > fn.inputs.length) r.error('arity', label, `${plural(n.inputs.length, 'input')}, but function ${name} takes ${fn.inputs.length}`);
  if (n.outputs.length > fn.outputs.length) r.error('arity', label, `${plural(n.outputs.length, 'output')}, but function ${name} has ${fn.outputs.length}`);
  for (const a of n.attributes.keys()) {
    if (!fn.attributes.includes(a) && !fn.attributeDefaults.has(a)) r.warn('attribute', label, `attribute "${a}" is not one function ${name} takes; it is ignored`);
  }
}

function unknownOperator(cx: CheckContext, n: Node, label: string, domain: string, version: number): void {
  const history = cx.schemas.history(domain, n.opType);
  let why: string;
  if (history.length) {
    why = `${n.opType} is not in ${domain} opset ${version}: it was added in opset ${history[0]!.since}`;
  } else {
    const similar = cx.schemas.similar(domain, n.opType);
    why = `${domain} has no operator ${n.opType}${similar.length ? ` (did you mean ${similar.join(' or ')}?)` : ''}`;
  }
  cx.report.error('unknown-op', label, why);
}

/**
 * In a function body, a domain the model imports too must resolve to the same schema version under
 * both imports (onnx.checker's check_opset_compatibility).
 */
function checkFunctionOpset(cx: CheckContext, n: Node, label: string, domain: string, fnVersion: number): void {
  const modelVersion = cx.functionModelImports.get(domain);
  if (modelVersion === undefined || modelVersion === fnVersion) return;
  const a = cx.schemas.lookup(domain, n.opType, modelVersion);
  const b = cx.schemas.lookup(domain, n.opType, fnVersion);
  if (!a && !b) return;
  if (!a || !b || a.since !== b.since) {
    cx.report.error('function', label, `the function imports ${domain} opset ${fnVersion}, the model opset ${modelVersion}, and ${n.opType} differs between them (${b ? `${b.since}` : 'none'} vs ${a ? `${a.since}` : 'none'})`);
  }
}
