/**
 * One ONNX Runtime session on its own thread. `session.run` blocks the thread that calls it, so it
 * never runs on the event loop: the main thread posts a batch here, with its buffers transferred
 * (not copied), and gets the outputs back the same way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { WireTensor, WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;

function toOrt(t: WireTensor): ort.Tensor {
  const Ctor = arrayFor(t.type);
  return new ort.Tensor(t.type as 'float32', new Ctor(t.buffer, t.byteOffset, t.length) as Float32Array, t.dims);
}

function arrayFor(type: string): new (b: ArrayBuffer, o: number, l: number) => ArrayBufferView {
  switch (type) {
    case 'float32': return Float32Array;
    case 'float64': return Float64Array;
    case 'float16': case 'uint16': return Uint16Array;
    case 'int8': return Int8Array;
    case 'int16': return Int16Array;
    case 'int32': return Int32Array;
    case 'uint32': return Uint32Array;
    case 'int64': return BigInt64Array;
    case 'uint64': return BigUint64Array;
    default: return Uint8Array; // uint8, bool
  }
}

function toWire(name: string, t: ort.Tensor): WireTensor {
  const data = t.data as ArrayBufferView;
  return { name, type: t.type, dims: [...t.dims], buffer: data.buffer as ArrayBuffer, byteOffset: data.byteOffset, length: t.size };
}

async function main(): Promise<void> {
  const session = await ort.InferenceSession.create(init.modelPath, {
    executionProviders: [...init.executionProviders],
    intraOpNumThreads: init.intraOpThreads,
    interOpNumThreads: init.interOpThreads,
    ...(!init.allowSpinning && { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
    graphOptimizationLevel: 'all',
  });
  const meta = (list: readonly ort.InferenceSession.ValueMetadata[]) =>
    list.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
  const inputs = meta(session.inputMetadata);
  const outputs = meta(session.outputMetadata);

  let warmupError: string | undefined;
  if (init.warmup) {
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const i of inputs) {
        const dims = i.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
        const n = dims.reduce((a, b) => a * b, 1);
        const Ctor = arrayFor(i.type);
        feeds[i.name] = new ort.Tensor(i.type as 'float32', new Ctor(new ArrayBuffer(n * 8), 0, n) as Float32Array, dims);
      }
      await session.run(feeds);
    } catch (err) {
      warmupError = (err as Error).message;
    }
  }
  port.postMessage({ type: 'ready', inputs, outputs, ...(warmupError && { warmupError }) } satisfies WorkerReply);

  port.on('message', async (msg: WorkerRequest) => {
    const released = msg.inputs.map((t) => t.buffer);
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of msg.inputs) feeds[t.name] = toOrt(t);
      const start = performance.now();
      const result = msg.outputs ? await session.run(feeds, msg.outputs) : await session.run(feeds);
      const computeMs = performance.now() - start;
      const wire = Object.entries(result).map(([name, t]) => toWire(name, t));
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
