/**
 * The Engine interface: what the batcher needs from a runtime, and nothing more (after
 * onnxruntime's `backend.ts`). One engine = one model file with `instances` parallel sessions.
 * Nothing here belongs to one runtime: each engine reads its own `parameters` (Triton's way).
 */
import type { Datatype } from '../tensors/dtype.js';
import type { Tensor, TensorSpec } from '../tensors/tensor.js';
import { FerryError } from '../errors.js';

/** An input or output as a model config declares it (Triton's `input:` / `output:` entries). */
export interface DeclaredTensor {
  readonly name: string;
  readonly datatype?: Datatype;
  /** Dims of one sample: without the batch axis when `maxBatchSize` > 0; -1 = dynamic. */
  readonly dims?: readonly number[];
}

/** What the model config says of the model's signature. Engines whose files carry none (TorchScript) need it. */
export interface DeclaredIo {
  /** Undefined when the config does not say. */
  readonly maxBatchSize?: number;
  readonly inputs?: readonly DeclaredTensor[];
  readonly outputs?: readonly DeclaredTensor[];
}

export interface EngineOptions {
  /** Path of the model file. */
  modelPath: string;
  /** Sessions run in parallel. @defaultValue 1 */
  instances?: number;
  /** Run inferences at load time, before the model is READY, so the first request pays no set-up cost. @defaultValue true */
  warmup?: boolean;
  /**
   * Engine settings: the model config's `parameters:` (plain values, or Triton's
   * `{string_value: "..."}`). Each engine validates its own keys; an unknown key or a wrong value
   * is CONFIG_INVALID naming `source` and the key. @defaultValue {}
   */
  parameters?: Readonly<Record<string, unknown>>;
  /** The config's declared inputs/outputs; the engine's metadata fills in only what the file knows. */
  declared?: DeclaredIo;
  /** Where `parameters` and `declared` came from, for messages (e.g. "models/m/config.yaml"). */
  source?: string;
  /**
   * Called when the engine can no longer serve: an instance died and could not be replaced.
   * Runs after that fail with INFERENCE_FAILED.
   */
  onUnavailable?: (reason: string) => void;
}

export interface EngineMetadata {
  /** Inputs with their full dims; -1 marks a dynamic axis (the batch axis included). */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Names of the dynamic axes where the file names them, per input/output, e.g. { input: ['batch', null, null, null] }. */
  readonly symbolicDims: Readonly<Record<string, readonly (string | null)[]>>;
}

export interface EngineResult {
  readonly outputs: Readonly<Record<string, Tensor>>;
  /** Time the runtime spent computing the batch, in ms. */
  readonly computeMs: number;
  /** The input buffers, handed back for reuse once the run no longer needs them. */
  readonly released: readonly ArrayBuffer[];
}

/** A batch that failed to run (INFERENCE_FAILED). Its input buffers come back in `released` all the same. */
export class EngineRunError extends FerryError {
  readonly released: readonly ArrayBuffer[];

  constructor(message: string, released: readonly ArrayBuffer[], options: { cause?: unknown } = {}) {
    super('INFERENCE_FAILED', message, options);
    this.released = released;
  }
}

export interface Engine {
  /** Registry name, e.g. 'onnxruntime', 'pytorch'. */
  readonly backend: string;
  /** Triton's platform name, e.g. 'onnxruntime_onnx', 'pytorch_libtorch'. */
  readonly platform: string;
  /** Triton's instance kind: 'KIND_CPU' or 'KIND_GPU'. */
  readonly kind: 'KIND_CPU' | 'KIND_GPU';
  readonly instances: number;
  readonly metadata: EngineMetadata;
  /** Set when the warm-up failed (the model still loads; the first request pays the cost). */
  readonly warmupError?: string | undefined;
  /** What one warm-up inference took at batch 1, in ms (median of a few), when the engine measured it. */
  readonly warmupMs?: number | undefined;
  /**
   * Runs one batch on a free instance. The input tensors' buffers are moved to the engine (the
   * caller must not touch them) and come back in `released`, or in the EngineRunError's.
   * Never called with more than `instances` runs in flight.
   */
  run(inputs: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<EngineResult>;
  dispose(): Promise<void>;
}

export type EngineFactory = (options: EngineOptions) => Promise<Engine>;

/** One engine kind, as the registry knows it. */
export interface EngineDescriptor {
  /** Config `backend:` name. */
  readonly backend: string;
  /** Triton `platform:` names that mean this engine. */
  readonly platforms: readonly string[];
  /** Model file extensions it loads, e.g. ['.onnx', '.ort']; the first is the default file's. */
  readonly extensions: readonly string[];
  /** File name inside a version folder when the config names none. */
  readonly defaultModelFilename: string;
  /** Why this engine cannot run here (e.g. its native addon was not built), or undefined when it can. */
  unavailable(): string | undefined;
  /**
   * When the runtime refuses a file: what is wrong with it, in the format's own terms (for ONNX,
   * `ferry check`'s first error), instead of the runtime's internals; undefined when it finds nothing.
   */
  diagnose?(modelPath: string): Promise<string | undefined>;
  create: EngineFactory;
}
