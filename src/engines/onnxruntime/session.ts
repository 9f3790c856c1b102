/**
 * One ONNX Runtime session as ferry opens it, wherever it runs (a worker thread, or the event
 * loop's thread for models faster than a thread hop): options, metadata, warm-up, tensors.
 */
import ort from 'onnxruntime-node';
import type { WireMetadata, WireTensor } from './protocol.js';
import type { OrtSettings } from './parameters.js';

export interface OpenedSession {
  readonly session: ort.InferenceSession;
  readonly inputs: WireMetadata[];
  readonly outputs: WireMetadata[];
}

export async function openSession(modelPath: string, s: OrtSettings): Promise<OpenedSession> {
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: [...s.executionProviders],
    intraOpNumThreads: s.intraOpThreads,
    interOpNumThreads: s.interOpThreads,
    ...(!s.allowSpinning && { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
    graphOptimizationLevel: 'all',
  });
  const meta = (list: readonly ort.InferenceSession.ValueMetadata[]): WireMetadata[] =>
    list.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
  return { session, inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) };
}

/** Timed warm-up runs at batch 1 after the first (untimed: it pays the set-up). */
const TIMED_WARMUP_RUNS = 5;

/**
 * Runs the model on zeros at batch 1 (dynamic dims 1): once to pay the set-up, then a few times to
 * time it. Returns the median time of one run in ms, or the error.
 */
export async function warmUp(opened: OpenedSession): Promise<{ ms?: number; error?: string }> {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const i of opened.inputs) {
      const dims = i.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
      const n = dims.reduce((a, b) => a * b, 1);
      const Ctor = arrayFor(i.type);
      feeds[i.name] = new ort.Tensor(i.type as 'float32', new Ctor(new ArrayBuffer(n * 8), 0, n) as Float32Array, dims);
    }
    await opened.session.run(feeds);
    const times: number[] = [];
    for (let r = 0; r < TIMED_WARMUP_RUNS; r++) {
      const t0 = performance.now();
      await opened.session.run(feeds);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { ms: times[times.length >> 1]! };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export function arrayFor(type: string): new (b: ArrayBuffer, o: number, l: number) => ArrayBufferView {
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

export function wireToOrt(t: WireTensor): ort.Tensor {
  const Ctor = arrayFor(t.type);
  return new ort.Tensor(t.type as 'float32', new Ctor(t.buffer, t.byteOffset, t.length) as Float32Array, t.dims);
}

export function ortToWire(name: string, t: ort.Tensor): WireTensor {
  const data = t.data as ArrayBufferView;
  return { name, type: t.type, dims: [...t.dims], buffer: data.buffer as ArrayBuffer, byteOffset: data.byteOffset, length: t.size };
}
