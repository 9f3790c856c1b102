/** `ferry tune MODEL`: sweep the serving settings of a model under load and write the best config. */
import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, intFlag, listFlag, numFlag } from './args.js';
import { parseShapes } from '../bench/payload.js';
import { FerryError } from '../errors.js';
import { Progress } from '../report/progress.js';
import type { Objective } from '../tune/search.js';
import { OBJECTIVES } from '../tune/search.js';
import { TUNE_DEFAULTS } from '../tune/defaults.js';
import type { TuneReport } from '../tune/tune.js';

export const tuneHelp = `Usage: ferry tune MODEL [NAME] [options]

Like Triton's Model Analyzer: measures the model as configured and the in-process ceiling (one
ONNX Runtime session at each batch size), then sweeps instances x intra-op threads x max batch size
x queue delay, each point a real server on 127.0.0.1 under a closed loop of clients (each sending
one row as v2 binary tensors), and prints the table behind the best point and the config with it.
MODEL is an .onnx file, a model folder, or a repository folder followed by the model's NAME.

  --concurrency N          clients of the closed loop (default ${TUNE_DEFAULTS.concurrency})
  --seconds S              measured seconds per point and per batch size of the ceiling (default ${TUNE_DEFAULTS.durationS})
  --warmup-s S             unmeasured load before each point (default ${TUNE_DEFAULTS.warmupS})
  --instances LIST         instance counts, e.g. 1,2 (default 1, 2, 4, ... up to the cores)
  --threads LIST           intra-op threads per instance (default 1, 2, 4, ... up to the cores);
                           only pairs with instances x threads <= cores are swept
  --max-batch-sizes LIST   max_batch_size values (default 1, 2, 4, ... up to --concurrency;
                           none for a model without a batch axis)
  --delays-ms LIST         max_queue_delay_ms values (default 0 and 1/16, 1/8, 1/4, 1/2 of one
                           in-process run at the best batch, at least 1 ms)
  --objective O            throughput (most inferences/s) or p99 (lowest p99 latency); default
                           throughput
  --max-p99-ms X           points whose p99 is above X ms are not chosen
  --exhaustive             measure every point of the grid (default: coarse to fine: each
                           placement at the largest batch, then smaller batches on the placements
                           within 10% of the best, then longer delays on the 2 best, each branch
                           stopped once it falls 10% behind)
  --shape NAME:D1,D2       dims after the batch axis of a dynamic input (repeatable)
  --noisy-retries N        measure a point again, up to N times, when other processes used more
                           than 25% of a core meanwhile, and keep its quietest figures (default 2)
  --seed N                 seed of the random request tensors (default 1)
  -o, --output FILE        write the config to FILE (default: print it)
  --write                  write it over the model folder's own config file (config.yaml made
                           when there is none)
  --json                   print the table, the best point and the config as JSON

The config is the model's own (comments, image: block, labels and all) with instance_group count,
parameters.intra_op_threads, max_batch_size and dynamic_batching.max_queue_delay_ms set to the
best point's; nothing is written unless -o or --write says where. The machine should be otherwise
idle: other work on its cores moves the figures (the table's "other cpu": what other processes
used meanwhile, in % of one core).

Examples:
  ferry tune examples/fashion --seconds 3
  ferry tune bench/models/resnet18 --instances 1,2 --threads 1,2 --max-batch-sizes 4,8,16 --write
  ferry tune models/ resnet18 --objective p99 --max-p99-ms 250 -o tuned.yaml
`;

function numbers(value: string | undefined, flag: string, min: number, integer: boolean): number[] | undefined {
  const list = listFlag(value);
  if (list === undefined) return undefined;
  if (list.length === 0) throw new UsageError(`--${flag} needs at least one value`);
  return list.map((v) => (integer ? intFlag(v, flag, min)! : numFlag(v, flag, min)!));
}

