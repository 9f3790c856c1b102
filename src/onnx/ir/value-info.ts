/**
 * The type of a value (TypeProto) and a named, typed value (ValueInfoProto): graph inputs and
 * outputs, and the intermediate types shape inference records (graph.valueInfo).
 */
import type { DataType } from './data-type.js';
import { dataTypeName } from './data-type.js';

/** One dimension: a number (dim_value), a symbolic name (dim_param, e.g. "batch"), or null (unknown). */
export type Dim = number | string | null;

export interface TensorTypeInfo {
  readonly kind: 'tensor' | 'sparse_tensor';
  /** Element type code (DataType); 0 when the file leaves it unset. */
  readonly elemType: DataType;
  /** Dims; undefined when even the rank is unknown. */
  readonly shape: readonly Dim[] | undefined;
  /** Per-dim denotations (TensorShapeProto.Dimension.denotation), only when the file has any. */
  readonly dimDenotations?: readonly string[];
  readonly denotation?: string;
}

export interface SequenceTypeInfo {
  readonly kind: 'sequence';
  readonly elem: TypeInfo | undefined;
  readonly denotation?: string;
}

export interface MapTypeInfo {
  readonly kind: 'map';
  readonly keyType: DataType;
  readonly value: TypeInfo | undefined;
  readonly denotation?: string;
}

export interface OptionalTypeInfo {
  readonly kind: 'optional';
  readonly elem: TypeInfo | undefined;
  readonly denotation?: string;
}

export interface OpaqueTypeInfo {
  readonly kind: 'opaque';
  readonly domain: string;
  readonly name: string;
  readonly denotation?: string;
}

/** TypeProto: what kind of value, and for tensors the element type and shape. */
export type TypeInfo = TensorTypeInfo | SequenceTypeInfo | MapTypeInfo | OptionalTypeInfo | OpaqueTypeInfo;

/** A named value and its type (immutable: `with()` makes a changed copy). */
export class ValueInfo {
  readonly name: string;
  /** Undefined when the file gives no type (allowed for function inputs and intermediate values). */
  readonly type: TypeInfo | undefined;
  readonly docString: string;
  /** ValueInfoProto metadata_props. */
  readonly metadata: ReadonlyMap<string, string>;

  constructor(init: { name: string; type?: TypeInfo | undefined; docString?: string; metadata?: ReadonlyMap<string, string> }) {
    this.name = init.name;
    this.type = init.type;
    this.docString = init.docString ?? '';
    this.metadata = init.metadata ?? new Map();
  }

  /** A tensor value: `ValueInfo.tensor('x', DataType.FLOAT, ['batch', 3, 224, 224])`. Omit `shape` for unknown rank. */
  static tensor(name: string, elemType: DataType, shape?: readonly Dim[]): ValueInfo {
    return new ValueInfo({ name, type: { kind: 'tensor', elemType, shape: shape && Object.freeze([...shape]) } });
  }

  /** The element type of a tensor (or sparse tensor) value; undefined for other kinds or no type. */
  get elemType(): DataType | undefined {
    const t = this.type;
    return t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') ? t.elemType : undefined;
  }

  /** The dims of a tensor (or sparse tensor) value; undefined when unknown or not a tensor. */
  get shape(): readonly Dim[] | undefined {
    const t = this.type;
    return t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') ? t.shape : undefined;
  }

  /** A copy with some fields changed. */
  with(changes: { name?: string; type?: TypeInfo | undefined; docString?: string; metadata?: ReadonlyMap<string, string> }): ValueInfo {
    return new ValueInfo({
      name: changes.name ?? this.name,
      type: 'type' in changes ? changes.type : this.type,
      docString: changes.docString ?? this.docString,
      metadata: changes.metadata ?? this.metadata,
    });
  }

  /** `x: FLOAT[batch,3,224,224]`: for messages and tables. */
  toString(): string {
    return `${this.name}: ${typeToString(this.type)}`;
  }
}

/** `FLOAT[batch,3,?]`, `seq(FLOAT[?])`, `map(INT64,FLOAT[])`, `?` for no type. */
export function typeToString(t: TypeInfo | undefined): string {
  if (!t) return '?';
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const shape = t.shape ? `[${t.shape.map((d) => (d === null ? '?' : String(d))).join(',')}]` : '[...]';
      return `${t.kind === 'sparse_tensor' ? 'sparse ' : ''}${dataTypeName(t.elemType)}${shape}`;
    }
    case 'sequence': return `seq(${typeToString(t.elem)})`;
    case 'optional': return `optional(${typeToString(t.elem)})`;
    case 'map': return `map(${dataTypeName(t.keyType)},${typeToString(t.value)})`;
    case 'opaque': return `opaque(${t.domain ? `${t.domain}.` : ''}${t.name})`;
  }
}
