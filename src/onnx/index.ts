/**
 * ONNX model I/O and the mutable graph IR that inspect, check, simplify and quantize work on.
 *
 *   const model = await loadModel('model.onnx');          // external data stays on disk
 *   for (const node of model.graph.nodes) ...             // ordered; producer()/consumers() indexed
 *   await saveModel(model, 'out.onnx', { externalData: { location: 'out.onnx.data' } });
 */
export { loadModel, decodeModel } from './io/load.js';
export type { LoadOptions, DecodeOptions } from './io/load.js';
export { saveModel, encodeModel } from './io/save.js';
export type { SaveOptions, SaveResult, ExternalDataOptions } from './io/save.js';
export { MAX_PROTOBUF_BYTES, formatBytes } from './io/serialize.js';

export { Model } from './ir/model.js';
export type { ModelInit } from './ir/model.js';
export { Graph } from './ir/graph.js';
export type { GraphInit, NodePosition } from './ir/graph.js';
export { Node, describeNode } from './ir/node.js';
export type { NodeInit } from './ir/node.js';
export { FunctionDef } from './ir/function.js';
export type { FunctionInit } from './ir/function.js';
export { Tensor, toBFloat16Bits, fromBFloat16Bits } from './ir/tensor.js';
export type { TensorInit, ArrayValues } from './ir/tensor.js';
export type { SparseTensor } from './ir/sparse-tensor.js';
export { ValueInfo, typeToString } from './ir/value-info.js';
export type { Dim, TypeInfo, TensorTypeInfo, SequenceTypeInfo, MapTypeInfo, OptionalTypeInfo, OpaqueTypeInfo } from './ir/value-info.js';
export { attr, attributeGraphs } from './ir/attribute.js';
export type {
  Attribute, AttributeType, FloatAttribute, IntAttribute, StringAttribute, TensorAttribute, GraphAttribute, SparseTensorAttribute,
  TypeAttribute, FloatsAttribute, IntsAttribute, StringsAttribute, TensorsAttribute, GraphsAttribute, SparseTensorsAttribute,
  TypesAttribute, RefAttribute,
} from './ir/attribute.js';
export { DataType, dataTypeInfo, dataTypeName, parseDataType, rawByteLength, isDataType } from './ir/data-type.js';
export type { DataTypeName, DataTypeInfo, StorageField } from './ir/data-type.js';
export { MAX_TENSOR_BUFFER_BYTES, DEFAULT_CHUNK_BYTES } from './ir/external.js';
export type { ExternalLocation } from './ir/external.js';
export { summarizeModel } from './summary.js';
export type { ModelSummary, SummaryOptions } from './summary.js';
