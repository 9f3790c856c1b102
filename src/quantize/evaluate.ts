/**
 * How a converted model compares with its float original: top-1 accuracy on labelled data,
 * output agreement (cosine, top-1 agreement, max abs error: compare/metrics) on the same inputs,
 * and in-process throughput (bench/engine-bench) measured alternately to share the machine's noise.
 */
import type ort from 'onnxruntime-node';
import type { NamedTensors } from '../tensors/inputs.js';
import type { OutputStats } from '../tensors/metrics.js';
import { compareTensors, mergeStats, toFloat64 } from '../tensors/metrics.js';
import { fromOrtTensor } from '../engines/onnxruntime/tensors.js';
import { benchEngine } from '../measure/engine-bench.js';
import type { Dataset } from './data.js';
import { feedsFor, openSession, runDataset } from './session.js';
import { FerryError } from '../errors.js';

export interface AccuracyResult {
  readonly samples: number;
  readonly correct: number;
  /** Fraction of samples whose argmax is the label. */
  readonly top1: number;
  /** The output scored. */
  readonly output: string;
  readonly ms: number;
}

export interface EvalOptions {
  /** Samples per run. @defaultValue 32 */
  readonly batchSize?: number;
  /** The output holding the class scores. @defaultValue the first [batch, classes] output */
  readonly output?: string;
  /** Run the session this way (file or bytes). */
  readonly what?: string;
}

function pickClassOutput(session: ort.InferenceSession, wanted: string | undefined, shape: (name: string) => readonly number[] | undefined): string {
  if (wanted) {
    if (!session.outputNames.includes(wanted)) throw new FerryError('UNKNOWN_OUTPUT', `the model has no output "${wanted}" (it has ${session.outputNames.join(', ')})`);
    return wanted;
  }
  const found = session.outputNames.find((n) => shape(n)?.length === 2);
  if (!found) throw new FerryError('BAD_CALIBRATION_DATA', `no output of the model is [batch, classes] (outputs: ${session.outputNames.join(', ')}), so there is no top-1 to score`);
  return found;
}

/** Top-1 accuracy of a model on labelled data. */
export async function evaluateAccuracy(model: string, data: Dataset, options: EvalOptions = {}): Promise<AccuracyResult> {
  if (!data.labels) throw new FerryError('BAD_CALIBRATION_DATA', `${data.description}: has no labels to score against`);
  const labels = data.labels;
  const t0 = performance.now();
  const session = await openSession(model, options.what ?? model);
  let output: string | undefined;
  let correct = 0;
  try {
    await runDataset(session, data, {
      batchSize: options.batchSize ?? 32,
      what: options.what ?? model,
      onBatch(out, start, count) {
        output ??= pickClassOutput(session, options.output, (n) => out[n]?.dims);
        const t = out[output]!;
        const classes = t.dims[1]!;
        const values = toFloat64(fromOrtTensor(output, t)); // float16 outputs decoded
        for (let r = 0; r < count; r++) {
          let best = 0;
          for (let c = 1; c < classes; c++) if (values[r * classes + c]! > values[r * classes + best]!) best = c;
          if (best === labels[start + r]) correct++;
        }
      },
    });
  } finally {
    await session.release();
  }
  return { samples: data.size, correct, top1: correct / data.size, output: output ?? '', ms: performance.now() - t0 };
}

export interface OutputAgreement {
  readonly name: string;
  /** Smallest per-batch cosine similarity. */
  readonly cosine: number;
  /** Rows whose argmax agrees / rows, for [batch, classes] outputs. */
  readonly top1Agreement?: number;
  readonly maxAbs: number;
  readonly meanAbs: number;
}

export interface AgreementResult {
  readonly samples: number;
  readonly outputs: readonly OutputAgreement[];
  /** The smallest cosine over the outputs. */
  readonly minCosine: number;
}

