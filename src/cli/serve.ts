/** `ferry serve [PATH]`: serve a model repository, a model folder or an .onnx file over HTTP. */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServer } from '../server/start.js';
import type { StartOptions } from '../server/start.js';
import { UsageError, closest, intFlag, listFlag, numFlag } from './args.js';
import { isFerryError } from '../errors.js';

export const DEFAULT_MODEL_PATH = fileURLToPath(new URL('../../examples/fashion', import.meta.url));

/** How long SIGTERM waits for queued and running requests by default (Kubernetes' grace period is 30 s). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export const serveHelp = `Usage: ferry serve [PATH] [options]

Serves PATH over HTTP (KServe v2 / Open Inference Protocol, plus /image and /predict).
PATH is a model repository (DIR/<model>/config.yaml, DIR/<model>/<version>/model.onnx), one
model folder, or an .onnx file. Default: the bundled Fashion-MNIST classifier.

Options (flags override every model's config):
  --model-repository DIR   the same as PATH (KServe's storage initializer leaves models in /mnt/models)
  --port N                 port to listen on (default 8000; 0 = any free port)
  --http-port N            the same as --port (Triton's name)
  --host ADDR              address to bind (default 127.0.0.1; 0.0.0.0 in a container)
  --max-batch-size N       largest batch per model run
  --max-queue-delay-ms F   how long a request may wait for a fuller batch (0 = none)
  --max-queue-size N       queued requests before 503 (0 = unbounded)
  --instances N            parallel sessions per model
  --threads N              intra-op threads per session (default cores / instances)
  --providers LIST         execution providers, e.g. cuda,cpu (default cpu)
  --max-body-bytes N       largest request body (default 67108864); larger gets 413
  --max-image-pixels N     largest image decoded (default 40000000)
  --max-refusal-rate N     cap on the 503s (queue full) a second answered at once; past the
                           budget each waits its turn, slowing clients that retry without
                           backing off. The budget adapts: about one refusal per request
                           completed, and at most a tenth of a core by their measured cost
                           (default: no cap; 0 = never wait)
  --default-model NAME     model behind /image and /predict when several are served
  --strict                 exit when any model fails to load (default: a model that fails is
                           UNAVAILABLE with its reason and the others serve; exit only when none loads)
  --model-control MODE     none: the models loaded at start are fixed, repository load/unload
                           requests are refused (default); explicit: they are allowed (Triton's name)
  --admin-token TOKEN      load/unload requests must carry Authorization: Bearer TOKEN (prefer the
                           FERRY_ADMIN_TOKEN variable: a flag shows in ps)
  --drain-delay-ms N       after SIGTERM, keep serving N ms with /v2/health/ready answering 503, so
                           load balancers stop sending first (default 0)
  --drain-timeout-ms N     then wait at most N ms for queued and running requests before exiting
                           with status 1 (default ${DEFAULT_DRAIN_TIMEOUT_MS}; 0 = no limit)
  --log-level LEVEL        trace, debug, info, warn, error or silent (default info)
  --verbose                with a failure, print its stack and causes (also FERRY_DEBUG=1)

Every option can also be set in the environment as FERRY_ and its name in capitals with
underscores: FERRY_MODEL_REPOSITORY=/mnt/models, FERRY_MAX_BATCH_SIZE=16, FERRY_STRICT=1.
A flag on the command line wins over its variable.
`;

/** The options parseArgs reads; `--verbose` is taken by main.ts before a command runs. */
const OPTIONS = {
  'model-repository': { type: 'string' }, port: { type: 'string' }, 'http-port': { type: 'string' }, host: { type: 'string' },
  'max-batch-size': { type: 'string' }, 'max-queue-delay-ms': { type: 'string' }, 'max-queue-size': { type: 'string' },
  instances: { type: 'string' }, threads: { type: 'string' }, providers: { type: 'string' },
  'max-body-bytes': { type: 'string' }, 'max-image-pixels': { type: 'string' }, 'max-refusal-rate': { type: 'string' },
  'default-model': { type: 'string' }, strict: { type: 'boolean' },
  'model-control': { type: 'string' }, 'admin-token': { type: 'string' },
  'drain-delay-ms': { type: 'string' }, 'drain-timeout-ms': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flag = Exclude<keyof typeof OPTIONS, 'help'>;

/** Every flag `ferry serve` takes, `--verbose` included (the ones a FERRY_ variable can set). */
export const SERVE_FLAGS: readonly string[] = [...Object.keys(OPTIONS).filter((k) => k !== 'help'), 'verbose'];

/** FERRY_MAX_BATCH_SIZE for max-batch-size. */
export function envName(flag: string): string {
  return `FERRY_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** FERRY_ variables that are not serve flags but are read elsewhere. */
const OTHER_VARIABLES = ['FERRY_DEBUG', 'FERRY_PYTHON'];

/** What the command line and the environment ask of `ferry serve`. */
export interface ServeSettings {
  readonly help: boolean;
  readonly start: StartOptions;
  /** Lines to log once the logger exists: FERRY_ variables that set nothing, risky combinations. */
  readonly warnings: readonly string[];
}

function parseBool(value: string, name: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off|)$/i.test(value)) return false;
  throw new UsageError(`${name} must be 1/true/yes or 0/false/no (got "${value}")`);
}

/**
 * Reads `ferry serve`'s flags and FERRY_ variables (a flag wins over its variable) into the
 * server's options. Throws UsageError naming the flag or the variable at fault.
 */
export function serveSettings(argv: string[], env: Readonly<Record<string, string | undefined>> = process.env): ServeSettings {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  if (values.help) return { help: true, start: { modelPath: DEFAULT_MODEL_PATH }, warnings: [] };
  const warnings: string[] = [];
  /** The string a flag has, from the command line or else its variable, with where it came from. */
  const raw = (flag: Flag): { value: string; from: string } | undefined => {
    const v = values[flag];
    if (v !== undefined) return { value: String(v), from: `--${flag}` };
    const e = env[envName(flag)];
    return e === undefined || e === '' ? undefined : { value: e, from: envName(flag) };
  };
  /** A flag's value read by `read`, whose UsageError names --flag; rewritten to name the variable it came from. */
  const get = <T>(flag: Flag, read: (value: string, flag: string) => T): T | undefined => {
    const r = raw(flag);
    if (r === undefined) return undefined;
    try {
      return read(r.value, flag);
    } catch (err) {
      if (err instanceof UsageError && r.from !== `--${flag}`) throw new UsageError(err.message.replace(`--${flag}`, r.from));
      throw err;
    }
  };
  const str = (flag: Flag): string | undefined => raw(flag)?.value;

  for (const name of Object.keys(env)) {
    if (!name.startsWith('FERRY_') || OTHER_VARIABLES.includes(name) || SERVE_FLAGS.some((f) => envName(f) === name)) continue;
    const guess = closest(name, SERVE_FLAGS.map(envName));
    warnings.push(`environment variable ${name} sets nothing${guess ? `; did you mean ${guess}?` : ''} (ferry serve --help lists the options; each is also FERRY_<NAME>)`);
  }

  // PATH, --model-repository and FERRY_MODEL_REPOSITORY are one setting; so are --port and --http-port.
  if (positionals.length > 1) throw new UsageError(`one PATH at most (got ${positionals.map((p) => `"${p}"`).join(', ')})`);
  if (positionals[0] !== undefined && values['model-repository'] !== undefined && positionals[0] !== values['model-repository']) {
    throw new UsageError(`PATH "${positionals[0]}" and --model-repository "${values['model-repository']}" disagree: give one`);
  }
  const modelPath = positionals[0] ?? str('model-repository') ?? DEFAULT_MODEL_PATH;
  const portOf = (flag: 'port' | 'http-port', value = values[flag]) => intFlag(value, flag, 0, 65535);
  let port: number | undefined;
  if (values.port !== undefined || values['http-port'] !== undefined) {
    const a = portOf('port');
    const b = portOf('http-port');
    if (a !== undefined && b !== undefined && a !== b) throw new UsageError(`--port ${a} and --http-port ${b} disagree: give one (they are the same setting)`);
    port = a ?? b;
  } else {
    const a = get('port', (v) => portOf('port', v));
    const b = get('http-port', (v) => portOf('http-port', v));
    if (a !== undefined && b !== undefined && a !== b) throw new UsageError(`FERRY_PORT ${a} and FERRY_HTTP_PORT ${b} disagree: set one (they are the same setting)`);
    port = a ?? b;
  }

  const threads = get('threads', (v, f) => intFlag(v, f));
  const providers = get('providers', (v) => listFlag(v));
  const parameters = {
    ...(threads !== undefined && { intra_op_threads: threads }),
    ...(providers !== undefined && { execution_providers: providers }),
  };
  const overrides = {
    maxBatchSize: get('max-batch-size', (v, f) => intFlag(v, f)),
    maxQueueDelayMs: get('max-queue-delay-ms', (v, f) => numFlag(v, f)),
    maxQueueSize: get('max-queue-size', (v, f) => intFlag(v, f)),
    instances: get('instances', (v, f) => intFlag(v, f, 1)),
    parameters: Object.keys(parameters).length ? parameters : undefined,
  };
  const modelControl = get('model-control', (v, f) => {
    if (v !== 'none' && v !== 'explicit') throw new UsageError(`--${f} must be none or explicit (got "${v}")`);
    return v;
  }) ?? 'none';
  const adminToken = str('admin-token');
  if (adminToken !== undefined && modelControl !== 'explicit') warnings.push('an admin token is set but --model-control is none: repository load/unload stays off (add --model-control explicit to allow it)');
  const host = str('host') ?? '127.0.0.1';
  if (modelControl === 'explicit' && adminToken === undefined && !['127.0.0.1', '::1', 'localhost'].includes(host)) {
    warnings.push(`--model-control explicit without an admin token on ${host}: anyone who reaches the port can load and unload models (set FERRY_ADMIN_TOKEN)`);
  }
  const strict = get('strict', (v, f) => parseBool(v, `--${f}`)) ?? false;
  const drainTimeoutMs = get('drain-timeout-ms', (v, f) => intFlag(v, f)) ?? DEFAULT_DRAIN_TIMEOUT_MS;
  const optional = {
    maxBodyBytes: get('max-body-bytes', (v, f) => intFlag(v, f, 1)),
    maxImagePixels: get('max-image-pixels', (v, f) => intFlag(v, f, 1)),
    maxRefusalRate: get('max-refusal-rate', (v, f) => intFlag(v, f, 0)),
    defaultModel: str('default-model'),
    adminToken,
    drainDelayMs: get('drain-delay-ms', (v, f) => intFlag(v, f)),
    drainTimeoutMs: drainTimeoutMs === 0 ? undefined : drainTimeoutMs,
  };
  return {
    help: false,
    warnings,
    start: {
      modelPath,
      port: port ?? 8000,
      host,
      overrides: Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
      ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
      logLevel: str('log-level') ?? 'info',
      strict,
      modelControl,
    },
  };
}

export async function serve(argv: string[]): Promise<number> {
  const settings = serveSettings(argv);
  if (settings.help) {
    process.stdout.write(serveHelp);
    return 0;
  }
  const server = await startServer(settings.start);
  const log = server.app.log;
  for (const w of settings.warnings) log.warn(w);
  log.info({ url: server.url, models: server.repository.ready() }, `ferry serving on ${server.url}`);
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down: not ready, finishing queued requests');
      server.close().then(() => {
        log.info('stopped');
        resolve(0);
      }, (err: unknown) => {
        if (isFerryError(err)) log.error({ code: err.code }, `${err.message} [${err.code}]`);
        else log.error({ err }, 'error while shutting down');
        resolve(1);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
