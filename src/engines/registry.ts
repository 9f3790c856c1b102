/** Engines by backend name. The batcher and server never know which one runs. */
import type { Engine, EngineFactory, EngineOptions } from './engine.js';
import { OnnxRuntimeEngine } from './onnxruntime/engine.js';
import { FerryError } from '../errors.js';

const FACTORIES = new Map<string, EngineFactory>([
  ['onnxruntime', (o) => OnnxRuntimeEngine.create(o)],
]);

export function backends(): string[] {
  return [...FACTORIES.keys()];
}

export function registerEngine(backend: string, factory: EngineFactory): void {
  FACTORIES.set(backend, factory);
}

export function createEngine(backend: string, options: EngineOptions): Promise<Engine> {
  const factory = FACTORIES.get(backend);
  if (!factory) throw new FerryError('ENGINE_UNAVAILABLE', `backend "${backend}" is unknown; available: ${backends().join(', ')}`);
  return factory(options);
}
