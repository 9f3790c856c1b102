/**
 * The Engine interface: what the batcher needs from a runtime, and nothing more
 * (after onnxruntime's `backend.ts`). One engine = one model with `instances` parallel sessions.
 */
import type { Tensor, TensorSpec } from '../tensors/tensor.js';

export interface EngineOptions {
  /** Path of the model file. */
  modelPath: string;
  /** Sessions run in parallel, each on its own thread. @defaultValue 1 */
  instances?: number;
  /** Threads inside one session's operators; 0 = the runtime's default. @defaultValue the machine's cores / instances */
  intraOpThreads?: number;
  /** Threads running independent operators at once; 0 = the runtime's default. @defaultValue 1 */
  interOpThreads?: number;
  /**
   * Whether idle intra-op threads spin (ONNX Runtime's default) or sleep. Spinning answers the next
   * parallel section sooner; sleeping leaves the core to the event loop when cores are few.
   * @defaultValue true
   */
  allowSpinning?: boolean;
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. @defaultValue ['cpu'] */
  executionProviders?: readonly string[];
  /** Run one inference at load time so the first request pays no set-up cost. @defaultValue true */
  warmup?: boolean;
}

export interface EngineMetadata {
  /** Inputs with their full dims; -1 marks a dynamic axis (the batch axis included). */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Names of the dynamic axes, per input/output name, e.g. { input: ['batch', null, null, null] }. */
  readonly symbolicDims: Readonly<Record<string, readonly (string | null)[]>>;
}

export interface EngineResult {
  readonly outputs: Readonly<Record<string, Tensor>>;
  /** Time the session spent in `run`, in ms. */
  readonly computeMs: number;
  /** The input buffers, handed back for reuse once the run no longer needs them. */
  readonly released: readonly ArrayBuffer[];
}

export interface Engine {
  /** Registry name, e.g. 'onnxruntime'. */
  readonly backend: string;
  readonly instances: number;
  readonly metadata: EngineMetadata;
  /**
   * Runs one batch on a free instance. The input tensors' buffers are moved to the engine (the
   * caller must not touch them) and come back in `released`. Never called with more than
   * `instances` runs in flight.
   */
  run(inputs: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<EngineResult>;
  dispose(): Promise<void>;
}

export type EngineFactory = (options: EngineOptions) => Promise<Engine>;
