/**
 * The protobuf messages of onnx-ml.proto as protobufjs decodes them (field names as in the
 * .proto, `keepCase`) and as it accepts them for encoding. Only the IR converters use these: the
 * rest of ferry works on the IR in ../ir/.
 *
 * Decoded messages: repeated fields are arrays (possibly empty); unset scalars read as their
 * default from the prototype (presence: `Object.hasOwn`); 64-bit integers are {@link LongLike}
 * (protobufjs's Long); `bytes` are views into the decoded buffer (no copy).
 * For encoding, every field is optional and 64-bit integers may be numbers (safe integers) or
 * {@link LongLike}.
 */

/** A 64-bit integer as protobufjs reads it (a `long` Long) or takes it ({low, high} 32-bit halves). */
export interface LongLike {
  readonly low: number;
  readonly high: number;
  readonly unsigned?: boolean;
}

export type Int64 = number | LongLike;

export interface StringStringEntryProto {
  key?: string;
  value?: string;
}

export interface OperatorSetIdProto {
  domain?: string;
  version?: Int64;
}

export interface TensorSegment {
  begin?: Int64;
  end?: Int64;
}

export interface TensorProto {
  dims?: Int64[];
  data_type?: number;
  segment?: TensorSegment | null;
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: Int64[];
  name?: string;
  doc_string?: string;
  raw_data?: Uint8Array;
  external_data?: StringStringEntryProto[];
  /** 0 = DEFAULT (inline), 1 = EXTERNAL. */
  data_location?: number;
  double_data?: number[];
  uint64_data?: Int64[];
  metadata_props?: StringStringEntryProto[];
}

export interface SparseTensorProto {
  values?: TensorProto | null;
  indices?: TensorProto | null;
  dims?: Int64[];
}

export interface DimensionProto {
  dim_value?: Int64;
  dim_param?: string;
  denotation?: string;
}

export interface TensorShapeProto {
  dim?: DimensionProto[];
}

export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: TensorShapeProto | null } | null;
  sequence_type?: { elem_type?: TypeProto | null } | null;
  map_type?: { key_type?: number; value_type?: TypeProto | null } | null;
  optional_type?: { elem_type?: TypeProto | null } | null;
  sparse_tensor_type?: { elem_type?: number; shape?: TensorShapeProto | null } | null;
  opaque_type?: { domain?: string; name?: string } | null;
  denotation?: string;
}

export interface ValueInfoProto {
  name?: string;
  type?: TypeProto | null;
  doc_string?: string;
  metadata_props?: StringStringEntryProto[];
}

/** AttributeProto.AttributeType */
export const AttributeProtoType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, SPARSE_TENSOR: 11, TYPE_PROTO: 13,
  FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSORS: 12, TYPE_PROTOS: 14,
} as const;

export interface AttributeProto {
  name?: string;
  ref_attr_name?: string;
  doc_string?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto | null;
  g?: GraphProto | null;
  sparse_tensor?: SparseTensorProto | null;
  tp?: TypeProto | null;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
  sparse_tensors?: SparseTensorProto[];
  type_protos?: TypeProto[];
}

/** Messages ferry keeps verbatim (decoded, re-encoded unchanged): device and sharding configuration. */
export type OpaqueProto = Record<string, unknown>;

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  overload?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
  metadata_props?: StringStringEntryProto[];
  device_configurations?: OpaqueProto[];
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  sparse_initializer?: SparseTensorProto[];
  doc_string?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  /** TensorAnnotation messages, kept verbatim. */
  quantization_annotation?: OpaqueProto[];
  metadata_props?: StringStringEntryProto[];
}

export interface FunctionProto {
  name?: string;
  input?: string[];
  output?: string[];
  attribute?: string[];
  attribute_proto?: AttributeProto[];
  node?: NodeProto[];
  doc_string?: string;
  opset_import?: OperatorSetIdProto[];
  domain?: string;
  overload?: string;
  value_info?: ValueInfoProto[];
  metadata_props?: StringStringEntryProto[];
}

export interface ModelProto {
  ir_version?: Int64;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: Int64;
  doc_string?: string;
  graph?: GraphProto | null;
  metadata_props?: StringStringEntryProto[];
  /** TrainingInfoProto messages, kept verbatim. */
  training_info?: OpaqueProto[];
  functions?: FunctionProto[];
  /** DeviceConfigurationProto messages, kept verbatim. */
  configuration?: OpaqueProto[];
}

/** TensorProto.DataLocation */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;
