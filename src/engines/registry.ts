/**
 * Engines by backend name, Triton platform name and file extension. Adding an engine is one folder
 * under engines/ and one line here; the batcher, repository and server never know which one runs.
 */
import { extname } from 'node:path';
import type { Engine, EngineDescriptor, EngineOptions } from './engine.js';
import { onnxRuntime } from './onnxruntime/descriptor.js';
import { libtorch } from './libtorch/descriptor.js';
import { FerryError } from '../errors.js';

const ENGINES = new Map<string, EngineDescriptor>([
  [onnxRuntime.backend, onnxRuntime],
  [libtorch.backend, libtorch],
]);

export function backends(): string[] {
  return [...ENGINES.keys()];
}

export function registerEngine(descriptor: EngineDescriptor): void {
  ENGINES.set(descriptor.backend, descriptor);
}

/** The engine for a config's `backend:` or `platform:` name; undefined if none. */
export function findEngine(name: string): EngineDescriptor | undefined {
  return ENGINES.get(name) ?? [...ENGINES.values()].find((d) => d.platforms.includes(name));
}

/** Every engine's config names (backends and Triton platforms). */
export function engineNames(): string[] {
  return [...ENGINES.values()].flatMap((d) => [d.backend, ...d.platforms]);
}

/** The engine that loads a file of this name, by extension; undefined if none. */
export function engineForFile(file: string): EngineDescriptor | undefined {
  const ext = extname(file).toLowerCase();
  return [...ENGINES.values()].find((d) => d.extensions.includes(ext));
}

/** Model file extensions some engine loads. */
export function modelExtensions(): string[] {
  return [...ENGINES.values()].flatMap((d) => d.extensions);
}

export function engineDescriptor(backend: string): EngineDescriptor {
  const d = findEngine(backend);
  if (!d) throw new FerryError('ENGINE_UNAVAILABLE', `backend "${backend}" is unknown; available: ${backends().join(', ')}`);
  return d;
}

export async function createEngine(backend: string, options: EngineOptions): Promise<Engine> {
  const d = engineDescriptor(backend);
  const why = d.unavailable();
  if (why) throw new FerryError('ENGINE_UNAVAILABLE', why);
  try {
    return await d.create(options);
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODEL_LOAD_FAILED' || !d.diagnose) throw err;
    const diagnosis = await d.diagnose(options.modelPath).catch(() => undefined);
    if (!diagnosis) throw err;
    throw new FerryError('MODEL_LOAD_FAILED', `${options.modelPath} cannot be served: ${diagnosis}`, { cause: err });
  }
}
