/** The libtorch engine (TorchScript) as the registry knows it: Triton's `pytorch_libtorch`. */
import { existsSync } from 'node:fs';
import type { EngineDescriptor } from '../engine.js';
import { ADDON_PATH, unavailableReason } from './binding.js';

export const libtorch: EngineDescriptor = {
  backend: 'pytorch',
  platforms: ['pytorch_libtorch'],
  extensions: ['.pt', '.pth', '.torchscript'],
  defaultModelFilename: 'model.pt',
  unavailable: () => (existsSync(ADDON_PATH) ? undefined : unavailableReason()),
  // The engine (and libtorch, seconds to map) loads only when a model needs it.
  create: async (options) => (await import('./engine.js')).LibtorchEngine.create(options),
};