/** Runs both models on the same batches and compares each output of `candidate` with `reference`'s. */
export async function evaluateAgreement(reference: string | Uint8Array, candidate: string | Uint8Array, batches: Dataset | readonly NamedTensors[], options: { batchSize?: number; limit?: number } = {}): Promise<AgreementResult> {
  const label = (m: string | Uint8Array, fallback: string) => (typeof m === 'string' ? m : fallback);
  const [a, b] = await Promise.all([openSession(reference, label(reference, 'the float model')), openSession(candidate, label(candidate, 'the converted model'))]);
  const stats = new Map<string, OutputStats[]>();
  let samples = 0;
  const compare = (refOut: ort.InferenceSession.OnnxValueMapType, out: ort.InferenceSession.OnnxValueMapType): void => {
    for (const name of a.outputNames) {
      const ref = refOut[name];
      const got = out[name];
      if (!ref || !got) continue;
      const s = compareTensors(fromOrtTensor(name, got), fromOrtTensor(name, ref), { atol: 0, rtol: 0 });
      stats.set(name, [...(stats.get(name) ?? []), s]);
    }
  };
  const runBoth = async (t: NamedTensors, what: string): Promise<void> => {
    const fa = feedsFor(a, t, what);
    const fb = feedsFor(b, t, what);
    try {
      compare(await a.run(fa), await b.run(fb));
    } catch (err) {
      throw new FerryError('INFERENCE_FAILED', `${what}: ONNX Runtime failed: ${(err as Error).message}`, { cause: err });
    }
  };
  try {
    if (Array.isArray(batches)) {
      for (const t of batches as readonly NamedTensors[]) {
        await runBoth(t, 'agreement on random inputs');
        samples += [...t.values()][0]?.shape[0] ?? 1;
      }
    } else {
      const data = batches as Dataset;
      const bs = options.batchSize ?? 16;
      const total = Math.min(data.size, options.limit ?? data.size);
      for (let start = 0; start < total; start += bs) {
        const count = Math.min(bs, total - start);
        await runBoth(await data.batch(start, count), `agreement on samples ${start}..${start + count - 1}`);
        samples += count;
      }
    }
  } finally {
    await Promise.all([a.release(), b.release()]);
  }
  const outputs = [...stats].map(([name, list]) => {
    const m = mergeStats(list);
    return {
      name, cosine: m.cosine, maxAbs: m.maxAbs, meanAbs: m.elements ? m.sumAbs / m.elements : NaN,
      ...(m.top1 && { top1Agreement: m.top1.agree / Math.max(1, m.top1.rows) }),
    };
  });
  return { samples, outputs, minCosine: outputs.reduce((m, o) => Math.min(m, Number.isNaN(o.cosine) ? -1 : o.cosine), 1) };
}

export interface ThroughputRow {
  readonly batch: number;
  /** Inferences per second of the float model, best of the rounds. */
  readonly before: number;
  readonly after: number;
  /** after / before. */
  readonly speedup: number;
}

export interface ThroughputOptions {
  readonly batchSizes: readonly number[];
  /** Measured seconds per model, batch size and round. */
  readonly seconds: number;
  /** Rounds, alternating the models. @defaultValue 2 */
  readonly rounds?: number;
  /** Dims after the batch axis of each input, where dynamic. */
  readonly shapes?: ReadonlyMap<string, readonly number[]>;
  readonly intraOpThreads?: number;
  readonly onProgress?: (line: string) => void;
}

/** In-process throughput of both models at each batch size: alternating short timed loops, best round of each. */
export async function measureThroughput(before: string, after: string, options: ThroughputOptions): Promise<ThroughputRow[]> {
  const best = new Map<string, number>();
  const rounds = options.rounds ?? 2;
  for (let r = 0; r < rounds; r++) {
    for (const [label, path] of [['before', before], ['after', after]] as const) {
      options.onProgress?.(`throughput: ${label === 'before' ? 'float' : 'converted'} model, round ${r + 1}/${rounds}, batch ${options.batchSizes.join(', ')}`);
      const report = await benchEngine({
        modelPath: path, batchSizes: options.batchSizes, durationS: options.seconds, warmupS: Math.min(0.5, options.seconds),
        ...(options.shapes && { shapes: options.shapes }),
        ...(options.intraOpThreads !== undefined && { intraOpThreads: options.intraOpThreads }),
      });
      for (const res of report.results) {
        const key = `${label}:${res.batch}`;
        best.set(key, Math.max(best.get(key) ?? 0, res.inferencesPerS));
      }
    }
  }
  return options.batchSizes.map((batch) => {
    const b = best.get(`before:${batch}`) ?? NaN;
    const a = best.get(`after:${batch}`) ?? NaN;
    return { batch, before: b, after: a, speedup: a / b };
  });
}
