/**
 * The load generator of `ferry tune` on its own thread: the server under test runs on the main
 * thread's event loop, so the clients must not share it (`ferry bench` is a separate process for
 * the same reason). One message = one closed-loop step; progress and the result are posted back.
 */
import { parentPort } from 'node:worker_threads';
import { runLoadStep } from '../bench/load.js';
import type { LoadWorkerReply, LoadWorkerRequest } from './load-client.js';

const port = parentPort!;

port.on('message', (msg: LoadWorkerRequest) => {
  // Buffers arrive as plain Uint8Arrays (structured clone): view them as Buffers again, no copy.
  const requests = msg.requests.map((r) => ({ ...r, body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) }));
  runLoadStep(msg.step, {
    ...msg.options,
    requests,
    onProgress: (progress) => port.postMessage({ type: 'progress', id: msg.id, progress } satisfies LoadWorkerReply),
  }).then(
    (result) => port.postMessage({ type: 'result', id: msg.id, result } satisfies LoadWorkerReply),
    (err: unknown) => port.postMessage({ type: 'error', id: msg.id, message: (err as Error).message ?? String(err) } satisfies LoadWorkerReply),
  );
});
