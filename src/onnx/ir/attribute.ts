/**
 * Node attributes (AttributeProto) as a tagged union, and `attr`, the constructors to write them.
 *
 * Integers are int64 in ONNX, so `int`/`ints` values are bigint: exact (Slice's INT64_MAX
 * survives a round trip). Passes usually read them with `node.getInt()` / `getInts()`, which give
 * numbers. Strings are bytes in ONNX: a `string` value is a JS string when the bytes are UTF-8
 * (nearly always) and the Uint8Array itself when not (e.g. a compiled engine blob), so nothing is
 * lost; `node.getString()` always gives a string.
 */
import type { Tensor } from './tensor.js';
import type { Graph } from './graph.js';
import type { SparseTensor } from './sparse-tensor.js';
import type { TypeInfo } from './value-info.js';

interface Doc {
  /** AttributeProto doc_string. @defaultValue '' */
  readonly docString?: string;
}

export type FloatAttribute = Doc & { readonly type: 'float'; readonly value: number };
export type IntAttribute = Doc & { readonly type: 'int'; readonly value: bigint };
export type StringAttribute = Doc & { readonly type: 'string'; readonly value: string | Uint8Array };
export type TensorAttribute = Doc & { readonly type: 'tensor'; readonly value: Tensor };
export type GraphAttribute = Doc & { readonly type: 'graph'; readonly value: Graph };
export type SparseTensorAttribute = Doc & { readonly type: 'sparse_tensor'; readonly value: SparseTensor };
export type TypeAttribute = Doc & { readonly type: 'type_proto'; readonly value: TypeInfo };
export type FloatsAttribute = Doc & { readonly type: 'floats'; readonly value: readonly number[] };
export type IntsAttribute = Doc & { readonly type: 'ints'; readonly value: readonly bigint[] };
export type StringsAttribute = Doc & { readonly type: 'strings'; readonly value: readonly (string | Uint8Array)[] };
export type TensorsAttribute = Doc & { readonly type: 'tensors'; readonly value: readonly Tensor[] };
export type GraphsAttribute = Doc & { readonly type: 'graphs'; readonly value: readonly Graph[] };
export type SparseTensorsAttribute = Doc & { readonly type: 'sparse_tensors'; readonly value: readonly SparseTensor[] };
export type TypesAttribute = Doc & { readonly type: 'type_protos'; readonly value: readonly TypeInfo[] };
/**
 * Inside a function body: the attribute takes the value of the calling node's attribute `ref`
 * (AttributeProto.ref_attr_name); `refType` is the type it declares.
 */
export type RefAttribute = Doc & { readonly type: 'ref'; readonly ref: string; readonly refType: AttributeType };

export type Attribute =
  | FloatAttribute | IntAttribute | StringAttribute | TensorAttribute | GraphAttribute | SparseTensorAttribute | TypeAttribute
  | FloatsAttribute | IntsAttribute | StringsAttribute | TensorsAttribute | GraphsAttribute | SparseTensorsAttribute | TypesAttribute
  | RefAttribute;

/** The attribute types ONNX has (AttributeProto.AttributeType, lower-case); 'undefined' only in malformed files. */
export type AttributeType = Exclude<Attribute['type'], 'ref'> | 'undefined';

function toBigInt(v: number | bigint): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isInteger(v)) throw new RangeError(`attribute int ${v} is not an integer`);
  return BigInt(v);
}

/** Attribute constructors: `node.setAttribute('axis', attr.int(1))`. */
export const attr = {
  float: (value: number): FloatAttribute => ({ type: 'float', value }),
  /** Numbers must be integers; bigints are taken as they are. */
  int: (value: number | bigint): IntAttribute => ({ type: 'int', value: toBigInt(value) }),
  string: (value: string | Uint8Array): StringAttribute => ({ type: 'string', value }),
  tensor: (value: Tensor): TensorAttribute => ({ type: 'tensor', value }),
  /** The graph becomes the node's (a graph belongs to one node at a time: clone() it to reuse). */
  graph: (value: Graph): GraphAttribute => ({ type: 'graph', value }),
  floats: (value: readonly number[]): FloatsAttribute => ({ type: 'floats', value: Object.freeze([...value]) }),
  ints: (value: readonly (number | bigint)[]): IntsAttribute => ({ type: 'ints', value: Object.freeze(value.map(toBigInt)) }),
  strings: (value: readonly (string | Uint8Array)[]): StringsAttribute => ({ type: 'strings', value: Object.freeze([...value]) }),
  tensors: (value: readonly Tensor[]): TensorsAttribute => ({ type: 'tensors', value: Object.freeze([...value]) }),
  graphs: (value: readonly Graph[]): GraphsAttribute => ({ type: 'graphs', value: Object.freeze([...value]) }),
  sparseTensor: (value: SparseTensor): SparseTensorAttribute => ({ type: 'sparse_tensor', value }),
  typeProto: (value: TypeInfo): TypeAttribute => ({ type: 'type_proto', value }),
  /** A function-body attribute that takes the calling node's attribute `ref`. */
  ref: (ref: string, refType: AttributeType): RefAttribute => ({ type: 'ref', ref, refType }),
} as const;

/** The subgraphs an attribute holds (graph and graphs attributes); empty for the rest. */
export function attributeGraphs(a: Attribute): readonly Graph[] {
  return a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : [];
}
