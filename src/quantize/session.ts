/**
 * ONNX Runtime in process for quantization: sessions over files or bytes, a model's inputs, and
 * batches of a dataset run through a session.
 */
import ort from 'onnxruntime-node';
import type { Model } from '../onnx/ir/model.js';
import { dataTypeInfo, dataTypeName } from '../onnx/ir/data-type.js';
import { toOrtTensor } from '../engines/onnxruntime/tensors.js';
import { toHalfBits } from '../tensors/dtype.js';
import type { NamedTensors } from '../tensors/inputs.js';
import type { Dataset, ModelInput } from './data.js';
import { FerryError } from '../errors.js';

/** The graph inputs that are not initializers, with their v2 datatypes. */
export function modelInputs(model: Model): ModelInput[] {
  const g = model.graph;
  return g.inputs.filter((v) => !g.initializers.has(v.name)).map((v) => {
    const dt = dataTypeInfo(v.elemType ?? 0)?.v2;
    if (!dt) throw new FerryError('BAD_CALIBRATION_DATA', `model input "${v.name}" has type ${dataTypeName(v.elemType ?? 0)}, which ferry cannot feed`);
    return { name: v.name, datatype: dt, dims: (v.shape ?? []).map((d) => (d === null ? -1 : d)) };
  });
}

/** The batch to run: `preferred`, or the fixed size of an input's first axis (1 for most fixed-batch models). */
export function batchLimit(inputs: readonly ModelInput[], preferred: number): number {
  for (const i of inputs) {
    const d = i.dims[0];
    if (typeof d === 'number' && d > 0) return d;
  }
  return preferred;
}

export interface SessionOptions {
  /** ONNX Runtime graph optimization level. @defaultValue 'all' */
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Intra-op threads. @defaultValue ONNX Runtime's default (the cores) */
  readonly threads?: number;
  /** Write the optimized graph here (to see what ONNX Runtime fused). */
  readonly optimizedModelPath?: string;
}

/** Opens a session; a model ONNX Runtime cannot load is `failCode` with its message. */
export async function openSession(model: string | Uint8Array, what: string, options: SessionOptions = {}, failCode: 'MODEL_LOAD_FAILED' | 'QUANTIZE_FAILED' = 'MODEL_LOAD_FAILED'): Promise<ort.InferenceSession> {
  const so: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: options.optimization ?? 'all',
    ...(options.threads !== undefined && { intraOpNumThreads: options.threads }),
    ...(options.optimizedModelPath !== undefined && { optimizedModelFilePath: options.optimizedModelPath }),
  };
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, so) : await ort.InferenceSession.create(model, so);
  } catch (err) {
    throw new FerryError(failCode, `${what}: ONNX Runtime cannot load it: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The session's feeds from tensors: float32 data goes to float16 inputs converted (a model made
 * with --fp16 --no-keep-io-types takes the same data as its float original).
 */
export function feedsFor(session: ort.InferenceSession, tensors: NamedTensors, what: string): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    const t = tensors.get(m.name);
    if (!t) throw new FerryError('BAD_CALIBRATION_DATA', `${what}: the data has no input "${m.name}" (it has ${[...tensors.keys()].join(', ')})`);
    if (m.isTensor && m.type === 'float16' && t.datatype === 'FP32') {
      const src = t.data as Float32Array;
      const half = new Uint16Array(src.length);
      for (let i = 0; i < src.length; i++) half[i] = toHalfBits(src[i]!);
      feeds[m.name] = new ort.Tensor('float16', half, [...t.shape]);
    } else {
      feeds[m.name] = toOrtTensor(t);
    }
  }
  return feeds;
}

/**
 * Runs `data[0, limit)` through the session in batches of `batchSize` (the last may be smaller),
 * fetching `fetches` (default: every output), and hands each batch's outputs to `onBatch`.
 */
export async function runDataset(
  session: ort.InferenceSession, data: Dataset, options: {
    batchSize: number;
    limit?: number;
    fetches?: readonly string[];
    what: string;
    onBatch: (outputs: ort.InferenceSession.OnnxValueMapType, start: number, count: number) => void | Promise<void>;
  },
): Promise<void> {
  const total = Math.min(options.limit ?? data.size, data.size);
  for (let start = 0; start < total; start += options.batchSize) {
    const count = Math.min(options.batchSize, total - start);
    const feeds = feedsFor(session, await data.batch(start, count), options.what);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = options.fetches ? await session.run(feeds, [...options.fetches]) : await session.run(feeds);
    } catch (err) {
      throw new FerryError('INFERENCE_FAILED', `${options.what}: ONNX Runtime failed on samples ${start}..${start + count - 1}: ${(err as Error).message}`, { cause: err });
    }
    await options.onBatch(out, start, count);
  }
}
