/**
 * A session on the event loop's own thread, for batches that take less time to compute than a
 * round trip to a worker thread costs (postMessage both ways, two thread wake-ups: ~0.1-0.3 ms,
 * more on a busy machine). The Fashion model computes one sample in ~0.07 ms: there the hop, not
 * the model, was most of what a request cost. Tensors are views over the batch buffers; nothing
 * moves and nothing is copied.
 */
import type ort from 'onnxruntime-node';
import type { EngineResult } from '../engine.js';
import { EngineRunError } from '../engine.js';
import type { Tensor } from '../../tensors/tensor.js';
import type { OrtSettings } from './parameters.js';
import { openSession } from './session.js';
import { fromOrtTensor, toOrtTensor } from './tensors.js';

export class InlineSession {
  readonly #session: ort.InferenceSession;
  /** Runs in flight: the session is released only after them (a run outliving its session aborts the process). */
  readonly #running = new Set<Promise<unknown>>();

  private constructor(session: ort.InferenceSession) {
    this.#session = session;
  }

  /** One intra-op thread: a pool of ORT threads on the event loop's process would spin against it. */
  static async open(modelPath: string, settings: OrtSettings): Promise<InlineSession> {
    const { session } = await openSession(modelPath, { ...settings, intraOpThreads: 1, interOpThreads: 1 });
    return new InlineSession(session);
  }

  async run(inputs: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<EngineResult> {
    const released: ArrayBuffer[] = [];
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) {
      feeds[name] = toOrtTensor(t);
      const b = t.data.buffer as ArrayBuffer;
      if (!released.includes(b)) released.push(b);
    }
    const start = performance.now();
    let result: ort.InferenceSession.ReturnType;
    const running = outputNames ? this.#session.run(feeds, outputNames) : this.#session.run(feeds);
    this.#running.add(running);
    try {
      result = await running;
    } catch (err) {
      throw new EngineRunError(`ONNX Runtime failed to run the batch: ${(err as Error).message}`, released, { cause: err });
    } finally {
      this.#running.delete(running);
    }
    const computeMs = performance.now() - start;
    const outputs: Record<string, Tensor> = {};
    try {
      for (const [name, t] of Object.entries(result)) outputs[name] = fromOrtTensor(name, t);
    } catch (err) {
      throw new EngineRunError((err as Error).message, released, { cause: err });
    }
    return { outputs, computeMs, released };
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.#running);
    await this.#session.release();
  }
}
