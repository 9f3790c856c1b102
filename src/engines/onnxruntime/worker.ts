/**
 * One ONNX Runtime session on its own thread. `session.run` blocks the thread that calls it, so it
 * does not run on the event loop (except the inline session of a model faster than this thread
 * hop: ./inline.ts): the main thread posts a batch here, with its buffers transferred (not
 * copied), and gets the outputs back the same way.
 *
 * The thread ends itself on a close message, after what it is running: onnxruntime-node's run
 * finishes on a thread of its own and calls back into this one, and a thread terminated from
 * outside in the meantime aborts the process ("terminate called after throwing an instance of
 * 'Napi::Error'").
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInit, WorkerMessage, WorkerReply, WorkerRequest } from './protocol.js';
import { openSession, ortToWire, warmUp, wireToOrt } from './session.js';
import type { OpenedSession } from './session.js';
import type ort from 'onnxruntime-node';

const init = workerData as WorkerInit;
const port = parentPort!;
const running = new Set<Promise<void>>();

async function load(): Promise<OpenedSession> {
  const opened = await openSession(init.modelPath, init);
  const warm = init.warmup ? await warmUp(opened) : {};
  port.postMessage({
    type: 'ready', inputs: opened.inputs, outputs: opened.outputs, ...(warm.error && { warmupError: warm.error }), ...(warm.ms !== undefined && { warmupMs: warm.ms }),
  } satisfies WorkerReply);
  return opened;
}

async function run(session: ort.InferenceSession, msg: WorkerRequest): Promise<void> {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of msg.inputs) feeds[t.name] = wireToOrt(t);
    const start = performance.now();
    const result = msg.outputs ? await session.run(feeds, msg.outputs) : await session.run(feeds);
    const computeMs = performance.now() - start;
    const wire = Object.entries(result).map(([name, t]) => ortToWire(name, t));
    const released = msg.inputs.map((t) => t.buffer);
    const transfer = new Set<ArrayBuffer>([...wire.map((w) => w.buffer), ...released]);
    port.postMessage({ type: 'result', id: msg.id, outputs: wire, computeMs, released } satisfies WorkerReply, [...transfer]);
  } catch (err) {
    runError(msg, err);
  }
}

/** The batch failed (or its session never loaded): the error, and the batch's buffers back. */
function runError(msg: WorkerRequest, err: unknown): void {
  const released = msg.inputs.map((t) => t.buffer);
  port.postMessage({ type: 'runError', id: msg.id, message: (err as Error).message, released } satisfies WorkerReply, [...new Set(released)]);
}

async function close(): Promise<void> {
  const opened = await loading.catch(() => undefined);
  await Promise.all(running);
  await opened?.session.release().catch(() => {});
  process.exit(0);
}

const loading = load();
loading.catch((err: unknown) => {
  port.postMessage({ type: 'error', message: (err as Error).message } satisfies WorkerReply);
});

// Listening from the start: a close can come while the session is still loading.
port.on('message', (msg: WorkerMessage) => {
  if (msg.type === 'close') {
    void close();
    return;
  }
  const p = loading.then((opened) => run(opened.session, msg), (err: unknown) => runError(msg, err));
  running.add(p);
  void p.then(() => running.delete(p));
});
