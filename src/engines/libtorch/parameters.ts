/**
 * The libtorch engine's `parameters:` (model config), with their defaults. Triton's
 * pytorch_libtorch spellings of the same settings are taken too, so its configs load unchanged.
 */
import { availableParallelism } from 'node:os';
import type { ParameterTable } from '../parameters.js';
import { readParameters } from '../parameters.js';
import { FerryError } from '../../errors.js';

export const LIBTORCH_PARAMETERS: ParameterTable = {
  intra_op_threads: { kind: 'int', doc: 'threads inside one instance\'s operators, set on that instance\'s thread (default: cores / instances; 0 = libtorch\'s default)' },
  optimized_execution: { kind: 'bool', doc: 'TorchScript\'s graph optimizations (the profiling executor) on forward() (default true)' },
  inference_mode: { kind: 'bool', doc: 'run forward() under c10::InferenceMode (default true) rather than torch::NoGradGuard' },
  optimize_for_inference: { kind: 'bool', doc: 'torch.jit.freeze + optimize_for_inference at load: folds BatchNorm, prepacks weights (default false; numerics may move by float rounding)' },
  // Triton's names (pytorch_libtorch backend)
  INTRA_OP_THREAD_COUNT: { kind: 'int', doc: 'Triton\'s name for intra_op_threads' },
  DISABLE_OPTIMIZED_EXECUTION: { kind: 'bool', doc: 'Triton\'s name for the inverse of optimized_execution' },
  INFERENCE_MODE: { kind: 'bool', doc: 'Triton\'s name for inference_mode' },
};

export interface LibtorchSettings {
  readonly intraOpThreads: number;
  readonly optimizedExecution: boolean;
  readonly inferenceMode: boolean;
  readonly optimizeForInference: boolean;
}

export function libtorchSettings(raw: Readonly<Record<string, unknown>> | undefined, instances: number, source?: string): LibtorchSettings {
  const p = readParameters(LIBTORCH_PARAMETERS, raw, 'pytorch', source);
  const both = (ours: string, triton: string): void => {
    if (p[ours] !== undefined && p[triton] !== undefined) {
      throw new FerryError('CONFIG_INVALID', `${source ?? 'the model config'}: parameters.${ours} and parameters.${triton} set the same thing; give one`);
    }
  };
  both('intra_op_threads', 'INTRA_OP_THREAD_COUNT');
  both('optimized_execution', 'DISABLE_OPTIMIZED_EXECUTION');
  both('inference_mode', 'INFERENCE_MODE');
  const threads = (p.intra_op_threads ?? p.INTRA_OP_THREAD_COUNT) as number | undefined;
  const disabled = p.DISABLE_OPTIMIZED_EXECUTION as boolean | undefined;
  return {
    intraOpThreads: threads ?? Math.max(1, Math.floor(availableParallelism() / instances)),
    optimizedExecution: (p.optimized_execution as boolean | undefined) ?? (disabled === undefined ? true : !disabled),
    inferenceMode: ((p.inference_mode ?? p.INFERENCE_MODE) as boolean | undefined) ?? true,
    optimizeForInference: (p.optimize_for_inference as boolean | undefined) ?? false,
  };
}
