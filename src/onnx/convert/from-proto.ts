/**
 * Decoded protobuf (ModelProto) to the IR. Tensor data is not touched: raw_data stays a view of
 * the file buffer, type-specific fields stay as decoded, external data stays on disk (its files
 * are only stat'ed, to check they hold what the model says).
 */
import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { FerryError } from '../../errors.js';
import type { Attribute, AttributeType } from '../ir/attribute.js';
import { DataType, dataTypeInfo, rawByteLength } from '../ir/data-type.js';
import { ExternalFile } from '../ir/external.js';
import type { ExternalLocation } from '../ir/external.js';
import { FunctionDef } from '../ir/function.js';
import { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import type { SparseTensor } from '../ir/sparse-tensor.js';
import type { Tensor, TensorStorage } from '../ir/tensor.js';
import { tensorFromStorage } from '../ir/tensor.js';
import type { Dim, TypeInfo } from '../ir/value-info.js';
import { ValueInfo } from '../ir/value-info.js';
import { int64ToBigInt, int64ToNumber } from '../proto/int64.js';
import type {
  AttributeProto, FunctionProto, GraphProto, Int64, ModelProto, NodeProto, SparseTensorProto, StringStringEntryProto,
  TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
} from '../proto/types.js';
import { AttributeProtoType, DataLocation } from '../proto/types.js';

export interface FromProtoOptions {
  /** The model file's directory: external data locations are relative to it. Undefined: none may be used. */
  baseDir: string | undefined;
  /** Stat external data files and check each tensor's byte range lies inside its file. */
  verifyExternalData: boolean;
  /** Names the model in messages (its path). */
  source: string;
}

/** Converts a decoded ModelProto. Throws ONNX_INVALID / ONNX_EXTERNAL_DATA naming what is wrong. */
export function modelFromProto(p: ModelProto, options: FromProtoOptions): Model {
  const cx = new Context(options);
  return new Model({
    irVersion: int64ToNumber(p.ir_version),
    opsetImports: new Map((p.opset_import ?? []).map((o) => [o.domain ?? '', int64ToNumber(o.version)])),
    producerName: p.producer_name ?? '',
    producerVersion: p.producer_version ?? '',
    domain: p.domain ?? '',
    modelVersion: int64ToNumber(p.model_version),
    docString: p.doc_string ?? '',
    metadata: metadata(p.metadata_props),
    graph: p.graph ? cx.graph(p.graph) : new Graph(),
    functions: (p.functions ?? []).map((f) => cx.function(f)),
    trainingInfo: p.training_info ?? [],
    configuration: p.configuration ?? [],
  });
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** A JS string when the bytes are UTF-8, else the bytes themselves (nothing is lost either way). */
function text(bytes: Uint8Array): string | Uint8Array {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return bytes;
  }
}

function metadata(entries: readonly StringStringEntryProto[] | undefined): Map<string, string> | undefined {
  return entries?.length ? new Map(entries.map((e) => [e.key ?? '', e.value ?? ''])) : undefined;
}

const ATTRIBUTE_TYPES: Record<number, AttributeType> = {
  [AttributeProtoType.UNDEFINED]: 'undefined', [AttributeProtoType.FLOAT]: 'float', [AttributeProtoType.INT]: 'int',
  [AttributeProtoType.STRING]: 'string', [AttributeProtoType.TENSOR]: 'tensor', [AttributeProtoType.GRAPH]: 'graph',
  [AttributeProtoType.SPARSE_TENSOR]: 'sparse_tensor', [AttributeProtoType.TYPE_PROTO]: 'type_proto',
  [AttributeProtoType.FLOATS]: 'floats', [AttributeProtoType.INTS]: 'ints', [AttributeProtoType.STRINGS]: 'strings',
  [AttributeProtoType.TENSORS]: 'tensors', [AttributeProtoType.GRAPHS]: 'graphs',
  [AttributeProtoType.SPARSE_TENSORS]: 'sparse_tensors', [AttributeProtoType.TYPE_PROTOS]: 'type_protos',
};

/** The type of an attribute whose `type` field is unset (files older than IR version 2): the field that is set. */
function inferAttributeType(a: AttributeProto): AttributeType {
  const has = (k: keyof AttributeProto) => Object.hasOwn(a, k) && a[k] != null;
  if (has('f')) return 'float';
  if (has('i')) return 'int';
  if (has('s')) return 'string';
  if (has('t')) return 'tensor';
  if (has('g')) return 'graph';
  if (has('sparse_tensor')) return 'sparse_tensor';
  if (has('tp')) return 'type_proto';
  if (a.floats?.length) return 'floats';
  if (a.ints?.length) return 'ints';
  if (a.strings?.length) return 'strings';
  if (a.tensors?.length) return 'tensors';
  if (a.graphs?.length) return 'graphs';
  if (a.sparse_tensors?.length) return 'sparse_tensors';
  if (a.type_protos?.length) return 'type_protos';
  return 'ints'; // nothing set: an empty list
}

class Context {
  readonly #options: FromProtoOptions;
  readonly #files = new Map<string, { file: ExternalFile; size: number | undefined }>();

  constructor(options: FromProtoOptions) {
    this.#options = options;
  }

  graph(p: GraphProto): Graph {
    return new Graph({
      name: p.name ?? '',
      docString: p.doc_string ?? '',
      metadata: metadata(p.metadata_props),
      inputs: (p.input ?? []).map((v) => this.valueInfo(v)),
      outputs: (p.output ?? []).map((v) => this.valueInfo(v)),
      valueInfo: (p.value_info ?? []).map((v) => this.valueInfo(v)),
      initializers: (p.initializer ?? []).map((t) => this.tensor(t)),
      sparseInitializers: (p.sparse_initializer ?? []).map((s) => this.sparse(s)),
      quantizationAnnotation: p.quantization_annotation ?? [],
      nodes: (p.node ?? []).map((n) => this.node(n)),
    });
  }

  function(p: FunctionProto): FunctionDef {
    const types = new Map((p.value_info ?? []).map((v) => [v.name ?? '', this.valueInfo(v)]));
    const param = (name: string) => types.get(name) ?? new ValueInfo({ name });
    return new FunctionDef({
      name: p.name ?? '',
      domain: p.domain ?? '',
      overload: p.overload ?? '',
      attributes: p.attribute ?? [],
      attributeDefaults: new Map((p.attribute_proto ?? []).map((a) => [a.name ?? '', this.attribute(a, p.name ?? '')])),
      opsetImports: new Map((p.opset_import ?? []).map((o) => [o.domain ?? '', int64ToNumber(o.version)])),
      docString: p.doc_string ?? '',
      metadata: metadata(p.metadata_props),
      body: new Graph({
        name: p.name ?? '',
        inputs: (p.input ?? []).map(param),
        outputs: (p.output ?? []).map(param),
        valueInfo: types.values(),
        nodes: (p.node ?? []).map((n) => this.node(n)),
      }),
    });
  }

  node(p: NodeProto): Node {
    const where = `node "${p.name || p.op_type}"`;
    return new Node({
      opType: p.op_type ?? '',
      name: p.name ?? '',
      domain: p.domain ?? '',
      overload: p.overload ?? '',
      inputs: p.input ?? [],
      outputs: p.output ?? [],
      docString: p.doc_string ?? '',
      metadata: metadata(p.metadata_props),
      deviceConfigurations: p.device_configurations ?? [],
      attributes: new Map((p.attribute ?? []).map((a) => [a.name ?? '', this.attribute(a, where)])),
    });
  }

  attribute(a: AttributeProto, where: string): Attribute {
    const type = a.type ? ATTRIBUTE_TYPES[a.type] : inferAttributeType(a);
    if (type === undefined) throw new FerryError('ONNX_INVALID', `${this.#options.source}: ${where}: attribute "${a.name}" has unknown type ${a.type}`);
    const doc = a.doc_string ? { docString: a.doc_string } : {};
    if (a.ref_attr_name) return { type: 'ref', ref: a.ref_attr_name, refType: type, ...doc };
    switch (type) {
      case 'float': return { type, value: a.f ?? 0, ...doc };
      case 'int': return { type, value: int64ToBigInt(a.i), ...doc };
      case 'string': return { type, value: text(a.s instanceof Uint8Array ? a.s : new Uint8Array(0)), ...doc };
      case 'tensor': return { type, value: this.tensor(a.t ?? {}), ...doc };
      case 'graph': return { type, value: this.graph(a.g ?? {}), ...doc };
      case 'sparse_tensor': return { type, value: this.sparse(a.sparse_tensor ?? {}), ...doc };
      case 'type_proto': return { type, value: this.type(a.tp ?? {})!, ...doc };
      case 'floats': return { type, value: Object.freeze([...(a.floats ?? [])]), ...doc };
      case 'ints': return { type, value: Object.freeze((a.ints ?? []).map((v) => int64ToBigInt(v))), ...doc };
      case 'strings': return { type, value: Object.freeze((a.strings ?? []).map(text)), ...doc };
      case 'tensors': return { type, value: Object.freeze((a.tensors ?? []).map((t) => this.tensor(t))), ...doc };
      case 'graphs': return { type, value: Object.freeze((a.graphs ?? []).map((g) => this.graph(g))), ...doc };
      case 'sparse_tensors': return { type, value: Object.freeze((a.sparse_tensors ?? []).map((s) => this.sparse(s))), ...doc };
      case 'type_protos': return { type, value: Object.freeze((a.type_protos ?? []).map((t) => this.type(t)!)), ...doc };
      case 'undefined': throw new FerryError('ONNX_INVALID', `${this.#options.source}: ${where}: attribute "${a.name}" has no type`);
    }
  }

  sparse(p: SparseTensorProto): SparseTensor {
    return { values: this.tensor(p.values ?? {}), indices: this.tensor(p.indices ?? {}), dims: this.dims(p.dims, 'sparse tensor') };
  }

  dims(dims: readonly Int64[] | undefined, what: string): number[] {
    const out = (dims ?? []).map((d) => int64ToNumber(d));
    if (out.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new FerryError('ONNX_INVALID', `${this.#options.source}: ${what} has dims ${JSON.stringify(out)}; tensor dims must be non-negative`);
    }
    return out;
  }

  tensor(p: TensorProto): Tensor {
    const name = p.name ?? '';
    const dataType = (p.data_type ?? 0) as DataType;
    const init = {
      name,
      dims: this.dims(p.dims, `tensor "${name}"`),
      docString: p.doc_string ?? '',
      metadata: metadata(p.metadata_props),
    };
    return tensorFromStorage(init, dataType, this.#storage(p, dataType, init.dims));
  }

  #storage(p: TensorProto, dataType: DataType, dims: number[]): TensorStorage {
    if (p.data_location === DataLocation.EXTERNAL) return this.#external(p, dataType, dims);
    if (dataType === DataType.STRING) return { kind: 'strings', values: p.string_data ?? [] };
    if (p.raw_data?.length) return { kind: 'raw', bytes: p.raw_data };
    const field = dataTypeInfo(dataType)?.field;
    if (field && field !== 'string_data') {
      const values = p[field];
      if (values?.length) return { kind: 'field', field, values };
    }
    return { kind: 'raw', bytes: new Uint8Array(0) }; // no data: right only for empty tensors (data() checks)
  }

  #external(p: TensorProto, dataType: DataType, dims: number[]): TensorStorage {
    const name = p.name ?? '';
    const keys = new Map((p.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const fail = (why: string): never => {
      throw new FerryError('ONNX_EXTERNAL_DATA', `${this.#options.source}: tensor "${name}": ${why}`);
    };
    const location = keys.get('location');
    if (!location) return fail('its data is EXTERNAL but it has no "location"');
    const baseDir = this.#options.baseDir;
    if (baseDir === undefined) return fail(`its data is in the external file "${location}", but the model was decoded from bytes without a baseDir to find it in`);
    const path = resolve(baseDir, location);
    const rel = relative(resolve(baseDir), path);
    if (isAbsolute(location) || rel.startsWith('..') || isAbsolute(rel)) return fail(`external data location "${location}" is outside the model's directory`);
    const number = (key: string): number | undefined => {
      const v = keys.get(key);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) fail(`external data ${key} "${v}" is not a non-negative integer`);
      return n;
    };
    const offset = number('offset') ?? 0;
    const entry = this.#file(path);
    let length = number('length');
    if (length === undefined) {
      const fixed = rawByteLength(dataType, dims.reduce((a, b) => a * b, 1));
      length = Number.isNaN(fixed) ? (this.#size(entry, path, name) ?? offset) - offset : fixed;
    }
    if (this.#options.verifyExternalData) {
      const size = this.#size(entry, path, name)!;
      if (offset + length > size) fail(`external data "${location}" is ${size} bytes; the tensor's ${length} bytes at offset ${offset} do not fit`);
    }
    const checksum = keys.get('checksum');
    const ref: ExternalLocation = { location, path, offset, length, ...(checksum ? { checksum } : {}) };
    return { kind: 'external', location: ref, file: entry.file };
  }

  #file(path: string): { file: ExternalFile; size: number | undefined } {
    let entry = this.#files.get(path);
    if (!entry) this.#files.set(path, (entry = { file: new ExternalFile(path), size: undefined }));
    return entry;
  }

  /** The file's size (stat'ed once); throws ONNX_EXTERNAL_DATA when verifying and it is missing. */
  #size(entry: { size: number | undefined }, path: string, tensor: string): number | undefined {
    if (entry.size === undefined) {
      try {
        entry.size = statSync(path).size;
      } catch (err) {
        if (!this.#options.verifyExternalData) return undefined;
        throw new FerryError('ONNX_EXTERNAL_DATA', `${this.#options.source}: tensor "${tensor}": cannot read external data file ${path}: ${(err as Error).message}`, { cause: err });
      }
    }
    return entry.size;
  }

  valueInfo(p: ValueInfoProto): ValueInfo {
    return new ValueInfo({ name: p.name ?? '', type: this.type(p.type), docString: p.doc_string ?? '', metadata: metadata(p.metadata_props) });
  }

  type(t: TypeProto | null | undefined): TypeInfo | undefined {
    if (!t) return undefined;
    const denotation = t.denotation ? { denotation: t.denotation } : {};
    const tensorLike = t.tensor_type ?? t.sparse_tensor_type;
    if (tensorLike) {
      const kind = t.tensor_type ? 'tensor' : 'sparse_tensor';
      const { shape, dimDenotations } = this.shape(tensorLike.shape);
      return { kind, elemType: (tensorLike.elem_type ?? 0) as DataType, shape, ...(dimDenotations ? { dimDenotations } : {}), ...denotation };
    }
    if (t.sequence_type) return { kind: 'sequence', elem: this.type(t.sequence_type.elem_type), ...denotation };
    if (t.optional_type) return { kind: 'optional', elem: this.type(t.optional_type.elem_type), ...denotation };
    if (t.map_type) return { kind: 'map', keyType: (t.map_type.key_type ?? 0) as DataType, value: this.type(t.map_type.value_type), ...denotation };
    if (t.opaque_type) return { kind: 'opaque', domain: t.opaque_type.domain ?? '', name: t.opaque_type.name ?? '', ...denotation };
    return undefined;
  }

  shape(s: TensorShapeProto | null | undefined): { shape: readonly Dim[] | undefined; dimDenotations?: readonly string[] } {
    if (!s) return { shape: undefined };
    const dims = s.dim ?? [];
    const shape = Object.freeze(dims.map((d): Dim => {
      if (Object.hasOwn(d, 'dim_value')) return int64ToNumber(d.dim_value);
      if (Object.hasOwn(d, 'dim_param')) return d.dim_param ?? '';
      return null;
    }));
    return dims.some((d) => d.denotation) ? { shape, dimDenotations: Object.freeze(dims.map((d) => d.denotation ?? '')) } : { shape };
  }
}
