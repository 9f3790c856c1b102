/**
 * The libtorch engine: a TorchScript file served by the native addon. Each instance is one
 * module on its own thread with its own intra-op thread count; the event loop only hands a batch
 * over and takes the result back. Input buffers are moved to the engine (the caller's views go
 * dead) and wrapped by torch::from_blob; outputs are the result tensors' own memory.
 */
import { access } from 'node:fs/promises';
import type { Engine, EngineMetadata, EngineOptions, EngineResult } from '../engine.js';
import { EngineRunError } from '../engine.js';
import type { Tensor, TensorSpec } from '../../tensors/tensor.js';
import type { Datatype } from '../../tensors/dtype.js';
import { DATATYPES, isDatatype } from '../../tensors/dtype.js';
import { FerryError } from '../../errors.js';
import type { NativeInput, NativeOutput, NativeSession } from './binding.js';
import { binding } from './binding.js';
import type { LibtorchSettings } from './parameters.js';
import { libtorchSettings } from './parameters.js';
import type { Signature } from './signature.js';
import { SIGNATURE_FILE, nameOutputs, resolveSignature } from './signature.js';

/**
 * Warm-up runs per instance before READY: TorchScript's profiling executor profiles the first
 * call and optimizes on the second, so the first requests would otherwise pay for both.
 */
const WARMUP_RUNS = 3;

/** Moves a buffer: the old ArrayBuffer is detached, the new one owns the same memory (no copy). */
const move: (b: ArrayBuffer) => ArrayBuffer = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function'
  ? (b) => (b as ArrayBuffer & { transfer(): ArrayBuffer }).transfer()
  : (b) => structuredClone(b, { transfer: [b] });

/** Why torch could not load a file, with a hint for the common mistake (a state_dict, not TorchScript). */
function loadFailure(modelPath: string, reason: string): FerryError {
  const notScript = /constants\.pkl|file not found|version not found|failed finding central directory/i.test(reason);
  const hint = notScript ? ' (is it TorchScript? torch.jit.save writes it; a state_dict or torch.save file needs its Python class: make one with ferry export --to torchscript)' : '';
  return new FerryError('MODEL_LOAD_FAILED', `libtorch could not load ${modelPath}: ${reason}${hint}`);
}

function zeros(spec: TensorSpec): NativeInput {
  const shape = spec.dims.map((d) => (d < 0 ? 1 : d));
  const byteLength = shape.reduce((a, b) => a * b, 1) * DATATYPES[spec.datatype].bytes;
  return { data: new ArrayBuffer(byteLength), byteOffset: 0, byteLength, datatype: spec.datatype, shape };
}

export class LibtorchEngine implements Engine {
  readonly backend = 'pytorch';
  readonly platform = 'pytorch_libtorch';
  readonly kind = 'KIND_CPU' as const;
  readonly instances: number;
  readonly metadata: EngineMetadata;
  readonly warmupError: string | undefined;
  /** The settings each instance runs with (intraOpThreads as libtorch reports it on the instance's thread). */
  readonly settings: LibtorchSettings;
  /** "libtorch 1.13.0" */
  readonly runtime: string;
  readonly #modelPath: string;
  readonly #session: NativeSession;
  readonly #signature: Signature;
  /** at::get_num_threads() as each instance's thread last reported it (set per thread: OpenMP's team size is). */
  readonly intraOpThreadsInUse: number[];
  /** Output names by the paths of a result, settled on the first result of each shape. */
  readonly #names = new Map<string, string[]>();
  #idle: number[];
  #waiting: ((instance: number | undefined) => void)[] = [];
  #disposed = false;

  private constructor(init: {
    modelPath: string; session: NativeSession; signature: Signature; outputs: TensorSpec[]; instances: number;
    settings: LibtorchSettings; warmupError: string | undefined; runtime: string;
  }) {
    this.#modelPath = init.modelPath;
    this.#session = init.session;
    this.#signature = init.signature;
    this.instances = init.instances;
    this.settings = init.settings;
    this.warmupError = init.warmupError;
    this.runtime = init.runtime;
    this.#idle = Array.from({ length: init.instances }, (_, i) => init.instances - 1 - i);
    this.intraOpThreadsInUse = Array.from({ length: init.instances }, () => init.settings.intraOpThreads);
    const symbolicDims: Record<string, (string | null)[]> = {};
    for (const t of [...init.signature.inputs, ...init.outputs]) symbolicDims[t.name] = t.dims.map(() => null);
    this.metadata = { inputs: init.signature.inputs, outputs: init.outputs, symbolicDims };
  }

