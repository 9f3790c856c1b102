/**
 * AttributeProto fields as the file has them, as onnx.checker's check_attribute and
 * OpSchema::Verify read them: each attribute named once per node, its `type` set (required from IR
 * version 2), at most one value field and the one its type says, no value beside a reference to a
 * function attribute in a subgraph, and a TENSOR, GRAPH, SPARSE_TENSOR or TYPE_PROTO attribute of
 * an operator that takes one carrying that value. The IR keeps one typed value per attribute name,
 * so these rules need the decoded NodeProto: only models read from a file are checked by them.
 */
import type { AttributeProto, NodeProto } from '../proto/types.js';
import { AttributeProtoType as T } from '../proto/types.js';
import type { CheckContext } from './context.js';

/** Value fields, the attribute type each one holds, and whether it is repeated. */
const VALUE_FIELDS: readonly (readonly [keyof AttributeProto, number, boolean])[] = [
  ['f', T.FLOAT, false], ['i', T.INT, false], ['s', T.STRING, false], ['t', T.TENSOR, false], ['g', T.GRAPH, false],
  ['tp', T.TYPE_PROTO, false], ['sparse_tensor', T.SPARSE_TENSOR, false], ['floats', T.FLOATS, true], ['ints', T.INTS, true],
  ['strings', T.STRINGS, true], ['tensors', T.TENSORS, true], ['graphs', T.GRAPHS, true], ['sparse_tensors', T.SPARSE_TENSORS, true],
  ['type_protos', T.TYPE_PROTOS, true],
];

const TYPE_NAMES = new Map<number, string>(Object.entries(T).map(([k, v]) => [v, k.toLowerCase()]));

/** 'float', 'tensors', ... for an AttributeType code (the IR's names); 'undefined' when unset. */
export function attributeTypeName(code: number | undefined): string {
  return TYPE_NAMES.get(code ?? 0) ?? `unknown (${code})`;
}

/** True when the AttributeProto's `type` field is in the file (protobufjs: an own property). */
export function hasType(a: AttributeProto): boolean {
  return Object.hasOwn(a, 'type') && a.type !== T.UNDEFINED;
}

/** The value fields an AttributeProto sets. */
function valueFields(a: AttributeProto): (readonly [keyof AttributeProto, number, boolean])[] {
  return VALUE_FIELDS.filter(([field, , repeated]) => {
    const v = a[field];
    return repeated ? Array.isArray(v) && v.length > 0 : Object.hasOwn(a, field) && v != null;
  });
}

/** False when the attribute's value fields contradict its type (checkAttributeFields reports that). */
export function fieldsAgree(a: AttributeProto): boolean {
  const used = valueFields(a);
  return used.length === 0 || (used.length === 1 && used[0]![1] === a.type);
}

/** The last AttributeProto of a node with that name: the one the IR keeps. */
export function attributeProto(node: NodeProto | undefined, name: string): AttributeProto | undefined {
  const list = node?.attribute ?? [];
  for (let i = list.length - 1; i >= 0; i--) if ((list[i]!.name ?? '') === name) return list[i];
  return undefined;
}

/**
 * The node's attributes as fields (check_attribute). `nested`: the node is in a subgraph, where
 * an attribute that refers to a function attribute must not carry a value of its own.
 */
export function checkAttributeFields(cx: CheckContext, label: string, node: NodeProto, nested: boolean): void {
  const r = cx.report;
  const seen = new Set<string>();
  for (const a of node.attribute ?? []) {
    const name = a.name ?? '';
    if (seen.has(name)) r.error('attribute', label, `attribute "${name}" is given twice: a node names each attribute once`);
    seen.add(name);
    if (!hasType(a) && cx.model.irVersion >= 2) {
      r.error('attribute', label, `attribute "${name}" has no type: AttributeProto.type is required from IR version 2 (this model is IR ${cx.model.irVersion})`);
    }
    const used = valueFields(a);
    if (used.length > 1) {
      r.error('attribute', label, `attribute "${name}" holds values in ${used.map(([f]) => f).join(' and ')}: an attribute has one value field`);
    } else if (used.length === 1 && hasType(a) && used[0]![1] !== a.type) {
      r.error('attribute', label, `attribute "${name}" is declared ${attributeTypeName(a.type)} but holds its value in ${used[0]![0]}, the field of a ${attributeTypeName(used[0]![1])}`);
    }
    if (nested && a.ref_attr_name && used.length) {
      r.error('attribute', label, `attribute "${name}" refers to function attribute "${a.ref_attr_name}" and also holds a value (in ${used.map(([f]) => f).join(', ')}): a reference has no value of its own`);
    }
  }
}

/** The field a TENSOR, GRAPH, SPARSE_TENSOR or TYPE_PROTO attribute keeps its value in. */
const MESSAGE_FIELDS: Readonly<Record<string, keyof AttributeProto>> = { tensor: 't', graph: 'g', sparse_tensor: 'sparse_tensor', type_proto: 'tp' };

/**
 * OpSchema::Verify: an attribute of the type the schema declares, when that type is a message,
 * must carry it (a TENSOR attribute without `t` reads as an empty tensor). Returns false when it
 * reported a problem.
 */
export function checkAttributeValuePresent(cx: CheckContext, label: string, name: string, schemaType: string, a: AttributeProto): boolean {
  const field = MESSAGE_FIELDS[schemaType];
  if (!field || a.ref_attr_name || (Object.hasOwn(a, field) && a[field] != null)) return true;
  cx.report.error('attribute', label, `attribute "${name}" is a ${schemaType} without its value: AttributeProto.${field} is not set`);
  return false;
}
