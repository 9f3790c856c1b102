/**
 * The native addon (src/engines/libtorch/native, N-API over libtorch): where it is built, whether
 * it is, and its typed surface. Loading it maps libtorch into the process (seconds on a busy
 * machine), so it happens only when a TorchScript model is opened.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../errors.js';

/** The package root (this file is dist/engines/libtorch/binding.js). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The built addon (FERRY_LIBTORCH_ADDON names another build). */
export const ADDON_PATH = process.env.FERRY_LIBTORCH_ADDON
  || fileURLToPath(new URL('../../../src/engines/libtorch/native/build/Release/ferry_libtorch.node', import.meta.url));

/** The command that builds the addon, run in the package root. */
export const BUILD_COMMAND = 'npm run build:libtorch';

/** Why the engine cannot run, for ENGINE_UNAVAILABLE: what to install and the command that builds it. */
export function unavailableReason(): string {
  return `TorchScript engine unavailable: apt-get install libtorch-dev, then ${BUILD_COMMAND} (in ${ROOT.replace(/\/$/, '')})`;
}

/** An input as the addon takes it: a view into a buffer the engine holds until the run settles. */
export interface NativeInput {
  data: ArrayBuffer;
  byteOffset: number;
  byteLength: number;
  datatype: string;
  shape: number[];
}

export interface NativeOutput {
  /** Where it sits in forward()'s result: '' (a lone tensor), '0', '1.2' (tuples, lists), a dict key. */
  path: string;
  datatype: string;
  shape: number[];
  /** The result tensor's own memory (an external ArrayBuffer). */
  data: ArrayBuffer;
}

export interface ModuleInfo {
  /** forward()'s arguments after self. */
  arguments: { name: string; type: string; hasDefault: boolean }[];
  /** forward()'s return type, e.g. 'Tuple[Tensor, Tensor]'. */
  returns: string;
  /** The requested extra files the archive holds. */
  extraFiles: Record<string, string>;
  /** at::get_num_threads() on an instance's thread after it was set. */
  intraOpThreads: number;
}

export interface SessionOptions {
  instances: number;
  /** 0 = libtorch's default. */
  intraOpThreads: number;
  optimizedExecution: boolean;
  inferenceMode: boolean;
  optimizeForInference: boolean;
  extraFiles: string[];
}

export interface NativeSession {
  ready(): Promise<ModuleInfo>;
  run(instance: number, inputs: NativeInput[]): Promise<{ outputs: NativeOutput[]; computeMs: number; intraOpThreads: number }>;
  close(): Promise<void>;
}

export interface Binding {
  Session: new (path: string, options: SessionOptions) => NativeSession;
  libtorchVersion: string;
}

let loaded: Binding | undefined;

/**
 * Loads the addon; ENGINE_UNAVAILABLE when it is not built or libtorch no longer loads.
 *
 * Debian's libtorch runs its intra-op threads on GNU OpenMP, which reads OMP_WAIT_POLICY once,
 * when libgomp loads (here). Its default spins at every barrier; on a machine whose cores are
 * shared (other processes, the event loop, other instances) a spinning team waits for a
 * descheduled member at each of a model's barriers: 2-thread runs measured 20-40x slower than
 * with PASSIVE on the shared 2-core machine of BENCHMARKS.md. So ferry sets PASSIVE unless
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT is already set (set OMP_WAIT_POLICY=ACTIVE to spin).
 */
export function binding(): Binding {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) throw new FerryError('ENGINE_UNAVAILABLE', unavailableReason());
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  try {
    loaded = createRequire(import.meta.url)(ADDON_PATH) as Binding;
  } catch (err) {
    const why = ((err as Error).message.split('\n')[0] ?? '').trim();
    throw new FerryError('ENGINE_UNAVAILABLE', `${unavailableReason()} (the built addon does not load: ${why})`, { cause: err });
  }
  return loaded;
}
