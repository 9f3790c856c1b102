/**
 * The in-process ceiling: one onnxruntime-node InferenceSession, run back to back at each batch
 * size, with the server's default session settings (intra-op threads = the machine's cores,
 * inter-op threads 1, graph optimization 'all'). No HTTP, no queue, no worker thread: what the
 * server's throughput should approach.
 */
import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { fromOrtType } from '../tensors/dtype.js';
import { randomTensor, seededRandom } from '../tensors/random.js';
import { LatencyRecorder } from './latency.js';
import { engineForFile } from '../engines/registry.js';
import type { LatencySummary } from './latency.js';

export interface EngineBenchOptions {
  readonly modelPath: string;
  readonly batchSizes: readonly number[];
  /** Measured time per batch size, in s. */
  readonly durationS: number;
  /** Untimed runs before each batch size's measurement, in s (at least one run). @defaultValue 1 */
  readonly warmupS?: number;
  /** Dims of each input after the batch axis, for dynamic ones. */
  readonly shapes?: ReadonlyMap<string, readonly number[]>;
  /** Intra-op threads. @defaultValue os.availableParallelism() (the server's default with one instance) */
  readonly intraOpThreads?: number;
  /** TorchScript only: libtorch engine instances, each fed by its own loop. @defaultValue 1 */
  readonly instances?: number;
  readonly executionProviders?: readonly string[];
  readonly seed?: number;
  readonly onProgress?: (batch: number, elapsedS: number, runs: number) => void;
}

export interface EngineBenchResult {
  readonly batch: number;
  readonly runs: number;
  readonly durationS: number;
  readonly runsPerS: number;
  readonly inferencesPerS: number;
  /** Time of one session.run, ms. */
  readonly latency: LatencySummary;
}

export interface EngineBenchReport {
  readonly model: string;
  readonly intraOpThreads: number;
  /** Engine instances run side by side (TorchScript files on the libtorch engine). */
  readonly instances?: number;
  readonly results: EngineBenchResult[];
  /** The batch size with the most inferences per second. */
  readonly best: EngineBenchResult;
  /** CPU this process used over the whole bench, as % of one core (its share of the machine). */
  readonly cpuPct: number;
}

function buildFeeds(session: ort.InferenceSession, batch: number, shapes: ReadonlyMap<string, readonly number[]>, random: () => number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    if (!m.isTensor) throw new Error(`input "${m.name}" is not a tensor`);
    const info = fromOrtType(m.type);
    if (!info) throw new Error(`input "${m.name}" has type ${m.type}, which the bench cannot generate`);
    const rest = m.shape.slice(1);
    const given = shapes.get(m.name);
    if (given && given.length !== rest.length) throw new Error(`--shape ${m.name}: gives ${given.length} dims, but the input has ${rest.length} after the batch axis`);
    const dims = [batch, ...rest.map((d, i) => {
      if (typeof d === 'number' && d >= 0) return d;
      const g = given?.[i];
      if (g === undefined) throw new Error(`input "${m.name}" has a dynamic dim ${i + 1} (${String(d)}): give it with --shape ${m.name}:...`);
      return g;
    })];
    const first = m.shape[0];
    if (typeof first === 'number' && first >= 0 && first !== batch) throw new Error(`input "${m.name}" has a fixed first axis of ${first}, so batch ${batch} cannot run`);
    const count = dims.reduce((a, b) => a * b, 1);
    feeds[m.name] = new ort.Tensor(m.type as 'float32', randomTensor(info.v2, count, random) as Float32Array, dims);
  }
  return feeds;
}

export async function benchEngine(options: EngineBenchOptions): Promise<EngineBenchReport> {
  // A TorchScript file runs on ferry's libtorch engine (engine-bench-libtorch.ts).
  if (engineForFile(options.modelPath)?.backend === 'pytorch') return (await import('./engine-bench-libtorch.js')).benchLibtorch(options);
  if (options.instances !== undefined && options.instances !== 1) throw new Error('--instances is for TorchScript files (the libtorch engine)');
  const intraOpThreads = options.intraOpThreads ?? availableParallelism();
  const session = await ort.InferenceSession.create(options.modelPath, {
    executionProviders: [...(options.executionProviders ?? ['cpu'])],
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const random = seededRandom(options.seed ?? 1);
  const results: EngineBenchResult[] = [];
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  try {
    for (const batch of options.batchSizes) {
      const feeds = buildFeeds(session, batch, options.shapes ?? new Map(), random);
      const warmEnd = performance.now() + (options.warmupS ?? 1) * 1000;
      do await session.run(feeds); while (performance.now() < warmEnd);
      const latencies = new LatencyRecorder();
      const start = performance.now();
      const end = start + options.durationS * 1000;
      let lastReport = start;
      let now = start;
      while (now < end) {
        const t0 = performance.now();
        await session.run(feeds);
        now = performance.now();
        latencies.add(now - t0);
        if (options.onProgress && now - lastReport >= 1000) {
          lastReport = now;
          options.onProgress(batch, (now - start) / 1000, latencies.count);
        }
      }
      const durationS = (now - start) / 1000;
      results.push({
        batch,
        runs: latencies.count,
        durationS,
        runsPerS: latencies.count / durationS,
        inferencesPerS: (latencies.count * batch) / durationS,
        latency: latencies.summary(),
      });
    }
  } finally {
    await session.release();
  }
  const cpu = process.cpuUsage(cpuStart);
  const cpuPct = ((cpu.user + cpu.system) / 1000 / (performance.now() - wallStart)) * 100;
  const best = results.reduce((a, b) => (b.inferencesPerS > a.inferencesPerS ? b : a));
  return { model: options.modelPath, intraOpThreads, results, best, cpuPct };
}
