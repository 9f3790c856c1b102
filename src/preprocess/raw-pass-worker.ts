/**
 * A preprocessing thread of RawPassPool: runs rawPass on the pixels it is sent and sends the
 * model-sized pixels back, their buffer transferred. Pure JS (no libvips, no ONNX Runtime), so the
 * pool may end it at any time.
 */
import { parentPort } from 'node:worker_threads';
import type { RawPassReply, RawPassRequest } from './raw-pass-pool.js';
import { rawPass } from './raw-pixels.js';

const port = parentPort!;

port.on('message', (msg: RawPassRequest) => {
  try {
    const p = rawPass(Buffer.from(msg.body), msg.raw, msg.cfg);
    // Sent in a buffer of its own: the result may be a view into a larger one (Node's pool for
    // small Buffers), which must not be transferred; a copy made with Buffer.from would be one too.
    const data = p.data.byteOffset === 0 && p.data.byteLength === p.data.buffer.byteLength ? p.data : new Uint8Array(p.data);
    const reply: RawPassReply = { id: msg.id, data: data.buffer as ArrayBuffer, channels: p.channels, ...(p.inverted !== undefined && { inverted: p.inverted }), ...(p.objectFound !== undefined && { objectFound: p.objectFound }) };
    port.postMessage(reply, [reply.data]);
  } catch (err) {
    port.postMessage({ id: msg.id, error: (err as Error).message } satisfies RawPassReply);
  }
});
