/** The ONNX Runtime engine as the registry knows it. */
import type { EngineDescriptor } from '../engine.js';

export const onnxRuntime: EngineDescriptor = {
  backend: 'onnxruntime',
  platforms: ['onnxruntime_onnx'],
  extensions: ['.onnx', '.ort'],
  defaultModelFilename: 'model.onnx',
  unavailable: () => undefined,
  // The engine (and onnxruntime-node) loads only when a model needs it.
  create: async (options) => (await import('./engine.js')).OnnxRuntimeEngine.create(options),
};
