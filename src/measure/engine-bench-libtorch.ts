/**
 * The in-process ceiling for a TorchScript file: ferry's libtorch engine with `instances` modules,
 * each fed back to back by its own loop at each batch size (no HTTP, no queue). With the server's
 * instances and threads, this is what `ferry serve` of the same file should approach. Each loop
 * reuses the input buffers the engine hands back, as the server's buffer pool does.
 */
import { availableParallelism } from 'node:os';
import type { Engine } from '../engines/engine.js';
import { createEngine } from '../engines/registry.js';
import { DATATYPES } from '../tensors/dtype.js';
import type { Tensor } from '../tensors/tensor.js';
import { randomTensor, seededRandom } from '../tensors/random.js';
import { LatencyRecorder } from './latency.js';
import type { EngineBenchOptions, EngineBenchReport, EngineBenchResult } from './engine-bench.js';

function feedsFor(engine: Engine, batch: number, shapes: ReadonlyMap<string, readonly number[]>, random: () => number): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const spec of engine.metadata.inputs) {
    if (spec.dims[0] !== -1 && spec.dims[0] !== batch) throw new Error(`input "${spec.name}" has a fixed first axis of ${spec.dims[0]}, so batch ${batch} cannot run`);
    const given = shapes.get(spec.name);
    const dims = [batch, ...spec.dims.slice(1).map((d, i) => {
      if (d >= 0) return d;
      const g = given?.[i];
      if (g === undefined) throw new Error(`input "${spec.name}" has a dynamic dim ${i + 1}: give it with --shape ${spec.name}:...`);
      return g;
    })];
    const count = dims.reduce((a, b) => a * b, 1);
    feeds[spec.name] = { datatype: spec.datatype, shape: dims, data: randomTensor(spec.datatype, count, random) };
  }
  return feeds;
}

/** The same tensors over the buffers a run handed back (the engine moved the originals). */
function refeed(feeds: Record<string, Tensor>, released: readonly ArrayBuffer[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  let i = 0;
  for (const [name, t] of Object.entries(feeds)) {
    const info = DATATYPES[t.datatype];
    out[name] = { ...t, data: new info.array(released[i++]!, 0, t.shape.reduce((a, b) => a * b, 1)) }; // t.data is detached now
  }
  return out;
}

export async function benchLibtorch(options: EngineBenchOptions & { readonly instances?: number }): Promise<EngineBenchReport> {
  const instances = options.instances ?? 1;
  const intraOpThreads = options.intraOpThreads ?? Math.max(1, Math.floor(availableParallelism() / instances));
  const engine = await createEngine('pytorch', { modelPath: options.modelPath, instances, parameters: { intra_op_threads: intraOpThreads } });
  const random = seededRandom(options.seed ?? 1);
  const results: EngineBenchResult[] = [];
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  try {
    for (const batch of options.batchSizes) {
      const loopFeeds = Array.from({ length: instances }, () => feedsFor(engine, batch, options.shapes ?? new Map(), random));
      const latencies = new LatencyRecorder();
      const loop = async (k: number, until: number, record: boolean): Promise<void> => {
        do {
          const t0 = performance.now();
          const r = await engine.run(loopFeeds[k]!);
          if (record) latencies.add(performance.now() - t0);
          loopFeeds[k] = refeed(loopFeeds[k]!, r.released);
        } while (performance.now() < until);
      };
      const warmEnd = performance.now() + (options.warmupS ?? 1) * 1000;
      await Promise.all(loopFeeds.map((_, k) => loop(k, warmEnd, false)));
      const start = performance.now();
      const timer = options.onProgress && setInterval(() => options.onProgress!(batch, (performance.now() - start) / 1000, latencies.count), 1000);
      await Promise.all(loopFeeds.map((_, k) => loop(k, start + options.durationS * 1000, true)));
      if (timer) clearInterval(timer);
      const durationS = (performance.now() - start) / 1000;
      results.push({
        batch, runs: latencies.count, durationS, runsPerS: latencies.count / durationS,
        inferencesPerS: (latencies.count * batch) / durationS, latency: latencies.summary(),
      });
    }
  } finally {
    await engine.dispose();
  }
  const cpu = process.cpuUsage(cpuStart);
  const cpuPct = ((cpu.user + cpu.system) / 1000 / (performance.now() - wallStart)) * 100;
  const best = results.reduce((a, b) => (b.inferencesPerS > a.inferencesPerS ? b : a));
  return { model: options.modelPath, intraOpThreads, instances, results, best, cpuPct };
}
