/** Runs load steps on the load worker (./load-worker.ts) and resolves with their results. */
import { Worker } from 'node:worker_threads';
import type { LoadOptions, LoadProgress, LoadResult, LoadStep } from '../bench/load.js';
import type { RequestSpec } from '../bench/payload.js';

export interface LoadWorkerRequest {
  readonly id: number;
  readonly step: LoadStep;
  readonly options: Omit<LoadOptions, 'requests' | 'onProgress'>;
  readonly requests: readonly RequestSpec[];
}

export type LoadWorkerReply =
  | { readonly type: 'progress'; readonly id: number; readonly progress: LoadProgress }
  | { readonly type: 'result'; readonly id: number; readonly result: LoadResult }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

interface Pending {
  resolve: (r: LoadResult) => void;
  reject: (err: Error) => void;
  onProgress?: ((p: LoadProgress) => void) | undefined;
}

const WORKER_URL = new URL('./load-worker.js', import.meta.url);

export class LoadClient {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 0;

  constructor() {
    this.#worker = new Worker(WORKER_URL);
    this.#worker.unref();
    this.#worker.on('message', (msg: LoadWorkerReply) => {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      if (msg.type === 'progress') {
        p.onProgress?.(msg.progress);
        return;
      }
      this.#settled(msg.id);
      if (msg.type === 'result') p.resolve(msg.result);
      else p.reject(new Error(`load generator: ${msg.message}`));
    });
    const fail = (err: Error): void => {
      const all = [...this.#pending.values()];
      this.#pending.clear();
      for (const p of all) p.reject(err);
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`the load generator's thread exited (code ${code})`)));
  }

  /** One step of load against `options.url`. */
  run(step: LoadStep, requests: readonly RequestSpec[], options: LoadWorkerRequest['options'], onProgress?: (p: LoadProgress) => void): Promise<LoadResult> {
    const id = this.#next++;
    return new Promise<LoadResult>((resolve, reject) => {
      // The thread holds the process open only while a step runs.
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ id, step, options, requests } satisfies LoadWorkerRequest);
    });
  }

  #settled(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker.unref();
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
