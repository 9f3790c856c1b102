/**
 * The ONNX Runtime engine: `instances` worker threads, each owning one InferenceSession.
 * Batches go to an idle worker with their buffers transferred; results come back the same way.
 * A worker that exits is replaced; when a replacement cannot load, the engine reports itself
 * unavailable (the repository marks the model UNAVAILABLE with the reason).
 */
import { Worker } from 'node:worker_threads';
import { access } from 'node:fs/promises';
import type { Engine, EngineMetadata, EngineOptions, EngineResult } from '../engine.js';
import { EngineRunError } from '../engine.js';
import type { WireMetadata, WireTensor, WorkerInit, WorkerMessage, WorkerReply, WorkerRequest } from './protocol.js';
import type { Tensor, TensorSpec } from '../../tensors/tensor.js';
import { DATATYPES, fromOrtType } from '../../tensors/dtype.js';
import { FerryError } from '../../errors.js';
import { ortSettings } from './parameters.js';
import { InlineSession } from './inline.js';
import { openSession, warmUp } from './session.js';

export { KNOWN_PROVIDERS } from './parameters.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * With inline: auto, a model whose warm-up run at batch 1 takes at most this (ms) also gets an
 * inline session; which batches use it is decided per batch, by measured costs.
 */
const AUTO_INLINE_MAX_MS = 2;
/** What a round trip to a worker costs beyond the compute, before any is measured (ms). */
const INITIAL_HOP_MS = 0.15;

/** More replacements than this within REPLACEMENT_WINDOW_MS and the engine gives up. */
const MAX_REPLACEMENTS = 5;
const REPLACEMENT_WINDOW_MS = 60_000;

interface Pending {
  resolve: (r: EngineResult) => void;
  reject: (e: Error) => void;
  released: ArrayBuffer[];
}

class SessionWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  exited = false;

  constructor(init: WorkerInit, onExit: (w: SessionWorker, code: number) => void) {
    this.worker = new Worker(WORKER_URL, { workerData: init });
    this.worker.on('exit', (code) => {
      this.exited = true;
      // The buffers went to the dead thread: what comes back is empty (detached) buffers, not reused.
      for (const p of this.pending.values()) p.reject(new EngineRunError(`the ONNX Runtime worker exited (code ${code}) while running the batch`, []));
      this.pending.clear();
      onExit(this, code);
    });
  }

  /**
   * Ends the thread once it has finished what it is running (a run, or its loading and warm-up);
   * never `worker.terminate()` while a run may be in flight: that aborts the process.
   */
  close(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ type: 'close' } satisfies WorkerMessage);
    });
  }

  ready(): Promise<Extract<WorkerReply, { type: 'ready' }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (msg: WorkerReply): void => {
        this.worker.off('error', onError);
        this.worker.off('exit', onEarlyExit);
        if (msg.type === 'ready') {
          this.worker.on('message', (m: WorkerReply) => this.#onReply(m));
          resolve(msg);
        } else if (msg.type === 'error') reject(new Error(msg.message));
      };
      const onError = (err: Error): void => reject(err);
      const onEarlyExit = (code: number): void => reject(new Error(`the worker exited with code ${code} before the session loaded`));
      this.worker.once('message', onMessage);
      this.worker.once('error', onError);
      this.worker.once('exit', onEarlyExit);
    });
  }

  #onReply(msg: WorkerReply): void {
    if (msg.type !== 'result' && msg.type !== 'runError') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.type === 'runError') {
      p.reject(new EngineRunError(`ONNX Runtime failed to run the batch: ${msg.message}`, msg.released));
      return;
    }
    const outputs: Record<string, Tensor> = {};
    try {
      for (const w of msg.outputs) outputs[w.name] = fromWire(w);
    } catch (err) {
      p.reject(new EngineRunError((err as Error).message, msg.released));
      return;
    }
    p.resolve({ outputs, computeMs: msg.computeMs, released: msg.released });
  }
}

function fromWire(w: WireTensor): Tensor {
  const info = fromOrtType(w.type);
  if (!info) throw new FerryError('INFERENCE_FAILED', `output "${w.name}" has type ${w.type}, which ferry does not serve`);
  return { datatype: info.v2, shape: w.dims, data: new info.array(w.buffer, w.byteOffset, w.length) };
}

