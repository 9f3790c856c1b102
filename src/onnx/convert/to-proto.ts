/**
 * The IR to protobuf messages (plain objects protobufjs encodes). Tensor data goes where the
 * caller's `placeTensor` says: inline (raw_data, or the type-specific field it was read from) or
 * external (data_location=EXTERNAL with location/offset/length; the caller writes the bytes).
 * Fields left at their defaults are omitted (set to undefined, which protobufjs skips), as ONNX's
 * own serializer does.
 */
import type { Attribute } from '../ir/attribute.js';
import { DataType } from '../ir/data-type.js';
import type { FunctionDef } from '../ir/function.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { SparseTensor } from '../ir/sparse-tensor.js';
import type { Tensor } from '../ir/tensor.js';
import { tensorStorage } from '../ir/tensor.js';
import type { Dim, TypeInfo, ValueInfo } from '../ir/value-info.js';
import { bigIntToInt64, numberToInt64 } from '../proto/int64.js';
import type {
  AttributeProto, DimensionProto, FunctionProto, GraphProto, ModelProto, NodeProto, SparseTensorProto, StringStringEntryProto,
  TensorProto, TypeProto, ValueInfoProto,
} from '../proto/types.js';
import { AttributeProtoType, DataLocation } from '../proto/types.js';

/** Where one tensor's bytes go when written externally. */
export interface ExternalPlacement {
  /** The location written into the model (relative to its directory). */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

/** Where a tensor is, in the model being written. */
export type TensorContext = 'initializer' | 'attribute' | 'sparse';

/** Decides, per tensor, whether its data goes to an external file (returns where) or inline (undefined). */
export type PlaceTensor = (tensor: Tensor, context: TensorContext) => ExternalPlacement | undefined;

const inline: PlaceTensor = () => undefined;

const utf8 = new TextEncoder();

function entries(map: ReadonlyMap<string, string>): StringStringEntryProto[] | undefined {
  return map.size ? [...map].map(([key, value]) => ({ key, value })) : undefined;
}


const str = (s: string): string | undefined => (s ? s : undefined);

export class ProtoWriter {
  readonly #place: PlaceTensor;

  constructor(place: PlaceTensor = inline) {
    this.#place = place;
  }

  /** The ModelProto; `graph: false` leaves the graph out (the writer streams it separately). */
  model(m: Model, options: { graph?: boolean } = {}): ModelProto {
    return {
      ir_version: m.irVersion ? numberToInt64(m.irVersion) : undefined,
      producer_name: str(m.producerName),
      producer_version: str(m.producerVersion),
      domain: str(m.domain),
      model_version: m.modelVersion ? numberToInt64(m.modelVersion) : undefined,
      doc_string: str(m.docString),
      graph: options.graph === false ? undefined : this.graph(m.graph),
      opset_import: [...m.opsetImports].map(([domain, version]) => ({ domain: str(domain), version: numberToInt64(version) })),
      metadata_props: entries(m.metadata),
      training_info: m.trainingInfo.length ? [...m.trainingInfo] : undefined,
      functions: m.functions.length ? m.functions.map((f) => this.function(f)) : undefined,
      configuration: m.configuration.length ? [...m.configuration] : undefined,
    };
  }

  /** The GraphProto; `initializers: false` leaves the initializers out (the writer streams them). */
  graph(g: Graph, options: { initializers?: boolean } = {}): GraphProto {
    return {
      node: g.nodes.map((n) => this.node(n)),
      name: str(g.name),
      initializer: options.initializers === false ? undefined : [...g.initializers.values()].map((t) => this.tensor(t, 'initializer')),
      doc_string: str(g.docString),
      input: g.inputs.map((v) => this.valueInfo(v)),
      output: g.outputs.map((v) => this.valueInfo(v)),
      value_info: g.valueInfo.size ? [...g.valueInfo.values()].map((v) => this.valueInfo(v)) : undefined,
      quantization_annotation: g.quantizationAnnotation.length ? [...g.quantizationAnnotation] : undefined,
      sparse_initializer: g.sparseInitializers.length ? g.sparseInitializers.map((s) => this.sparse(s, 'sparse')) : undefined,
      metadata_props: entries(g.metadata),
    };
  }