  static async create(options: EngineOptions): Promise<LibtorchEngine> {
    const instances = options.instances ?? 1;
    const modelPath = options.modelPath;
    const settings = libtorchSettings(options.parameters, instances, options.source);
    const native = binding();
    try {
      await access(modelPath);
    } catch {
      throw new FerryError('MODEL_LOAD_FAILED', `model file ${modelPath} does not exist or cannot be read`);
    }
    const session = new native.Session(modelPath, { instances, ...settings, extraFiles: [SIGNATURE_FILE] });
    try {
      let info;
      try {
        info = await session.ready();
      } catch (err) {
        throw loadFailure(modelPath, (err as Error).message);
      }
      const signature = resolveSignature(info, { modelPath, source: options.source ?? modelPath, declared: options.declared });
      const warmed = await LibtorchEngine.#warm(session, signature, options.warmup ?? true, instances, modelPath);
      return new LibtorchEngine({
        modelPath, session, signature, instances, warmupError: warmed.warmupError, outputs: warmed.outputs,
        settings: { ...settings, intraOpThreads: info.intraOpThreads }, runtime: `libtorch ${native.libtorchVersion}`,
      });
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  /**
   * Runs zeros of the inputs' shapes (batch 1) on every instance. The first result also settles
   * what the outputs are when neither ferry.json nor the config says (names, datatypes, dims).
   */
  static async #warm(session: NativeSession, signature: Signature, warmup: boolean, instances: number, modelPath: string): Promise<{ outputs: TensorSpec[]; warmupError: string | undefined }> {
    const plan = signature.outputs;
    const complete = plan.names !== undefined && plan.names.every((n) => plan.known.get(n)?.datatype && plan.known.get(n)?.dims);
    let outputs: TensorSpec[] | undefined = complete ? plan.names!.map((n) => ({ name: n, datatype: plan.known.get(n)!.datatype!, dims: plan.known.get(n)!.dims! })) : undefined;
    if (!warmup && outputs) return { outputs, warmupError: undefined };
    let probe;
    try {
      probe = await session.run(0, signature.inputs.map(zeros));
    } catch (err) {
      const reason = (err as Error).message;
      if (outputs) return { outputs, warmupError: reason };
      throw new FerryError('MODEL_LOAD_FAILED', `${modelPath}: forward() failed on zeros of the inputs' shapes (${reason}), so ferry cannot tell its outputs: declare each output's data_type and dims in ${plan.from === SIGNATURE_FILE ? 'the config' : plan.from}`);
    }
    if (!outputs) {
      const names = nameOutputs(probe.outputs.map((o) => o.path), plan, modelPath);
      // Dims past the batch axis are as observed only when every input dim is fixed.
      const fixed = signature.inputs.every((i) => i.dims.every((d, k) => d >= 0 || (signature.batched && k === 0)));
      outputs = probe.outputs.map((o, i) => {
        const name = names[i]!;
        const known = plan.known.get(name);
        if (!isDatatype(o.datatype)) throw new FerryError('MODEL_LOAD_FAILED', `${modelPath}: output "${name}" has datatype ${o.datatype}`);
        if (known?.datatype && known.datatype !== o.datatype) {
          throw new FerryError('CONFIG_INVALID', `${plan.from}: output "${name}" is declared TYPE_${known.datatype} but forward() returns TYPE_${o.datatype}`);
        }
        const dims = known?.dims ?? o.shape.map((d, k) => ((signature.batched && k === 0) || !fixed ? -1 : d));
        return { name, datatype: o.datatype as Datatype, dims };
      });
    }
    let warmupError: string | undefined;
    if (warmup) {
      try {
        for (let i = 0; i < instances; i++) {
          for (let r = i === 0 ? 1 : 0; r < WARMUP_RUNS; r++) await session.run(i, signature.inputs.map(zeros));
        }
      } catch (err) {
        warmupError = (err as Error).message;
      }
    }
    return { outputs, warmupError };
  }

  /** Checks a batch against the signature; the message names the input at fault. */
  #check(inputs: Readonly<Record<string, Tensor>>): string | undefined {
    for (const spec of this.#signature.inputs) {
      const t = inputs[spec.name];
      if (!t) return `input "${spec.name}" is missing`;
      if (t.datatype !== spec.datatype) return `input "${spec.name}" is ${t.datatype}, but the model takes ${spec.datatype}`;
      const ok = t.shape.length === spec.dims.length && spec.dims.every((d, i) => d < 0 || d === t.shape[i]);
      if (!ok) return `input "${spec.name}" has shape [${t.shape.join(',')}], but the model takes [${spec.dims.join(',')}]`;
      if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) return `input "${spec.name}" holds ${t.data.length} elements, not the ${t.shape.join('x')} of its shape`;
    }
    for (const name of Object.keys(inputs)) {
      if (!this.#signature.inputs.some((s) => s.name === name)) return `the model has no input "${name}"`;
    }
    return undefined;
  }

