/**
 * The ONNX Runtime engine: `instances` worker threads, each owning one InferenceSession.
 * Batches go to an idle worker with their buffers transferred; results come back the same way.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { access } from 'node:fs/promises';
import type { Engine, EngineMetadata, EngineOptions, EngineResult } from '../engine.js';
import type { WireMetadata, WireTensor, WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';
import type { Tensor, TensorSpec } from '../../tensors/tensor.js';
import { DATATYPES, fromOrtType } from '../../tensors/dtype.js';
import { FerryError } from '../../errors.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** Execution providers onnxruntime-node knows by name; others are refused before a session is made. */
export const KNOWN_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;

interface Pending {
  resolve: (r: EngineResult) => void;
  reject: (e: Error) => void;
}

class SessionWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  exited = false;

  constructor(init: WorkerInit) {
    this.worker = new Worker(WORKER_URL, { workerData: init });
    this.worker.on('exit', (code) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new FerryError('INFERENCE_FAILED', `the ONNX Runtime worker exited with code ${code}`));
      this.pending.clear();
    });
  }

  ready(): Promise<Extract<WorkerReply, { type: 'ready' }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (msg: WorkerReply): void => {
        this.worker.off('error', onError);
        if (msg.type === 'ready') {
          this.worker.on('message', (m: WorkerReply) => this.#onReply(m));
          resolve(msg);
        } else if (msg.type === 'error') reject(new Error(msg.message));
      };
      const onError = (err: Error): void => reject(err);
      this.worker.once('message', onMessage);
      this.worker.once('error', onError);
    });
  }

  #onReply(msg: WorkerReply): void {
    if (msg.type !== 'result' && msg.type !== 'runError') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.type === 'runError') {
      p.reject(Object.assign(new FerryError('INFERENCE_FAILED', `ONNX Runtime failed to run the batch: ${msg.message}`), { released: msg.released }));
      return;
    }
    const outputs: Record<string, Tensor> = {};
    for (const w of msg.outputs) outputs[w.name] = fromWire(w);
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

export class OnnxRuntimeEngine implements Engine {
  readonly backend = 'onnxruntime';
  readonly instances: number;
  readonly metadata: EngineMetadata;
  /** Set when the warm-up run failed (the model still loads; the first request pays the cost). */
  readonly warmupError: string | undefined;
  #workers: SessionWorker[];
  #idle: SessionWorker[];
  #waiting: ((w: SessionWorker) => void)[] = [];
  #nextId = 1;

  private constructor(workers: SessionWorker[], metadata: EngineMetadata, warmupError: string | undefined) {
    this.#workers = workers;
    this.#idle = [...workers];
    this.instances = workers.length;
    this.metadata = metadata;
    this.warmupError = warmupError;
  }

  static async create(options: EngineOptions): Promise<OnnxRuntimeEngine> {
    const instances = options.instances ?? 1;
    const providers = options.executionProviders?.length ? options.executionProviders : ['cpu'];
    for (const p of providers) {
      if (!(KNOWN_PROVIDERS as readonly string[]).includes(p)) {
        throw new FerryError('ENGINE_UNAVAILABLE', `execution provider "${p}" is unknown; onnxruntime-node knows ${KNOWN_PROVIDERS.join(', ')}`);
      }
    }
    try {
      await access(options.modelPath);
    } catch {
      throw new FerryError('MODEL_LOAD_FAILED', `model file ${options.modelPath} does not exist or cannot be read`);
    }
    const init: WorkerInit = {
      modelPath: options.modelPath,
      intraOpThreads: options.intraOpThreads ?? Math.max(1, Math.floor(availableParallelism() / instances)),
      interOpThreads: options.interOpThreads ?? 1,
      allowSpinning: options.allowSpinning ?? true,
      executionProviders: providers,
      warmup: options.warmup ?? true,
    };
    const workers = Array.from({ length: instances }, () => new SessionWorker(init));
    let ready;
    try {
      ready = await Promise.all(workers.map((w) => w.ready()));
    } catch (err) {
      await Promise.all(workers.map((w) => w.worker.terminate()));
      const message = (err as Error).message;
      const gpu = providers.find((p) => p !== 'cpu' && message.toLowerCase().includes(p));
      if (gpu) {
        throw new FerryError('ENGINE_UNAVAILABLE', `execution provider "${gpu}" is not available in this onnxruntime-node build or on this machine: ${message}`, { cause: err });
      }
      throw new FerryError('MODEL_LOAD_FAILED', `ONNX Runtime could not load ${options.modelPath}: ${message}`, { cause: err });
    }
    const first = ready[0]!;
    const symbolicDims: Record<string, (string | null)[]> = {};
    for (const m of [...first.inputs, ...first.outputs]) symbolicDims[m.name] = m.shape.map((d) => (typeof d === 'string' ? d : null));
    try {
      const metadata = {
        inputs: first.inputs.map((m) => toSpec(m, 'input')),
        outputs: first.outputs.map((m) => toSpec(m, 'output')),
        symbolicDims,
      };
      return new OnnxRuntimeEngine(workers, metadata, first.warmupError);
    } catch (err) {
      await Promise.all(workers.map((w) => w.worker.terminate()));
      throw err;
    }
  }

  async run(inputs: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<EngineResult> {
    const worker = this.#idle.pop() ?? (await new Promise<SessionWorker>((resolve) => this.#waiting.push(resolve)));
    try {
      if (worker.exited) throw new FerryError('INFERENCE_FAILED', 'the ONNX Runtime worker has exited');
      const id = this.#nextId++;
      const wire: WireTensor[] = [];
      const transfer = new Set<ArrayBuffer>();
      for (const [name, t] of Object.entries(inputs)) {
        const buffer = t.data.buffer as ArrayBuffer;
        wire.push({ name, type: DATATYPES[t.datatype].ort, dims: [...t.shape], buffer, byteOffset: t.data.byteOffset, length: t.data.length });
        transfer.add(buffer);
      }
      const request: WorkerRequest = { id, inputs: wire, ...(outputNames && { outputs: [...outputNames] }) };
      return await new Promise<EngineResult>((resolve, reject) => {
        worker.pending.set(id, { resolve, reject });
        worker.worker.postMessage(request, [...transfer]);
      });
    } finally {
      const next = this.#waiting.shift();
      if (next) next(worker);
      else this.#idle.push(worker);
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}
