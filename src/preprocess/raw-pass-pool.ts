/**
 * Preprocessing threads for the JS pass of small raw pixels (the seed's /predict). On the event
 * loop a 112x112 picture's object pass costs ~0.2 ms of a ~1 ms request (2-core Xeon, slow day),
 * and under load the event loop is the bottleneck while the other core has time: the caller
 * sends the pass here when it has other requests to serve meanwhile, and runs it in place when
 * not (a lone request would only pay the two thread hops). Threads start on first use.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { ImageConfig } from './image-config.js';
import type { Pixels, RawPixels } from './raw-pixels.js';
import { FerryError } from '../errors.js';

const WORKER_URL = new URL('./raw-pass-worker.js', import.meta.url);

export interface RawPassRequest {
  id: number;
  /** A copy of the pixels (transferred): a request body's bytes may share their buffer with others. */
  body: ArrayBuffer;
  raw: RawPixels;
  cfg: ImageConfig;
}

export type RawPassReply =
  | { id: number; data: ArrayBuffer; channels: number; inverted?: boolean; objectFound?: boolean; error?: undefined }
  | { id: number; error: string };

interface Pending {
  resolve: (p: Pixels) => void;
  reject: (e: Error) => void;
}

class PassThread {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();

  constructor(onExit: (t: PassThread) => void) {
    this.worker = new Worker(WORKER_URL);
    this.worker.unref(); // never what keeps a process alive
    this.worker.on('message', (msg: RawPassReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new FerryError('INTERNAL', `the image pass failed: ${msg.error}`));
      else p.resolve({ data: Buffer.from(msg.data), channels: msg.channels, ...(msg.inverted !== undefined && { inverted: msg.inverted }), ...(msg.objectFound !== undefined && { objectFound: msg.objectFound }) });
    });
    this.worker.on('error', () => {}); // 'exit' follows and fails what was pending
    this.worker.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new FerryError('INTERNAL', `the image preprocessing thread exited (code ${code})`));
      this.pending.clear();
      onExit(this);
    });
  }
}

export class RawPassPool {
  readonly size: number;
  #threads: PassThread[] = [];
  #nextId = 1;
  #closed = false;

  /** @param size threads; default one fewer than the cores, 1 to 4 */
  constructor(size = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    this.size = size;
  }

  /** rawPass(body, raw, cfg) on the least busy thread. */
  run(body: Buffer, raw: RawPixels, cfg: ImageConfig): Promise<Pixels> {
    if (this.#closed) return Promise.reject(new FerryError('INTERNAL', 'the image preprocessing threads are closed'));
    if (this.#threads.length < this.size) this.#threads.push(new PassThread((t) => { this.#threads = this.#threads.filter((x) => x !== t); }));
    const thread = this.#threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const copy = new Uint8Array(body); // its own buffer, to transfer
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ id, body: copy.buffer, raw, cfg } satisfies RawPassRequest, [copy.buffer]);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }
}