  function(f: FunctionDef): FunctionProto {
    const valueInfo = [...f.body.valueInfo.values()];
    return {
      name: f.name,
      input: f.inputs,
      output: f.outputs,
      attribute: f.attributes.length ? f.attributes : undefined,
      attribute_proto: f.attributeDefaults.size ? [...f.attributeDefaults].map(([name, a]) => this.attribute(name, a)) : undefined,
      node: f.body.nodes.map((n) => this.node(n)),
      doc_string: str(f.docString),
      opset_import: [...f.opsetImports].map(([domain, version]) => ({ domain: str(domain), version: numberToInt64(version) })),
      domain: f.domain,
      overload: str(f.overload),
      value_info: valueInfo.length ? valueInfo.map((v) => this.valueInfo(v)) : undefined,
      metadata_props: entries(f.metadata),
    };
  }

  node(n: Node): NodeProto {
    return {
      input: n.inputs as string[], // read only by the encoder
      output: n.outputs as string[],
      name: str(n.name),
      op_type: n.opType,
      domain: str(n.domain),
      overload: str(n.overload),
      attribute: n.attributes.size ? [...n.attributes].map(([name, a]) => this.attribute(name, a)) : undefined,
      doc_string: str(n.docString),
      metadata_props: entries(n.metadata),
      device_configurations: n.deviceConfigurations.length ? [...n.deviceConfigurations] : undefined,
    };
  }

  attribute(name: string, a: Attribute): AttributeProto {
    const base: AttributeProto = { name };
    if (a.docString) base.doc_string = a.docString;
    const bytes = (s: string | Uint8Array) => (typeof s === 'string' ? utf8.encode(s) : s);
    const T = AttributeProtoType;
    switch (a.type) {
      case 'ref': return { ...base, ref_attr_name: a.ref, type: a.refType === 'undefined' ? T.UNDEFINED : T[a.refType.toUpperCase() as keyof typeof T] };
      case 'float': return { ...base, f: a.value, type: T.FLOAT };
      case 'int': return { ...base, i: bigIntToInt64(a.value), type: T.INT };
      case 'string': return { ...base, s: bytes(a.value), type: T.STRING };
      case 'tensor': return { ...base, t: this.tensor(a.value, 'attribute'), type: T.TENSOR };
      case 'graph': return { ...base, g: this.graph(a.value), type: T.GRAPH };
      case 'sparse_tensor': return { ...base, sparse_tensor: this.sparse(a.value, 'attribute'), type: T.SPARSE_TENSOR };
      case 'type_proto': return { ...base, tp: this.type(a.value), type: T.TYPE_PROTO };
      case 'floats': return { ...base, floats: [...a.value], type: T.FLOATS };
      case 'ints': return { ...base, ints: a.value.map(bigIntToInt64), type: T.INTS };
      case 'strings': return { ...base, strings: a.value.map(bytes), type: T.STRINGS };
      case 'tensors': return { ...base, tensors: a.value.map((t) => this.tensor(t, 'attribute')), type: T.TENSORS };
      case 'graphs': return { ...base, graphs: a.value.map((g) => this.graph(g)), type: T.GRAPHS };
      case 'sparse_tensors': return { ...base, sparse_tensors: a.value.map((s) => this.sparse(s, 'attribute')), type: T.SPARSE_TENSORS };
      case 'type_protos': return { ...base, type_protos: a.value.map((t) => this.type(t)), type: T.TYPE_PROTOS };
    }
  }

  sparse(s: SparseTensor, context: TensorContext): SparseTensorProto {
    return { values: this.tensor(s.values, context), indices: this.tensor(s.indices, context), dims: s.dims.map(numberToInt64) };
  }

