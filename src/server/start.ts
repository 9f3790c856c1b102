/** Opens a repository, loads its models and listens: what `ferry serve` runs, usable from code too. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { ConfigOverrides } from '../repository/config.js';
import { ModelRepository } from '../repository/repository.js';
import { Metrics } from './metrics.js';
import { buildServer } from './app.js';
import { FerryError } from '../errors.js';
import type { ModelControl } from './routes/repository.js';

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
  /** Repository load/unload requests: 'none' refuses them, 'explicit' (Triton's name) allows them. @defaultValue 'none' */
  modelControl?: ModelControl;
  /** Bearer token repository load/unload requests must carry. @defaultValue none */
  adminToken?: string;
  /**
   * After close() begins, how long to keep listening and serving as before while
   * /v2/health/ready answers 503, so load balancers take this replica out before it stops
   * accepting connections (kube-apiserver's --shutdown-delay-duration). @defaultValue 0
   */
  drainDelayMs?: number;
  /**
   * Once it stops listening, how long close() waits for queued and running requests; past it,
   * close() rejects with DRAIN_TIMEOUT and closes the connections still open. @defaultValue no limit
   */
  drainTimeoutMs?: number;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly repository: ModelRepository;
  /** e.g. http://127.0.0.1:8000 */
  readonly url: string;
  /**
   * Flips /v2/health/ready to 503 at once, serves on for `drainDelayMs`, then stops accepting,
   * answers what is queued and running (DRAIN_TIMEOUT past `drainTimeoutMs`), frees the models.
   */
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
    ...(options.modelControl !== undefined && { modelControl: options.modelControl }),
    ...(options.adminToken !== undefined && { adminToken: options.adminToken }),
    logger: { level: options.logLevel ?? 'info' },
  });
  // Listen first: a taken port fails at once, not after the models load, and /v2/health/live
  // answers while they do (/v2/health/ready says 503 until all have been tried and one is ready).
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
        const live = repo.ready().flatMap((name) => repo.versions(name));
        if (options.drainDelayMs) await sleep(options.drainDelayMs);
        // node:http closes the connections idle when close() begins, but not those that go idle
        // after answering a request in flight: they would hold the drain for keepAliveTimeout.
        const idle = setInterval(() => app.server.closeIdleConnections(), 50);
        const drained = (async () => {
          await app.close();
          await repo.close();
        })().finally(() => clearInterval(idle));
        if (options.drainTimeoutMs === undefined) return drained;
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), options.drainTimeoutMs); });
        const outcome = await Promise.race([drained.then(() => 'drained' as const), deadline]);
        clearTimeout(timer);
        if (outcome === 'drained') return undefined;
        const queued = live.reduce((n, v) => n + v.queueDepth, 0);
        const running = live.reduce((n, v) => n + v.inFlight, 0);
        // Their clients are gone once the connections close, so the queued requests are dropped
        // unrun; what still runs is one batch per instance (an engine run cannot be interrupted).
        app.server.closeAllConnections();
        await drained.catch(() => undefined);
        throw new FerryError('DRAIN_TIMEOUT', `${queued} request${queued === 1 ? ' was' : 's were'} still queued and ${running} batch${running === 1 ? '' : 'es'} running ${options.drainTimeoutMs} ms after the server stopped accepting (--drain-timeout-ms): their connections were closed unanswered`);
      })();
      return closing;
    },
  };
}
