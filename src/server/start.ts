/** Opens a repository, loads its models and listens: what `ferry serve` runs, usable from code too. */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { ConfigOverrides } from '../repository/config.js';
import { ModelRepository } from '../repository/repository.js';
import { Metrics } from './metrics.js';
import { buildServer } from './app.js';
import { FerryError } from '../errors.js';

export interface StartOptions {
  /** Model repository folder, model folder or .onnx file. */
  modelPath: string;
  /** @defaultValue 8000 (0 = any free port) */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  overrides?: ConfigOverrides;
  maxBodyBytes?: number;
  maxImagePixels?: number;
  /** Refusals a second answered at once before they are paced (0 = never). @defaultValue 5000 */
  maxRefusalRate?: number;
  defaultModel?: string;
  /**
   * Fail start-up when any model fails to load (for CI). Otherwise a model that fails is
   * UNAVAILABLE with its reason (repository index, log) and the others serve; start-up fails only
   * when no model loads. @defaultValue false
   */
  strict?: boolean;
  /** pino level, or 'silent'. @defaultValue 'info' */
  logLevel?: string;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly repository: ModelRepository;
  /** e.g. http://127.0.0.1:8000 */
  readonly url: string;
  /** Stops accepting, answers what is queued and running, frees the models. */
  close(): Promise<void>;
}

/** One line for what the operating system said when ferry could not listen. */
function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'EADDRINUSE': return new FerryError('ADDRESS_IN_USE', `port ${port} on ${host} is in use: stop the other server or pass --port`, { cause: err });
    case 'EACCES': return new FerryError('BAD_ADDRESS', `port ${port} on ${host} needs privileges: use a port above 1023 (or give node CAP_NET_BIND_SERVICE)`, { cause: err });
    case 'EADDRNOTAVAIL': return new FerryError('BAD_ADDRESS', `--host ${host} is not an address of this machine: use 127.0.0.1, 0.0.0.0 (all interfaces) or one of its addresses`, { cause: err });
    case 'ENOTFOUND': case 'EAI_AGAIN': return new FerryError('BAD_ADDRESS', `--host ${host} does not resolve to an address: use 127.0.0.1, 0.0.0.0 or an address of this machine`, { cause: err });
    case 'ERR_SOCKET_BAD_PORT': return new FerryError('BAD_FLAG', `port ${port} is not a port: give --port from 0 to 65535`, { cause: err });
    default: return err;
  }
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const logger = pino({ level: options.logLevel ?? 'info' });
  let repository: ModelRepository | undefined;
  const metrics = new Metrics(() => (repository
    ? repository.ready().flatMap((model) => repository!.versions(model).map((v) => ({ model, queued: v.queueDepth, inFlight: v.inFlight })))
    : []));
  repository = await ModelRepository.open({
    path: options.modelPath,
    ...(options.overrides && { overrides: options.overrides }),
    observer: metrics.observer(),
    log: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
  });
  const app = await buildServer({
    repository,
    metrics,
    ...(options.maxBodyBytes !== undefined && { maxBodyBytes: options.maxBodyBytes }),
    ...(options.maxImagePixels !== undefined && { maxImagePixels: options.maxImagePixels }),
    ...(options.maxRefusalRate !== undefined && { maxRefusalRate: options.maxRefusalRate }),
    ...(options.defaultModel !== undefined && { defaultModel: options.defaultModel }),
    logger: { level: options.logLevel ?? 'info' },
  });
  // Listen first: a taken port fails at once, not after the models load, and /v2/health/live
  // answers while they do (/v2/health/ready says 503 until one is ready).
  let address: string;
  const port = options.port ?? 8000;
  const host = options.host ?? '127.0.0.1';
  try {
    address = await app.listen({ port, host });
  } catch (err) {
    await app.close();
    throw listenError(err, host, port);
  }
  try {
    await repository.loadAll({ strict: options.strict ?? false });
  } catch (err) {
    await app.close();
    await repository.close();
    throw err;
  }
  const repo = repository;
  let closing: Promise<void> | undefined;
  return {
    app,
    repository: repo,
    url: address,
    close() {
      closing ??= (async () => {
        app.ferry.closing = true;
        await app.close();
        await repo.close();
      })();
      return closing;
    },
  };
}
