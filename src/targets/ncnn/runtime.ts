/**
 * The real ncnn runtime, through PyPI's `ncnn` bindings: a Python that can import ncnn and numpy
 * runs `python -m ferry_ncnn JOB.json` (python/ferry_ncnn), tensors crossing as .npz files.
 *
 * Search order: FERRY_NCNN_PYTHON, the project's .venv (beside the package, then in the working
 * directory), FERRY_PYTHON, python3 on PATH, /usr/bin/python3; the first that imports ncnn wins.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../errors.js';
import type { NamedTensors } from '../../tensors/inputs.js';
import { readNpz, writeNpz } from '../../tensors/npy.js';

const PYTHON_DIR = fileURLToPath(new URL('../../../python', import.meta.url));
const PACKAGE_ROOT = resolve(PYTHON_DIR, '..');

export interface NcnnPython {
  readonly command: string;
  /** ncnn's version as the package reports it. */
  readonly version: string;
}

let found: NcnnPython | undefined;

/** The first Python that imports ncnn; NCNN_UNAVAILABLE naming those tried otherwise. Memoized. */
export function findNcnnPython(env: NodeJS.ProcessEnv = process.env): NcnnPython {
  if (found) return found;
  const candidates = [
    env.FERRY_NCNN_PYTHON,
    join(PACKAGE_ROOT, '.venv/bin/python'),
    join(process.cwd(), '.venv/bin/python'),
    env.FERRY_PYTHON,
    'python3',
    '/usr/bin/python3',
  ].filter((c): c is string => !!c && (!c.includes('/') || existsSync(c)));
  const tried: string[] = [];
  for (const c of [...new Set(candidates)]) {
    const r = spawnSync(c, ['-c', 'import ncnn, numpy; print(getattr(ncnn, "__version__", "?"))'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return (found = { command: c, version: r.stdout.trim() });
    tried.push(c);
    if (env.FERRY_NCNN_PYTHON && c === env.FERRY_NCNN_PYTHON) break;
  }
  throw new FerryError('NCNN_UNAVAILABLE', `no Python with the ncnn package: tried ${tried.join(', ')}; install it (\`pip install ncnn\`, e.g. into .venv) or name the interpreter with FERRY_NCNN_PYTHON`);
}

export interface NcnnBinding {
  readonly name: string;
  readonly blob: string;
}

export interface NcnnRunOptions {
  readonly param: string;
  readonly bin: string;
  readonly inputs: readonly (NcnnBinding & { readonly ncnnShape: readonly number[] })[];
  readonly outputs: readonly (NcnnBinding & { readonly shape: readonly number[] })[];
  /** @defaultValue 1 */
  readonly threads?: number;
  /** Let ncnn store and compute in fp16 where it can (its default on ARM). @defaultValue false */
  readonly fp16?: boolean;
  /** After the trials, time this many runs of the first trial's inputs. @defaultValue 0 */
  readonly benchRuns?: number;
  /** Each trial holds many samples along the first axis (batch 1 each in ncnn; outputs stacked). @defaultValue false */
  readonly stacked?: boolean;
}

export interface NcnnRunResult {
  readonly outputs: NamedTensors[];
  /** Milliseconds per trial (after one warm-up run). */
  readonly ms: readonly number[];
  /** Mean ms per run of the benchmark runs, when asked. */
  readonly benchMs?: number;
  readonly version: string;
}

/** Runs the model on each set of inputs in the real ncnn runtime. */
export async function runNcnn(trials: readonly NamedTensors[], options: NcnnRunOptions): Promise<NcnnRunResult> {
  const python = findNcnnPython();
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ncnn-'));
  try {
    const files = trials.map((_, i) => ({ in: join(dir, `in_${i}.npz`), out: join(dir, `out_${i}.npz`), stacked: options.stacked ?? false }));
    await Promise.all(trials.map((t, i) => writeNpz(files[i]!.in, t)));
    const job = {
      param: options.param, bin: options.bin, threads: options.threads ?? 1, fp16: options.fp16 ?? false,
      inputs: options.inputs.map((i) => ({ name: i.name, blob: i.blob, ncnn_shape: i.ncnnShape })),
      outputs: options.outputs.map((o) => ({ name: o.name, blob: o.blob, shape: o.shape })),
      trials: files, bench_runs: options.benchRuns ?? 0,
    };
    const jobPath = join(dir, 'job.json');
    await writeFile(jobPath, JSON.stringify(job));
    const reply = await runPython(python.command, jobPath);
    const outputs: NamedTensors[] = [];
    for (const f of files) outputs.push(await readNpz(f.out));
    return { outputs, ms: reply.runs.map((r) => r.ms), ...(reply.bench_ms != null && { benchMs: reply.bench_ms }), version: reply.ncnn_version };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Reply {
  ncnn_version: string;
  runs: { ms: number }[];
  bench_ms: number | null;
}

function runPython(command: string, jobPath: string): Promise<Reply> {
  const env = { ...process.env, PYTHONPATH: [PYTHON_DIR, process.env.PYTHONPATH].filter(Boolean).join(delimiter), PYTHONDONTWRITEBYTECODE: '1' };
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, ['-m', 'ferry_ncnn', jobPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', (err) => reject(new FerryError('NCNN_UNAVAILABLE', `cannot start ${command}: ${err.message}`, { cause: err })));
    child.on('close', (code, signal) => {
      let reply: { ok: boolean; result?: Reply; error?: { kind: string; message: string } } | undefined;
      try {
        reply = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        reply = undefined;
      }
      if (reply?.ok && reply.result) return resolvePromise(reply.result);
      const why = reply?.error?.message ?? `${signal ? `killed by ${signal}` : `exited ${code}`}: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`;
      reject(new FerryError(reply?.error?.kind === 'ncnn_missing' ? 'NCNN_UNAVAILABLE' : 'CONVERT_FAILED', `ncnn (${command}): ${why}`));
    });
  });
}
