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
  diagnose: async (modelPath) => {
    if (!modelPath.endsWith('.onnx')) return undefined;
    const { checkModelFile } = await import('../../onnx/check/index.js');
    try {
      const report = await checkModelFile(modelPath);
      const first = report.errors[0];
      if (!first) return undefined;
      const more = report.errors.length > 1 ? ` (and ${report.errors.length - 1} more)` : '';
      return `it is not valid ONNX: ${first.where}: ${first.message}${more}; \`ferry check ${modelPath}\` lists every problem`;
    } catch (err) {
      // ONNX_INVALID: not a model at all (empty, truncated, another format): the message says which.
      return (err as Error).message.replace(`${modelPath}: `, '').replace(`${modelPath} `, 'it ');
    }
  },
};