  #release(instance: number): void {
    const next = this.#waiting.shift();
    if (next) next(instance);
    else this.#idle.push(instance);
  }

  async run(inputs: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<EngineResult> {
    const problem = this.#check(inputs);
    // Move each distinct buffer once: the caller's views are detached, the engine's view is the same memory.
    const moved = new Map<ArrayBuffer, ArrayBuffer>();
    // Every view is read before any move: moving a buffer detaches all the views over it.
    const views = new Map<string, NativeInput & { from: ArrayBuffer }>();
    for (const [name, t] of Object.entries(inputs)) {
      views.set(name, { from: t.data.buffer as ArrayBuffer, data: t.data.buffer as ArrayBuffer, byteOffset: t.data.byteOffset, byteLength: t.data.byteLength, datatype: t.datatype, shape: [...t.shape] });
    }
    for (const v of views.values()) {
      let to = moved.get(v.from);
      if (!to) moved.set(v.from, (to = move(v.from)));
      v.data = to;
    }
    const released = [...moved.values()];
    if (problem) throw new EngineRunError(`${this.#modelPath}: ${problem}`, released);
    const native: NativeInput[] = this.#signature.inputs.map((spec) => {
      const { data, byteOffset, byteLength, datatype, shape } = views.get(spec.name)!;
      return { data, byteOffset, byteLength, datatype, shape };
    });
    if (this.#disposed) throw new EngineRunError('the model is unavailable: the engine was disposed', released);
    const instance = this.#idle.pop() ?? (await new Promise<number | undefined>((resolve) => this.#waiting.push(resolve)));
    if (instance === undefined) throw new EngineRunError('the model is unavailable: the engine was disposed', released);
    let result;
    try {
      result = await this.#session.run(instance, native);
    } catch (err) {
      throw new EngineRunError(`libtorch failed to run the batch: ${(err as Error).message}`, released, { cause: err });
    } finally {
      this.#release(instance);
    }
    this.intraOpThreadsInUse[instance] = result.intraOpThreads;
    try {
      return { outputs: this.#outputs(result.outputs, outputNames), computeMs: result.computeMs, released };
    } catch (err) {
      throw new EngineRunError((err as Error).message, released, { cause: err });
    }
  }

  #outputs(list: readonly NativeOutput[], wanted: readonly string[] | undefined): Record<string, Tensor> {
    const key = list.map((o) => o.path).join('\0');
    let names = this.#names.get(key);
    if (!names) this.#names.set(key, (names = nameOutputs(list.map((o) => o.path), this.#signature.outputs, this.#modelPath)));
    const out: Record<string, Tensor> = {};
    for (let i = 0; i < list.length; i++) {
      const name = names[i]!;
      if (wanted && !wanted.includes(name)) continue;
      const o = list[i]!;
      const info = DATATYPES[o.datatype as Datatype];
      out[name] = { datatype: info.v2, shape: o.shape, data: new info.array(o.data, 0, o.data.byteLength / info.bytes) };
    }
    return out;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const wake of this.#waiting.splice(0)) wake(undefined);
    await this.#session.close();
  }
}
