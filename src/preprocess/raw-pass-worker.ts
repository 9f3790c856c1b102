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
    // The result owns its buffer unless it is the body itself (pixels already at the model's size).
    const data = p.data.byteLength === p.data.buffer.byteLength ? p.data : Buffer.from(p.data);
    const reply: RawPassReply = { id: msg.id, data: data.buffer as ArrayBuffer, channels: p.channels, ...(p.inverted !== undefined && { inverted: p.inverted }), ...(p.objectFound !== undefined && { objectFound: p.objectFound }) };
    port.postMessage(reply, [reply.data]);
  } catch (err) {
    port.postMessage({ id: msg.id, error: (err as Error).message } satisfies RawPassReply);
  }
});
