/**
 * Node checks against the operator schema in force for the imported opset: the operator exists
 * (or a model-local function defines it), is not deprecated, gets a number of inputs and outputs
 * its formal parameters allow, only attributes it declares, each of the declared type, and every
 * required one. Types are checked in types.ts, If/Loop/Scan bodies in control-flow.ts.
 */
import type { Attribute } from '../ir/attribute.js';
import type { FunctionDef } from '../ir/function.js';
import type { Node } from '../ir/node.js';
import type { CheckContext, Frame, Scope } from './context.js';
import { functionName } from './context.js';
import { checkControlFlow } from './control-flow.js';
import { plural, shortList } from './report.js';
import type { FormalParameter, OpSchema } from './schemas.js';
import { STANDARD_DOMAINS, canonicalDomain } from './schemas.js';
import { checkSparseTensor, checkTensor } from './tensors.js';
import { checkNodeTypes, schemaName } from './types.js';

/** Operators onnx.checker passes unchecked (experimental ops ONNX dropped): a warning, not an error. */
const EXPERIMENTAL = new Set([
  'ATen', 'Affine', 'ConstantFill', 'Crop', 'DynamicSlice', 'GRUUnit', 'GivenTensorFill', 'ImageScaler', 'ParametricSoftplus', 'Scale', 'ScaledTanh',
]);

/**
 * Schemas registered with AllowUncheckedAttributes: onnx.checker lets any attribute through, so an
 * unknown one is a warning here (found by checking a bogus attribute on every schema of onnx 1.23.2).
 */
const UNCHECKED_ATTRIBUTES = new Set(['ai.onnx.LayerNormalization-17']);

/**
 * Checks one node (not its subgraphs: the graph walk recurses into those). Returns the types of
 * its outputs where they can be told, for the type checks of later nodes.
 */
export function checkNode(
  cx: CheckContext, frame: Frame, scope: Scope, n: Node, label: string, declared: (name: string) => string | undefined,
): (string | undefined)[] | undefined {
  const r = cx.report;
  if (!n.opType) r.error('node', label, 'the node has no op_type');
  if (n.inputs.length === 0 && n.outputs.length === 0) r.error('node', label, 'the node has no inputs and no outputs');
  for (const [name, a] of n.attributes) checkAttributeValue(cx, frame, label, name, a);
  if (!n.opType) return undefined;

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
  if (frame.fn) checkFunctionOpset(cx, n, label, domain, version);

  const schema = cx.schemas.lookup(domain, n.opType, version);
  if (!schema) {
    const fn = findFunction(cx, n);
    if (fn) checkFunctionCall(cx, n, label, fn);
    else if (STANDARD_DOMAINS.has(domain)) unknownOperator(cx, n, label, domain, version);
    else cx.noteCustomOp(domain, n.opType, label);
    return undefined;
  }
  if (schema.deprecated) {
    r.error('deprecated-op', label, `${n.opType} is deprecated in ${domain} opset ${version} (since opset ${schema.since})${n.opType === 'Upsample' ? ': use Resize' : n.opType === 'Scatter' ? ': use ScatterElements' : ''}`);
    return undefined;
  }
  checkArity(cx, n, label, schema, 'input', n.inputs, schema.inputs, schema.minInputs, schema.maxInputs);
  checkArity(cx, n, label, schema, 'output', n.outputs, schema.outputs, schema.minOutputs, schema.maxOutputs);
  checkAttributes(cx, n, label, schema);
  checkControlFlow(cx, n, label, schema);
  return checkNodeTypes(cx, scope, n, schema, label, declared);
}

function checkAttributeValue(cx: CheckContext, frame: Frame, label: string, name: string, a: Attribute): void {
  const r = cx.report;
  if (!name) r.error('attribute', label, 'an attribute has no name');
  switch (a.type) {
    case 'tensor': checkTensor(cx, a.value, label, `attribute "${name}"`); break;
    case 'tensors': a.value.forEach((t, i) => checkTensor(cx, t, label, `attribute "${name}"[${i}]`)); break;
    case 'sparse_tensor': checkSparseTensor(cx, a.value, label, `attribute "${name}"`); break;
    case 'sparse_tensors': a.value.forEach((s, i) => checkSparseTensor(cx, s, label, `attribute "${name}"[${i}]`)); break;
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
  cx: CheckContext, n: Node, label: string, schema: OpSchema, kind: 'input' | 'output',
  actual: readonly string[], params: readonly FormalParameter[], min: number, max: number | null,
): void {
  const count = actual.length;
  if (count < min || (max !== null && count > max)) {
    const range = max === null ? `at least ${min}` : min === max ? `${min}` : `${min} to ${max}`;
    cx.report.error('arity', label, `${plural(count, kind)}, but ${schemaName(schema)} takes ${range}${describeParams(params)}`);
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

function checkAttributes(cx: CheckContext, n: Node, label: string, schema: OpSchema): void {
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
      if (UNCHECKED_ATTRIBUTES.has(`${schema.domain}.${schema.name}-${schema.since}`)) r.warn('attribute', label, `${text} (onnx.checker lets it through)`);
      else r.error('attribute', label, text);
      continue;
    }
    const type = a.type === 'ref' ? a.refType : a.type;
    if (type !== s.type) r.error('attribute', label, `attribute "${name}" has type ${type}, but ${sname} takes ${s.type}`);
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
