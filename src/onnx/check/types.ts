/**
 * Type checks against an operator's type constraints, where the types are known: from graph
 * inputs, initializers and value_info, and a light propagation — an output whose formal type is a
 * constraint (T) an input bound, a literal type (Shape's tensor(int64)), or Cast/Constant's
 * declared type. No shape inference: unknown types are skipped, never guessed.
 */
import type { Attribute } from '../ir/attribute.js';
import { DataType, dataTypeInfo } from '../ir/data-type.js';
import type { Node } from '../ir/node.js';
import type { TypeInfo } from '../ir/value-info.js';
import type { CheckContext, Scope } from './context.js';
import { shortList } from './report.js';
import type { FormalParameter, OpSchema } from './schemas.js';

/** ONNX's type string for an element type: 'float' for FLOAT. */
function elemName(code: number): string | undefined {
  if (code === DataType.UNDEFINED) return undefined;
  return dataTypeInfo(code)?.name.toLowerCase();
}

/** 'tensor(float)' for a tensor element type; undefined when unset or unknown. */
export function tensorType(code: number): string | undefined {
  const e = elemName(code);
  return e && `tensor(${e})`;
}

/** ONNX's type string for a value type ('tensor(float)', 'seq(tensor(int64))', ...); undefined when not fully known. */
export function typeString(t: TypeInfo | undefined): string | undefined {
  if (!t) return undefined;
  switch (t.kind) {
    case 'tensor': return tensorType(t.elemType);
    case 'sparse_tensor': {
      const e = elemName(t.elemType);
      return e && `sparse_tensor(${e})`;
    }
    case 'sequence': {
      const e = typeString(t.elem);
      return e && `seq(${e})`;
    }
    case 'optional': {
      const e = typeString(t.elem);
      return e && `optional(${e})`;
    }
    case 'map': {
      const k = elemName(t.keyType);
      const v = typeString(t.value);
      return k && v && `map(${k},${v})`;
    }
    case 'opaque': return undefined;
  }
}

const norm = (s: string) => s.replace(/\s+/g, '');

/** The formal parameter the i-th actual input/output binds to (the last one when it is variadic). */
function paramAt(params: readonly FormalParameter[], i: number): FormalParameter | undefined {
  if (i < params.length) return params[i];
  const last = params.at(-1);
  return last?.option === 'variadic' ? last : undefined;
}

/** `Conv-11`, or `ai.onnx.ml.LabelEncoder-2`: a schema version in messages. */
export function schemaName(s: OpSchema): string {
  return `${s.domain === 'ai.onnx' ? '' : `${s.domain}.`}${s.name}-${s.since}`;
}

const CONSTANT_VALUES: Readonly<Record<string, string>> = {
  value: '', sparse_value: '', value_float: 'tensor(float)', value_floats: 'tensor(float)', value_int: 'tensor(int64)',
  value_ints: 'tensor(int64)', value_string: 'tensor(string)', value_strings: 'tensor(string)',
};

/** The output type Cast, Constant and ConstantOfShape take from an attribute; undefined for other nodes. */
function attributeOutputType(n: Node, r: CheckContext['report'], label: string): string | undefined {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return undefined;
  const a = (name: string): Attribute | undefined => n.attribute(name);
  switch (n.opType) {
    case 'Cast': {
      const to = a('to');
      if (to?.type !== 'int') return undefined;
      const t = tensorType(Number(to.value));
      if (!t) r.error('attribute', label, `attribute "to" is ${to.value}, which is not an ONNX data type`);
      return t;
    }
    case 'Constant': {
      const set = [...n.attributes.keys()].filter((k) => k in CONSTANT_VALUES);
      if (set.length !== 1) {
        r.error('attribute', label, set.length ? `sets ${set.join(' and ')}: a Constant takes exactly one value attribute` : `has no value: a Constant takes exactly one of ${Object.keys(CONSTANT_VALUES).join(', ')}`);
        return undefined;
      }
      const v = a(set[0]!)!;
      if (v.type === 'tensor') return tensorType(v.value.dataType);
      return CONSTANT_VALUES[set[0]!] || undefined;
    }
    case 'ConstantOfShape': {
      const v = a('value');
      return v?.type === 'tensor' ? tensorType(v.value.dataType) : v ? undefined : 'tensor(float)';
    }
    default:
      return undefined;
  }
}

/**
 * Checks the known input and output types of a node against its schema's type constraints, and
 * that the values bound to one constraint agree. Returns the output types it can tell.
 * `declared` gives the type value_info or a graph output records for a name.
 */
export function checkNodeTypes(
  cx: CheckContext, scope: Scope, n: Node, schema: OpSchema, label: string, declared: (name: string) => string | undefined,
): (string | undefined)[] {
  const r = cx.report;
  const bound = new Map<string, { type: string; from: string }>();
  const constraints = schema.typeConstraints;
  const sname = schemaName(schema);

  const test = (kind: 'input' | 'output', i: number, name: string, t: string, p: FormalParameter | undefined): void => {
    if (!p) return;
    const allowed = constraints[p.type] ?? (p.type.includes('(') ? [p.type] : undefined);
    // map types: the schemas spell them loosely ('map(int64, float)'); not worth a parser
    if (!allowed || t.includes('map(') || allowed.some((a) => a.includes('map('))) return;
    if (!allowed.some((a) => norm(a) === t)) {
      const what = constraints[p.type] ? `${p.type}: ${shortList([...allowed].sort(), 8)}` : allowed[0];
      r.error('type', label, `${kind} ${i} "${name}" (${p.name}) is ${t}, but ${sname} takes ${what}`);
      return;
    }
    if (!constraints[p.type] || (p.option === 'variadic' && p.homogeneous === false)) return;
    const b = bound.get(p.type);
    if (!b) bound.set(p.type, { type: t, from: `${kind} "${name}"` });
    else if (b.type !== t) r.error('type', label, `${kind} ${i} "${name}" (${p.name}) is ${t}, but ${b.from} is ${b.type}: ${sname} needs one type for ${p.type}`);
  };

  n.inputs.forEach((v, i) => {
    if (!v) return;
    const t = scope.lookup(v)?.type;
    if (t) test('input', i, v, t, paramAt(schema.inputs, i));
  });

  const fromAttribute = attributeOutputType(n, r, label);
  return n.outputs.map((v, i) => {
    if (!v) return undefined;
    const p = paramAt(schema.outputs, i);
    let inferred: string | undefined;
    if (i === 0 && fromAttribute) inferred = fromAttribute;
    else if (p && !constraints[p.type] && p.type.includes('(')) inferred = norm(p.type);
    else if (p && constraints[p.type]?.length === 1) inferred = norm(constraints[p.type]![0]!); // Shape's T1: tensor(int64)
    else if (p && constraints[p.type] && !(p.option === 'variadic' && p.homogeneous === false)) inferred = bound.get(p.type)?.type;
    const d = declared(v);
    if (d) {
      test('output', i, v, d, p);
      if (i === 0 && fromAttribute && d !== fromAttribute) r.error('type', label, `output 0 "${v}" is declared ${d}, but the node makes ${fromAttribute}`);
    }
    return d ?? inferred;
  });
}
