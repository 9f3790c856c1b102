/**
 * `ferry bench`: load-test a server (closed loop at given concurrencies, or open loop at given
 * rates), or measure a model in process at given batch sizes — the ceiling the server approaches.
 */
import { parseArgs } from 'node:util';
import { UsageError, intFlag, listFlag, numFlag } from './args.js';
import type { Protocol } from '../bench/payload.js';
import { PROTOCOLS, parseShapes } from '../bench/payload.js';
import type { LoadResult, LoadStep } from '../bench/load.js';
import { runLoadStep } from '../bench/load.js';
import { TargetError, buildRequests, probe } from '../bench/target.js';
import { benchEngine } from '../measure/engine-bench.js';
import { engineReportJson, engineTable, loadProgressText, loadResultJson, loadTable, stepLabel } from '../bench/report.js';
import { Progress } from '../report/progress.js';

export const benchHelp = `Usage: ferry bench URL --model NAME [options]     load-test a server
       ferry bench --engine MODEL [options]         measure a model in process

Load test (like Triton's perf_analyzer). One step per --concurrency or --rate value; each prints
requests completed, throughput (requests/s and inferences/s), p50/p90/p99/max latency (ms), 503s
and other errors by HTTP status, and the load generator's own CPU use.
  --model NAME             model to load (not needed for --protocol predict)
  --protocol P             json, binary (v2 binary tensors), image (POST an encoded image to
                           /v2/models/NAME/image) or predict (the seed's multipart /predict);
                           default binary
  --concurrency LIST       closed loop: clients each with one request in flight, e.g. 1,4,16
                           (default 1 when no --rate is given)
  --rate LIST              open loop: requests started per second, e.g. 200,500
  --arrivals KIND          open loop arrivals: poisson or constant (default poisson)
  --max-inflight N         open loop: requests in flight at most; later arrivals are dropped
                           and counted (default 1024)
  --backoff-ms N           closed loop: after a 503 a client waits N ms before its next request
                           (default 0: retry at once, the worst case for the server)
  --duration-s F           measured seconds per step (default 10)
  --warmup-s F             unmeasured seconds of load before each step (default 2)
  --batch N                rows per request for json/binary (default 1)
  --shape NAME:D1,D2       dims of an input after the batch axis, for dynamic ones (repeatable)
  --input FILE             image for image/predict (predict sends it as raw BGR pixels)
  --timeout-ms N           a request slower than this counts as an error (default 30000)
  --seed N                 seed of the random tensors and Poisson arrivals (default 1)

In process (an .onnx on an onnxruntime-node InferenceSession with the server's default session
settings; a TorchScript .pt on ferry's libtorch engine, one loop per instance):
  --engine MODEL           the model file (.onnx, or .pt with a recorded or no dynamic signature)
  --batch-sizes LIST       batch sizes to run (default 1,8,32)
  --threads N              intra-op threads (default: the machine's cores, as the server; for
                           .pt: cores / instances, also as the server)
  --instances N            .pt: engine instances run side by side (default 1)
  --duration-s, --warmup-s, --shape, --seed as above (default duration 5 s, warm-up 1 s)

  --json                   print the results as JSON on stdout (progress stays on stderr)

Examples:
  ferry bench http://127.0.0.1:8000 --model resnet18 --concurrency 1,16 --batch 1
  ferry bench http://127.0.0.1:8000 --protocol predict --input shoe.png --rate 200,400
  ferry bench --engine model.onnx --batch-sizes 1,8,16,32
  ferry bench --engine resnet18.pt --instances 2 --threads 1 --batch-sizes 1,4,8
`;

const DEFAULTS = { durationS: 10, warmupS: 2, engineDurationS: 5, engineWarmupS: 1, timeoutMs: 30_000, maxInflight: 1024 };