function toSpec(m: WireMetadata, where: string): TensorSpec {
  const info = fromOrtType(m.type);
  if (!info) throw new FerryError('MODEL_LOAD_FAILED', `${where} "${m.name}" has type ${m.type}; ferry serves numeric and bool tensors only`);
  return { name: m.name, datatype: info.v2, dims: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

/**
 * ONNX Runtime's message without its C++ source location and signature, and without repeating the
 * file: "Load model from m.onnx failed:/onnxruntime_src/.../model.cc:187 onnxruntime::Model::Model(...)
 * ModelProto does not have a graph." becomes "ModelProto does not have a graph."
 */
export function ortMessage(message: string, modelPath: string): string {
  return message
    .replace(`Load model from ${modelPath} failed:`, '')
    .replace(/\/onnxruntime_src\/\S+:\d+\s+(?:[\w:~<>*&]+\((?:[^()]|\([^()]*\))*\)\s*)?/g, '')
    .replace(/^\[ONNXRuntimeError\] : \d+ : \w+ : /, '')
    .trim();
}

function elements(inputs: Readonly<Record<string, Tensor>>): number {
  let n = 0;
  for (const t of Object.values(inputs)) n += t.data.length;
  return n;
}

/** Input elements of the warm-up run: batch 1, other dynamic dims 1 (as session.ts's warmUp). */
function warmupElements(meta: EngineMetadata): number {
  return meta.inputs.reduce((sum, i) => sum + i.dims.reduce((p, d) => p * (d >= 0 ? d : 1), 1), 0);
}

export class OnnxRuntimeEngine implements Engine {
  readonly backend = 'onnxruntime';
  readonly platform = 'onnxruntime_onnx';
  readonly kind: 'KIND_CPU' | 'KIND_GPU';
  readonly instances: number;
  readonly metadata: EngineMetadata;
  readonly warmupError: string | undefined;
  readonly warmupMs: number | undefined;
  readonly #init: WorkerInit;
  readonly #onUnavailable: ((reason: string) => void) | undefined;
  #workers: SessionWorker[] = [];
  #idle: SessionWorker[] = [];
  #waiting: ((w: SessionWorker | undefined) => void)[] = [];
  #nextId = 1;
  #disposed = false;
  /** Why the engine cannot serve any more; undefined while it can. */
  #broken: string | undefined;
  #replacedAt: number[] = [];
  /** The session on the event loop's thread (inline: true, or auto for a fast model). */
  #inline: InlineSession | undefined;
  /** inline: true — every batch runs inline; there are no workers. */
  #inlineOnly = false;
  /**
   * EWMA of an inline batch's compute time per input element (elements, not rows: a dynamic
   * dim can make one row arbitrarily large), and of a worker round trip beyond its compute (ms).
   */
  #inlineMsPerElement = Infinity;
  #hopMs = INITIAL_HOP_MS;

  private constructor(init: WorkerInit, ready: Extract<WorkerReply, { type: 'ready' }>, options: EngineOptions) {
    this.#init = init;
    this.#onUnavailable = options.onUnavailable;
    this.instances = options.instances ?? 1;
    this.kind = init.executionProviders.some((p) => p !== 'cpu') ? 'KIND_GPU' : 'KIND_CPU';
    const symbolicDims: Record<string, (string | null)[]> = {};
    for (const m of [...ready.inputs, ...ready.outputs]) symbolicDims[m.name] = m.shape.map((d) => (typeof d === 'string' ? d : null));
    this.metadata = {
      inputs: ready.inputs.map((m) => toSpec(m, 'input')),
      outputs: ready.outputs.map((m) => toSpec(m, 'output')),
      symbolicDims,
    };
    this.warmupError = ready.warmupError;
    this.warmupMs = ready.warmupMs;
  }

  static async create(options: EngineOptions): Promise<OnnxRuntimeEngine> {
    const instances = options.instances ?? 1;
    const settings = ortSettings(options.parameters, instances, options.source);
    try {
      await access(options.modelPath);
    } catch {
      throw new FerryError('MODEL_LOAD_FAILED', `model file ${options.modelPath} does not exist or cannot be read`);
    }
    const init: WorkerInit = { ...settings, modelPath: options.modelPath, warmup: options.warmup ?? true };
    if (settings.inline === 'true') return OnnxRuntimeEngine.#createInline(init, options);
    let engine: OnnxRuntimeEngine | undefined;
    const onExit = (w: SessionWorker, code: number): void => { if (engine) engine.#replace(w, code); };
    const workers = Array.from({ length: instances }, () => new SessionWorker(init, onExit));
    let ready;
    try {
      ready = await Promise.all(workers.map((w) => w.ready()));
    } catch (err) {
      await Promise.all(workers.map((w) => w.close()));
      const message = (err as Error).message;
      const gpu = settings.executionProviders.find((p) => p !== 'cpu' && message.toLowerCase().includes(p));
      if (gpu) {
        throw new FerryError('ENGINE_UNAVAILABLE', `execution provider "${gpu}" is not available in this onnxruntime-node build or on this machine: ${message}`, { cause: err });
      }
      throw new FerryError('MODEL_LOAD_FAILED', `ONNX Runtime could not load ${options.modelPath}: ${ortMessage(message, options.modelPath)}`, { cause: err });
    }
    try {
      engine = new OnnxRuntimeEngine(init, ready[0]!, options);
    } catch (err) {
      await Promise.all(workers.map((w) => w.close()));
      throw err;
    }
    engine.#workers = workers;
    engine.#idle = [...workers];
    const warmupMs = ready[0]!.warmupMs;
    if (settings.inline === 'auto' && warmupMs !== undefined && warmupMs <= AUTO_INLINE_MAX_MS) {
      try {
        engine.#inline = await InlineSession.open(options.modelPath, settings);
        engine.#inlineMsPerElement = warmupMs / Math.max(1, warmupElements(engine.metadata));
      } catch {
        // the workers serve alone
      }
    }
    return engine;
  }

  /** inline: true — one session on the event loop's thread, no workers. */
  static async #createInline(init: WorkerInit, options: EngineOptions): Promise<OnnxRuntimeEngine> {
    let opened;
    try {
      opened = await openSession(init.modelPath, { ...init, intraOpThreads: 1, interOpThreads: 1 });
    } catch (err) {
      throw new FerryError('MODEL_LOAD_FAILED', `ONNX Runtime could not load ${options.modelPath}: ${ortMessage((err as Error).message, options.modelPath)}`, { cause: err });
    }
    const warm = init.warmup ? await warmUp(opened) : {};
    await opened.session.release();
    const engine = new OnnxRuntimeEngine(init, {
      type: 'ready', inputs: opened.inputs, outputs: opened.outputs, ...(warm.error && { warmupError: warm.error }), ...(warm.ms !== undefined && { warmupMs: warm.ms }),
    }, { ...options, instances: 1 });
    engine.#inline = await InlineSession.open(init.modelPath, init);
    engine.#inlineOnly = true;
    return engine;
  }

  /** Whether this batch costs less to compute here than the hop to a worker would. */
  #preferInline(inputs: Readonly<Record<string, Tensor>>): boolean {
    return elements(inputs) * this.#inlineMsPerElement <= this.#hopMs;
  }

  async #runInline(inputs: Readonly<Record<string, Tensor>>, outputNames: readonly string[] | undefined): Promise<EngineResult> {
    const n = Math.max(1, elements(inputs));
    const r = await this.#inline!.run(inputs, outputNames);
    this.#inlineMsPerElement += 0.1 * (r.computeMs / n - this.#inlineMsPerElement);
    return r;
  }

  /** A worker exited: replace it, unless the engine is being disposed or replacements keep failing. */
  #replace(dead: SessionWorker, code: number): void {
    this.#workers = this.#workers.filter((w) => w !== dead);
    this.#idle = this.#idle.filter((w) => w !== dead);
    if (this.#disposed || this.#broken) return;
    const now = performance.now();
    this.#replacedAt = this.#replacedAt.filter((t) => now - t < REPLACEMENT_WINDOW_MS);
    if (this.#replacedAt.length >= MAX_REPLACEMENTS) {
      this.#fail(`its ONNX Runtime workers exited ${MAX_REPLACEMENTS + 1} times within ${REPLACEMENT_WINDOW_MS / 1000} s (last exit code ${code})`);
      return;
    }
    this.#replacedAt.push(now);
    const fresh = new SessionWorker(this.#init, (w, c) => this.#replace(w, c));
    this.#workers.push(fresh);
    fresh.ready().then(() => {
      if (this.#disposed) return;
      this.#release(fresh);
    }, (err: unknown) => {
      this.#workers = this.#workers.filter((w) => w !== fresh);
      void fresh.close();
      this.#fail(`a worker exited (code ${code}) and its replacement could not load the model: ${(err as Error).message}`);
    });
  }

  #fail(reason: string): void {
    if (this.#broken) return;
    this.#broken = reason;
    for (const wake of this.#waiting.splice(0)) wake(undefined);
    this.#onUnavailable?.(reason);
  }

  /** Gives a worker back: to the oldest waiting run, or to the idle pool. Dead workers are not given back. */
  #release(worker: SessionWorker): void {
    if (worker.exited) return;
    const next = this.#waiting.shift();
    if (next) next(worker);
    else this.#idle.push(worker);
  }

  /**
   * Ends one instance's thread abruptly, as a crash would (for fault-injection tests and drills),
   * between two of its batches: a thread ended during an ONNX Runtime run aborts the process.
   */
  async terminateInstance(index: number): Promise<void> {
    const w = this.#workers[index];
    if (!w) throw new RangeError(`no instance ${index}: the engine has ${this.#workers.length}`);
    while (w.pending.size > 0) await new Promise((r) => setTimeout(r, 1));
    await w.worker.terminate();
  }

  async run(inputs: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<EngineResult> {
    const released: ArrayBuffer[] = [];
    for (const t of Object.values(inputs)) {
      const buffer = t.data.buffer as ArrayBuffer;
      if (!released.includes(buffer)) released.push(buffer);
    }
    if (this.#broken) throw new EngineRunError(`the model is unavailable: ${this.#broken}`, released);
    if (this.#inlineOnly) {
      if (this.#disposed) throw new EngineRunError('the model is unavailable: the engine was disposed', released);
      return this.#runInline(inputs, outputNames);
    }
    const worker = this.#idle.pop() ?? (await new Promise<SessionWorker | undefined>((resolve) => this.#waiting.push(resolve)));
    if (!worker) throw new EngineRunError(`the model is unavailable: ${this.#broken ?? 'the engine was disposed'}`, released);
    try {
      if (this.#inline && this.#preferInline(inputs)) return await this.#runInline(inputs, outputNames);
      const id = this.#nextId++;
      const wire: WireTensor[] = Object.entries(inputs).map(([name, t]) => ({ name, type: DATATYPES[t.datatype].ort, dims: [...t.shape], buffer: t.data.buffer as ArrayBuffer, byteOffset: t.data.byteOffset, length: t.data.length }));
      const request: WorkerRequest = { type: 'run', id, inputs: wire, ...(outputNames && { outputs: [...outputNames] }) };
      const t0 = performance.now();
      const result = await new Promise<EngineResult>((resolve, reject) => {
        worker.pending.set(id, { resolve, reject, released });
        worker.worker.postMessage(request, released);
      });
      this.#hopMs += 0.1 * (Math.max(0, performance.now() - t0 - result.computeMs) - this.#hopMs);
      return result;
    } finally {
      this.#release(worker);
    }
  }

  /** Refuses runs waiting for an instance; the ones running finish, then the threads end. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    for (const wake of this.#waiting.splice(0)) wake(undefined);
    await Promise.all(this.#workers.map((w) => w.close()));
    await this.#inline?.dispose();
  }

  /** Where batches run: 'worker', 'inline', or 'auto' (inline while a batch computes faster than the hop). */
  get placement(): 'worker' | 'inline' | 'auto' {
    return this.#inlineOnly ? 'inline' : this.#inline ? 'auto' : 'worker';
  }
}