export async function tune(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      concurrency: { type: 'string' }, seconds: { type: 'string' }, 'warmup-s': { type: 'string' },
      instances: { type: 'string' }, threads: { type: 'string' }, 'max-batch-sizes': { type: 'string' }, 'delays-ms': { type: 'string' },
      objective: { type: 'string' }, 'max-p99-ms': { type: 'string' }, exhaustive: { type: 'boolean' },
      shape: { type: 'string', multiple: true }, seed: { type: 'string' }, 'noisy-retries': { type: 'string' },
      output: { type: 'string', short: 'o' }, write: { type: 'boolean' }, json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(tuneHelp);
    return 0;
  }
  const [modelPath, name, ...extra] = positionals;
  if (!modelPath) throw new UsageError('give the model: an .onnx file, a model folder, or a repository folder and a model name');
  if (extra.length) throw new UsageError(`give one model (got ${positionals.length} arguments: ${positionals.join(' ')})`);
  const objective = (values.objective ?? TUNE_DEFAULTS.objective) as Objective;
  if (!OBJECTIVES.includes(objective)) throw new UsageError(`--objective must be ${OBJECTIVES.join(' or ')} (got "${values.objective}")`);
  if (values.output !== undefined && values.write) throw new UsageError('give -o FILE or --write, not both');
  const maxP99Ms = numFlag(values['max-p99-ms'], 'max-p99-ms');
  if (maxP99Ms === 0) throw new UsageError('--max-p99-ms must be > 0');
  let shapes;
  try {
    shapes = parseShapes(values.shape ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const instances = numbers(values.instances, 'instances', 1, true);
  const threads = numbers(values.threads, 'threads', 1, true);
  const maxBatchSizes = numbers(values['max-batch-sizes'], 'max-batch-sizes', 1, true);
  const delaysMs = numbers(values['delays-ms'], 'delays-ms', 0, false);
  const concurrency = intFlag(values.concurrency, 'concurrency', 1);
  const durationS = numFlag(values.seconds, 'seconds', 0.1);
  const warmupS = numFlag(values['warmup-s'], 'warmup-s');
  const seed = intFlag(values.seed, 'seed');
  const noisyRetries = intFlag(values['noisy-retries'], 'noisy-retries');
  // Where the config goes is checked now, not after minutes of sweeping.
  if (values.write && (await stat(modelPath).then((s) => s.isFile(), () => false))) throw new UsageError(`--write writes a model folder's config; ${modelPath} is a file: give -o FILE`);
  if (values.output !== undefined && !(await stat(dirname(resolve(values.output))).then((s) => s.isDirectory(), () => false))) {
    throw new UsageError(`-o ${values.output}: the folder ${dirname(resolve(values.output))} does not exist`);
  }

  // The sweep (server, ONNX Runtime) loads only once the flags are known to be good.
  const { tuneModel } = await import('../tune/tune.js');
  const { tuneJson, tuneText } = await import('../tune/report.js');
  const progress = new Progress();
  const report = await tuneModel({
    modelPath, ...(name !== undefined && { model: name }), objective, shapes,
    ...(maxP99Ms !== undefined && { maxP99Ms }),
    ...(values.exhaustive && { exhaustive: true }),
    ...(instances && { instances }), ...(threads && { threads }), ...(maxBatchSizes && { maxBatchSizes }), ...(delaysMs && { delaysMs }),
    ...(concurrency !== undefined && { concurrency }), ...(durationS !== undefined && { durationS }), ...(warmupS !== undefined && { warmupS }),
    ...(seed !== undefined && { seed }), ...(noisyRetries !== undefined && { noisyRetries }),
    onProgress: (text) => progress.update(text),
    onPoint: (text) => {
      progress.done();
      process.stderr.write(`${text}\n`);
    },
  });
  progress.done();

  let written: string | null = null;
  if (report.config !== undefined) {
    if (values.write) {
      written = report.target.config?.file ?? `${report.target.dir ?? '.'}/config.yaml`;
    } else if (values.output !== undefined) written = values.output;
    if (written) await writeConfig(written, report.config);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(tuneJson(report, written), null, 2)}\n`);
  else process.stdout.write(`${tuneText(report)}${configText(report, written)}`);
  if (!report.best) throw noFit(report);
  return 0;
}

async function writeConfig(file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text);
  } catch (err) {
    throw new FerryError('TUNE_FAILED', `cannot write the config to ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function configText(r: TuneReport, written: string | null): string {
  if (r.config === undefined) return '';
  if (written) return `\nwrote ${written}\n`;
  const where = r.target.dir
    ? `not written: --write puts it in ${r.target.config?.file ?? `${r.target.dir}/config.yaml`}, -o FILE elsewhere`
    : `not written: -o FILE saves it; serve it as REPOSITORY/${r.target.name}/config.yaml beside REPOSITORY/${r.target.name}/1/model.onnx`;
  return `\n${where}\n\n${r.config}`;
}

/** Why no point was chosen. */
function noFit(r: TuneReport): FerryError {
  const all = [r.baseline.result, ...r.rows.flatMap((x) => (x.result ? [x.result] : []))];
  const failed = r.rows.find((x) => x.status === 'failed');
  if (!all.some((m) => m.ok > 0)) {
    return new FerryError('TUNE_FAILED', `no point of the sweep answered a request${failed ? `: ${failed.reason}` : ''}`);
  }
  const clean = all.filter((m) => m.errors === 0 && m.ok > 0);
  if (clean.length === 0) {
    const statuses = new Map<string, number>();
    for (const m of all) for (const [k, v] of Object.entries(m.errorsByStatus)) statuses.set(k, (statuses.get(k) ?? 0) + v);
    return new FerryError('TUNE_FAILED', `every point of the sweep had errors (${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')}): check the model's max_queue_size against --concurrency, or lower --concurrency`);
  }
  const fastest = Math.min(...clean.map((m) => m.p99Ms));
  return new FerryError('TUNE_FAILED', `no point of the sweep had p99 <= --max-p99-ms ${r.maxP99Ms} (the lowest was ${fastest.toFixed(1)} ms): raise it, or lower --concurrency`);
}
