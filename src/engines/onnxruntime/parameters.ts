/** The ONNX Runtime engine's `parameters:` (model config), with their defaults. */
import { availableParallelism } from 'node:os';
import type { ParameterTable } from '../parameters.js';
import { readParameters } from '../parameters.js';

/** Execution providers onnxruntime-node knows by name; others are refused before a session is made. */
export const KNOWN_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;

export const ORT_PARAMETERS: ParameterTable = {
  intra_op_threads: { kind: 'int', doc: 'threads inside one session\'s operators (default: cores / instances; 0 = ONNX Runtime\'s default)' },
  inter_op_threads: { kind: 'int', doc: 'threads running independent operators at once (default 1; 0 = ONNX Runtime\'s default)' },
  allow_spinning: { kind: 'bool', doc: 'idle intra-op threads spin (default true) or sleep, leaving the core to others' },
  execution_providers: { kind: 'list', oneOf: KNOWN_PROVIDERS, doc: 'execution providers in order of preference (default cpu)' },
  inline: { kind: 'string', oneOf: ['auto', 'true', 'false'], doc: 'run batches on the event loop\'s thread, with no thread hop: auto (default) does so for a model that computes a batch faster than a hop to its worker costs; true always (one instance); false never' },
};

export interface OrtSettings {
  readonly inline: 'auto' | 'true' | 'false';
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  readonly allowSpinning: boolean;
  readonly executionProviders: readonly string[];
}

export function ortSettings(raw: Readonly<Record<string, unknown>> | undefined, instances: number, source?: string): OrtSettings {
  const p = readParameters(ORT_PARAMETERS, raw, 'onnxruntime', source);
  const providers = (p.execution_providers as readonly string[] | undefined) ?? [];
  return {
    inline: (p.inline as OrtSettings['inline'] | undefined) ?? 'auto',
    intraOpThreads: (p.intra_op_threads as number | undefined) ?? Math.max(1, Math.floor(availableParallelism() / instances)),
    interOpThreads: (p.inter_op_threads as number | undefined) ?? 1,
    allowSpinning: (p.allow_spinning as boolean | undefined) ?? true,
    executionProviders: providers.length ? providers : ['cpu'],
  };
}
