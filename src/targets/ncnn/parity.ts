/**
 * The parity check that ends a conversion: the original ONNX model on ONNX Runtime and the
 * written ncnn model in the real ncnn runtime, on the same inputs, output by output: cosine,
 * max |diff| and max |diff| relative to the reference's range (max - min), and top-1 agreement.
 */
import type { NamedTensors } from '../../tensors/inputs.js';
import { randomInputs } from '../../tensors/inputs.js';
import { toFloat64 } from '../../tensors/metrics.js';
import { openSession, feedsFor } from '../../quantize/session.js';
import { fromOrtTensor } from '../../engines/onnxruntime/tensors.js';
import type { Tensor } from '../../tensors/tensor.js';
import type { BlobBinding } from './build.js';
import { runNcnn } from './runtime.js';

export interface OutputParity {
  readonly name: string;
  readonly shape: readonly number[];
  /** Smallest cosine over the trials. */
  readonly cosine: number;
  readonly maxAbs: number;
  /** max |diff| / (max - min of the reference), over the trials. */
  readonly maxRelRange: number;
  /** Trials whose argmax agrees (over the flattened output). */
  readonly top1Agree: number;
}

export interface ParityReport {
  readonly trials: number;
  readonly source: string;
  readonly outputs: readonly OutputParity[];
  readonly ncnnVersion: string;
  /** ms per run in ncnn (the trials, after a warm-up). */
  readonly ncnnMs: number;
  readonly minCosine: number;
  readonly maxRelRange: number;
}

export interface ParityOptions {
  readonly onnx: string;
  readonly param: string;
  readonly bin: string;
  readonly inputs: readonly BlobBinding[];
  readonly outputs: readonly BlobBinding[];
  /** Inputs to use; random normal ones (seeded) otherwise. */
  readonly trials?: readonly NamedTensors[];
  /** Random input sets when no trials are given. @defaultValue 3 */
  readonly count?: number;
  /** @defaultValue 0 */
  readonly seed?: number;
  /** ncnn threads. @defaultValue 1 */
  readonly threads?: number;
  /** Run ncnn with fp16 storage and arithmetic (as ARM would). @defaultValue false */
  readonly fp16?: boolean;
}

/** Random input sets for the bindings (normal floats, batch 1). */
export function parityInputs(inputs: readonly BlobBinding[], count: number, seed: number): NamedTensors[] {
  const specs = inputs.map((i) => ({ name: i.name, datatype: 'FP32' as const, shape: [...i.shape] }));
  return Array.from({ length: count }, (_, t) => randomInputs(specs, seed, t));
}

export async function checkParity(options: ParityOptions): Promise<ParityReport> {
  const trials = options.trials ?? parityInputs(options.inputs, options.count ?? 3, options.seed ?? 0);
  const session = await openSession(options.onnx, `the original model ${options.onnx}`, { optimization: 'all', threads: 1 });
  const reference: NamedTensors[] = [];
  try {
    for (const t of trials) {
      const out = await session.run(feedsFor(session, t, 'parity'));
      reference.push(new Map(options.outputs.map((o) => [o.name, fromOrtTensor(o.name, out[o.name]!)])));
    }
  } finally {
    await session.release();
  }
  const ncnn = await runNcnn(trials, {
    param: options.param, bin: options.bin, threads: options.threads ?? 1, fp16: options.fp16 ?? false,
    inputs: options.inputs, outputs: options.outputs,
  });
  const outputs = options.outputs.map((o) => {
    let cosine = 1;
    let maxAbs = 0;
    let maxRelRange = 0;
    let top1Agree = 0;
    trials.forEach((_, t) => {
      const s = diff(ncnn.outputs[t]!.get(o.name)!, reference[t]!.get(o.name)!);
      cosine = Math.min(cosine, s.cosine);
      maxAbs = Math.max(maxAbs, s.maxAbs);
      maxRelRange = Math.max(maxRelRange, s.relRange);
      if (s.sameArgmax) top1Agree++;
    });
    return { name: o.name, shape: o.shape, cosine, maxAbs, maxRelRange, top1Agree };
  });
  return {
    trials: trials.length, source: options.trials ? 'given inputs' : `random normal inputs (seed ${options.seed ?? 0})`, outputs,
    ncnnVersion: ncnn.version, ncnnMs: ncnn.ms.reduce((a, b) => a + b, 0) / Math.max(1, ncnn.ms.length),
    minCosine: Math.min(...outputs.map((o) => o.cosine)), maxRelRange: Math.max(...outputs.map((o) => o.maxRelRange)),
  };
}

function diff(a: Tensor, b: Tensor): { cosine: number; maxAbs: number; relRange: number; sameArgmax: boolean } {
  const x = toFloat64(a);
  const y = toFloat64(b);
  let dot = 0;
  let nx = 0;
  let ny = 0;
  let maxAbs = 0;
  let lo = Infinity;
  let hi = -Infinity;
  let ax = 0;
  let ay = 0;
  for (let i = 0; i < y.length; i++) {
    const u = x[i]!;
    const v = y[i]!;
    dot += u * v;
    nx += u * u;
    ny += v * v;
    const d = Math.abs(u - v);
    if (!(d <= maxAbs)) maxAbs = d;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (u > x[ax]!) ax = i;
    if (v > y[ay]!) ay = i;
  }
  const cosine = nx === 0 && ny === 0 ? 1 : dot / Math.sqrt(nx * ny);
  const range = hi - lo;
  return { cosine: Number.isNaN(cosine) ? 0 : cosine, maxAbs, relRange: range > 0 ? maxAbs / range : maxAbs, sameArgmax: ax === ay };
}
