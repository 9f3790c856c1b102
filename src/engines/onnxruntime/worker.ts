/**
 * One ONNX Runtime session on its own thread. `session.run` blocks the thread that calls it, so it
 * does not run on the event loop (except the inline session of a model faster than this thread
 * hop: ./inline.ts): the main thread posts a batch here, with its buffers transferred (not
 * copied), and gets the outputs back the same way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';
import { openSession, ortToWire, warmUp, wireToOrt } from './session.js';
import type ort from 'onnxruntime-node';

const init = workerData as WorkerInit;
const port = parentPort!;

async function main(): Promise<void> {
  const opened = await openSession(init.modelPath, init);
  const { session, inputs, outputs } = opened;
  const warm = init.warmup ? await warmUp(opened) : {};
  port.postMessage({
    type: 'ready', inputs, outputs, ...(warm.error && { warmupError: warm.error }), ...(warm.ms !== undefined && { warmupMs: warm.ms }),
  } satisfies WorkerReply);

  port.on('message', async (msg: WorkerRequest) => {
    const released = msg.inputs.map((t) => t.buffer);
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of msg.inputs) feeds[t.name] = wireToOrt(t);
      const start = performance.now();
      const result = msg.outputs ? await session.run(feeds, msg.outputs) : await session.run(feeds);
      const computeMs = performance.now() - start;
      const wire = Object.entries(result).map(([name, t]) => ortToWire(name, t));
      const transfer = new Set<ArrayBuffer>([...wire.map((w) => w.buffer), ...released]);
      port.postMessage({ type: 'result', id: msg.id, outputs: wire, computeMs, released } satisfies WorkerReply, [...transfer]);
    } catch (err) {
      port.postMessage({ type: 'runError', id: msg.id, message: (err as Error).message, released } satisfies WorkerReply, [...new Set(released)]);
    }
  });
}

main().catch((err: unknown) => {
  port.postMessage({ type: 'error', message: (err as Error).message } satisfies WorkerReply);
});