export async function bench(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' }, protocol: { type: 'string' }, concurrency: { type: 'string' }, rate: { type: 'string' },
      arrivals: { type: 'string' }, 'max-inflight': { type: 'string' }, 'backoff-ms': { type: 'string' }, 'duration-s': { type: 'string' }, 'warmup-s': { type: 'string' },
      batch: { type: 'string' }, shape: { type: 'string', multiple: true }, input: { type: 'string' }, 'timeout-ms': { type: 'string' },
      seed: { type: 'string' }, engine: { type: 'string' }, 'batch-sizes': { type: 'string' }, threads: { type: 'string' }, instances: { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(benchHelp);
    return 0;
  }
  let shapes: Map<string, number[]>;
  try {
    shapes = parseShapes(values.shape ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const seed = intFlag(values.seed, 'seed') ?? 1;
  const progress = new Progress();

  if (values.engine !== undefined) {
    if (positionals.length) throw new UsageError('--engine measures a model file in process: give no URL');
    for (const f of ['model', 'protocol', 'concurrency', 'rate', 'batch', 'input', 'backoff-ms'] as const) {
      if (values[f] !== undefined) throw new UsageError(`--${f} is for load tests; with --engine use --batch-sizes`);
    }
    const batchSizes = ints(values['batch-sizes'], 'batch-sizes', 1) ?? [1, 8, 32];
    const threads = intFlag(values.threads, 'threads', 1);
    const instances = intFlag(values.instances, 'instances', 1);
    if (instances !== undefined && !/\.(pt|pth|torchscript)$/i.test(values.engine)) throw new UsageError('--instances is for TorchScript files (the libtorch engine runs several side by side)');
    const report = await benchEngine({
      modelPath: values.engine,
      batchSizes,
      durationS: numFlag(values['duration-s'], 'duration-s', 0.1) ?? DEFAULTS.engineDurationS,
      warmupS: numFlag(values['warmup-s'], 'warmup-s') ?? DEFAULTS.engineWarmupS,
      shapes,
      seed,
      ...(threads !== undefined && { intraOpThreads: threads }),
      ...(instances !== undefined && { instances }),
      onProgress: (batch, s, runs) => progress.update(`batch ${batch}  ${s.toFixed(0)} s  ${runs} runs`),
    });
    progress.done();
    process.stdout.write(values.json ? `${JSON.stringify(engineReportJson(report), null, 2)}\n` : engineTable(report));
    return 0;
  }

  if (values['batch-sizes'] !== undefined || values.threads !== undefined || values.instances !== undefined) throw new UsageError('--batch-sizes, --threads and --instances go with --engine MODEL');
  const url = positionals[0];
  if (!url || positionals.length > 1) throw new UsageError('give one server URL, e.g. http://127.0.0.1:8000 (or --engine MODEL.onnx)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`"${url}" is not a URL; give e.g. http://127.0.0.1:8000`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`"${url}" is not an http(s) URL`);
  const protocol = (values.protocol ?? 'binary') as Protocol;
  if (!PROTOCOLS.includes(protocol)) throw new UsageError(`--protocol must be one of ${PROTOCOLS.join(', ')} (got "${values.protocol}")`);
  const arrivals = values.arrivals ?? 'poisson';
  if (arrivals !== 'poisson' && arrivals !== 'constant') throw new UsageError(`--arrivals must be poisson or constant (got "${arrivals}")`);
  if (values.rate !== undefined && values.concurrency !== undefined) throw new UsageError('give --concurrency (closed loop) or --rate (open loop), not both');
  const rates = nums(values.rate, 'rate');
  const steps: LoadStep[] = rates
    ? rates.map((rate) => ({ kind: 'rate', rate, arrivals }))
    : (ints(values.concurrency, 'concurrency', 1) ?? [1]).map((concurrency) => ({ kind: 'concurrency', concurrency }));
  const batch = intFlag(values.batch, 'batch', 1) ?? 1;
  if (batch !== 1 && (protocol === 'image' || protocol === 'predict')) throw new UsageError(`--batch is for the json and binary protocols; ${protocol} sends one image per request`);
  const durationS = numFlag(values['duration-s'], 'duration-s', 0.1) ?? DEFAULTS.durationS;
  const warmupS = numFlag(values['warmup-s'], 'warmup-s') ?? DEFAULTS.warmupS;
  const timeoutMs = intFlag(values['timeout-ms'], 'timeout-ms', 1) ?? DEFAULTS.timeoutMs;
  const maxInflight = intFlag(values['max-inflight'], 'max-inflight', 1) ?? DEFAULTS.maxInflight;
  const backoffMs = intFlag(values['backoff-ms'], 'backoff-ms') ?? 0;
  if (values['backoff-ms'] !== undefined && rates) throw new UsageError('--backoff-ms is for the closed loop (--concurrency); an open loop sends at its rate whatever the answers');

  let requests;
  try {
    requests = await buildRequests({
      url, protocol, batch, shapes, seed,
      ...(values.model !== undefined && { model: values.model }),
      ...(values.input !== undefined && { input: values.input }),
    });
    await probe(url, requests[0]!, timeoutMs);
  } catch (err) {
    if (err instanceof TargetError) {
      process.stderr.write(`ferry bench: ${err.message}\n`);
      return 1;
    }
    throw err;
  }

  const results: LoadResult[] = [];
  for (const step of steps) {
    const r = await runLoadStep(step, {
      url, requests, durationS, warmupS, timeoutMs, maxInflight, seed, backoffMs,
      onProgress: (p) => progress.update(loadProgressText(p)),
    });
    progress.done();
    if (!values.json) process.stderr.write(`${stepLabel(step)}: ${r.ok} ok, ${r.requestsPerS.toFixed(1)} req/s, p99 ${r.latency.p99.toFixed(2)} ms\n`);
    results.push(r);
  }
  if (values.json) {
    const out = {
      url, model: values.model ?? null, protocol, batch: protocol === 'json' || protocol === 'binary' ? batch : 1,
      durationS, warmupS, ...(backoffMs > 0 && { backoffMs }), steps: results.map(loadResultJson),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(`\n${values.model ?? 'default model'} over ${protocol}${batch > 1 ? `, batch ${batch}` : ''}: ${durationS} s per step after ${warmupS} s warm-up\n\n${loadTable(results)}`);
  }
  return results.some((r) => r.ok === 0) ? 1 : 0;
}

function ints(value: string | undefined, flag: string, min: number): number[] | undefined {
  const list = listFlag(value);
  if (list && list.length === 0) throw new UsageError(`--${flag} needs at least one value`);
  return list?.map((v) => intFlag(v, flag, min)!);
}

function nums(value: string | undefined, flag: string): number[] | undefined {
  const list = listFlag(value);
  if (list && list.length === 0) throw new UsageError(`--${flag} needs at least one value`);
  return list?.map((v) => {
    const n = numFlag(v, flag)!;
    if (n <= 0) throw new UsageError(`--${flag} values must be > 0 (got "${v}")`);
    return n;
  });
}