  /** A whole TensorProto, its data inline or external as placed. */
  tensor(t: Tensor, context: TensorContext): TensorProto {
    const placement = this.#place(t, context);
    const { head, tail } = this.tensorParts(t, placement);
    const raw = placement || !tensorHasRawData(t) ? undefined : t.bytes();
    return raw ? { ...head, raw_data: raw, ...tail } : { ...head, ...tail };
  }

  /** Where `placeTensor` puts a tensor (for callers that write the bytes themselves). */
  placement(t: Tensor, context: TensorContext): ExternalPlacement | undefined {
    return this.#place(t, context);
  }

  /**
   * A TensorProto split around raw_data (field 9): `head` holds fields 1-8 (dims, type, the
   * type-specific data fields except double/uint64, name), `tail` fields 10-16. Whether raw_data
   * goes between them is `tensorHasRawData(t)` (and not placed externally).
   */
  tensorParts(t: Tensor, placement: ExternalPlacement | undefined): { head: TensorProto; tail: TensorProto } {
    const head: TensorProto = {};
    const tail: TensorProto = {};
    if (t.dims.length) head.dims = t.dims.map(numberToInt64);
    if (t.dataType) head.data_type = t.dataType;
    const s = tensorStorage(t);
    if (!placement) {
      if (s.kind === 'strings') head.string_data = [...s.values];
      else if (s.kind === 'field') {
        if (s.field === 'double_data' || s.field === 'uint64_data') (tail as Record<string, unknown>)[s.field] = s.values;
        else (head as Record<string, unknown>)[s.field] = s.values;
      }
    }
    if (t.name) head.name = t.name;
    if (t.docString) tail.doc_string = t.docString;
    if (placement) {
      tail.external_data = [
        { key: 'location', value: placement.location },
        { key: 'offset', value: String(placement.offset) },
        { key: 'length', value: String(placement.length) },
      ];
      tail.data_location = DataLocation.EXTERNAL;
    }
    const meta = entries(t.metadata);
    if (meta) tail.metadata_props = meta;
    return { head, tail };
  }

  valueInfo(v: ValueInfo): ValueInfoProto {
    return { name: v.name, type: v.type ? this.type(v.type) : undefined, doc_string: str(v.docString), metadata_props: entries(v.metadata) };
  }

  type(t: TypeInfo): TypeProto {
    const denotation = t.denotation ? { denotation: t.denotation } : {};
    switch (t.kind) {
      case 'tensor':
      case 'sparse_tensor': {
        const body = {
          elem_type: t.elemType || undefined,
          shape: t.shape ? { dim: t.shape.map((d, i) => dim(d, t.dimDenotations?.[i])) } : undefined,
        };
        return t.kind === 'tensor' ? { tensor_type: body, ...denotation } : { sparse_tensor_type: body, ...denotation };
      }
      case 'sequence': return { sequence_type: { elem_type: t.elem && this.type(t.elem) }, ...denotation };
      case 'optional': return { optional_type: { elem_type: t.elem && this.type(t.elem) }, ...denotation };
      case 'map': return { map_type: { key_type: t.keyType || undefined, value_type: t.value && this.type(t.value) }, ...denotation };
      case 'opaque': return { opaque_type: { domain: str(t.domain), name: str(t.name) }, ...denotation };
    }
  }
}

function dim(d: Dim, denotation: string | undefined): DimensionProto {
  const out: DimensionProto = typeof d === 'number' ? { dim_value: numberToInt64(d) } : typeof d === 'string' ? { dim_param: d } : {};
  if (denotation) out.denotation = denotation;
  return out;
}

/** True when the tensor is written as raw_data inline (not as string_data or a type-specific field). */
export function tensorHasRawData(t: Tensor): boolean {
  const kind = tensorStorage(t).kind;
  return (kind === 'raw' || kind === 'external') && t.dataType !== DataType.STRING && t.byteLength > 0;
}
