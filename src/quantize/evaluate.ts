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
  /** The least cosine similarity of one sample's output (each row of the batch axis) over all samples. */
  readonly cosine: number;
  /** The mean over samples of the per-sample cosine. */
  readonly meanCosine: number;
  /** One cosine over every sample's output together (what the least per-batch cosine used to approximate). */
  readonly pooledCosine: number;
  /** The sample (index into the data compared) with the least cosine. */
  readonly worstSample: number;
  /** Rows whose argmax agrees / rows, for [batch, classes] outputs. */
  readonly top1Agreement?: number;
  readonly maxAbs: number;
  readonly meanAbs: number;
}

export interface AgreementResult {
  readonly samples: number;
  readonly outputs: readonly OutputAgreement[];
  /** The least per-sample cosine over the outputs. */
  readonly minCosine: number;
  /** The least, over the outputs, of the mean per-sample cosine. */
  readonly meanCosine: number;
  /** The least, over the outputs, of the pooled cosine (all samples together). */
  readonly pooledCosine: number;
}

/**
 * Cosine similarity of each sample's slice of `a` against the reference `b` (both [rows, ...]),
 * in float64. Two zero slices agree (1); a zero slice against a non-zero one is 0; NaN stays NaN.
 */
export function sampleCosines(a: Float64Array, b: Float64Array, rows: number): Float64Array {
  const out = new Float64Array(rows);
  const per = rows > 0 ? a.length / rows : 0;
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = r * per; i < (r + 1) * per; i++) {
      const u = a[i]!;
      const v = b[i]!;
      dot += u * v;
      na += u * u;
      nb += v * v;
    }
    const c = na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
    out[r] = Number.isNaN(c) ? NaN : Math.min(1, Math.max(-1, c));
  }
  return out;
}

/** Runs both models on the same batches and compares each output of `candidate` with `reference`'s. */
export async function evaluateAgreement(reference: string | Uint8Array, candidate: string | Uint8Array, batches: Dataset | readonly NamedTensors[], options: { batchSize?: number; limit?: number } = {}): Promise<AgreementResult> {
  const label = (m: string | Uint8Array, fallback: string) => (typeof m === 'string' ? m : fallback);
  const [a, b] = await Promise.all([openSession(reference, label(reference, 'the float model')), openSession(candidate, label(candidate, 'the converted model'))]);
  const stats = new Map<string, OutputStats[]>();
  // Per output: every sample's cosine, in the order compared, and the sums of the pooled cosine.
  const cosines = new Map<string, number[]>();
  const pooled = new Map<string, { dot: number; nx: number; ny: number }>();
  let samples = 0;
  const compare = (refOut: ort.InferenceSession.OnnxValueMapType, out: ort.InferenceSession.OnnxValueMapType, rows: number): void => {
    for (const name of a.outputNames) {
      const ref = refOut[name];
      const got = out[name];
      if (!ref || !got) continue;
      const [x, y] = [fromOrtTensor(name, got), fromOrtTensor(name, ref)];
      const s = compareTensors(x, y, { atol: 0, rtol: 0 });
      stats.set(name, [...(stats.get(name) ?? []), s]);
      const list = cosines.get(name) ?? [];
      cosines.set(name, list);
      // Outputs without the batch axis (a scalar, a fixed table) count as one sample per run.
      const [fx, fy] = [toFloat64(x), toFloat64(y)];
      const perSample = x.shape[0] === rows && !s.note && fx.length === fy.length;
      if (perSample) list.push(...sampleCosines(fx, fy, rows));
      else list.push(s.cosine);
      const p = pooled.get(name) ?? { dot: 0, nx: 0, ny: 0 };
      pooled.set(name, p);
      if (fx.length === fy.length) for (let i = 0; i < fx.length; i++) { p.dot += fx[i]! * fy[i]!; p.nx += fx[i]! * fx[i]!; p.ny += fy[i]! * fy[i]!; }
    }
  };
  const runBoth = async (t: NamedTensors, what: string): Promise<void> => {
    const fa = feedsFor(a, t, what);
    const fb = feedsFor(b, t, what);
    try {
      compare(await a.run(fa), await b.run(fb), [...t.values()][0]?.shape[0] ?? 1);
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
    const c = cosines.get(name) ?? [];
    let worst = 0;
    let sum = 0;
    for (let i = 0; i < c.length; i++) {
      const v = Number.isNaN(c[i]!) ? -1 : c[i]!;
      if (v < (Number.isNaN(c[worst]!) ? -1 : c[worst]!)) worst = i;
      sum += v;
    }
    const p = pooled.get(name) ?? { dot: 0, nx: 0, ny: 0 };
    const pooledCosine = p.nx === 0 && p.ny === 0 ? 1 : p.nx === 0 || p.ny === 0 ? 0 : Math.min(1, p.dot / Math.sqrt(p.nx * p.ny));
    return {
      name, cosine: c.length ? (Number.isNaN(c[worst]!) ? -1 : c[worst]!) : NaN, meanCosine: c.length ? sum / c.length : NaN, pooledCosine, worstSample: worst,
      maxAbs: m.maxAbs, meanAbs: m.elements ? m.sumAbs / m.elements : NaN,
      ...(m.top1 && { top1Agreement: m.top1.agree / Math.max(1, m.top1.rows) }),
    };
  });
  const least = (f: (o: OutputAgreement) => number): number => outputs.reduce((m, o) => Math.min(m, Number.isNaN(f(o)) ? -1 : f(o)), 1);
  return { samples, outputs, minCosine: least((o) => o.cosine), meanCosine: least((o) => o.meanCosine), pooledCosine: least((o) => o.pooledCosine) };
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
