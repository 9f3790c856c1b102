/** ferry's programmatic API. */
export { startServer } from './server/start.js';
export type { StartOptions, RunningServer } from './server/start.js';
export { buildServer } from './server/app.js';
export { tuneModel } from './tune/tune.js';
export type { TuneOptions, TuneReport } from './tune/tune.js';
export type { ServerOptions } from './server/app.js';
export { Metrics, LATENCY_BUCKETS_SECONDS } from './server/metrics.js';
export { ModelRepository } from './repository/repository.js';
export type { RepositoryOptions, ModelState } from './repository/repository.js';
export { ModelVersion } from './repository/model-version.js';
export type { InferOptions, InferResult, CancelSignal } from './repository/model-version.js';
export { parseModelConfig, readModelConfig } from './repository/config.js';
export type { ModelConfig, ImageConfig, ConfigOverrides } from './repository/config.js';
export { DynamicBatcher } from './batching/dynamic-batcher.js';
export type { BatcherOptions, Job } from './batching/dynamic-batcher.js';
export type { Engine, EngineOptions, EngineMetadata, EngineResult } from './engines/engine.js';
export { OnnxRuntimeEngine } from './engines/onnxruntime/engine.js';
export { createEngine, registerEngine } from './engines/registry.js';
export { ERRORS, FerryError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { DATATYPES } from './tensors/dtype.js';
export type { Datatype } from './tensors/dtype.js';
export type { Tensor, TensorSpec } from './tensors/tensor.js';
export { decodeInferRequest, encodeInferResponse } from './tensors/v2-codec.js';

// Converting: ONNX I/O and IR, checking, simplifying, comparing.
export * as onnx from './onnx/index.js';
export { checkModel, checkModelFile } from './onnx/check/index.js';
export { simplifyModel, simplifyFile } from './onnx/simplify.js';
export type { SimplifyOptions, SimplifyFileOptions, SimplifyFileReport } from './onnx/simplify.js';
export { compareModels } from './compare/compare.js';

// Quantizing: fp16, static and dynamic int8, evaluation.
export * as quantize from './quantize/index.js';
