/**
 * The HTTP app: KServe v2 / Open Inference Protocol, Triton's config, statistics and repository
 * extensions, the seed's image routes, and Prometheus metrics — on fastify.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController } from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ModelRepository } from '../repository/repository.js';
import type { CancelSignal } from '../repository/model-version.js';
import type { Metrics } from './metrics.js';
import { FerryError, isFerryError } from '../errors.js';
import { healthRoutes } from './routes/health.js';
import { modelRoutes } from './routes/models.js';
import { inferRoutes } from './routes/infer.js';
import { repositoryRoutes } from './routes/repository.js';
import type { ModelControl } from './routes/repository.js';
import { imageRoutes } from './routes/image.js';
import { admissionGate } from './admission.js';
import { RefusalPacer } from './refusal-pacer.js';
import { RefusalBudget } from './refusal-budget.js';
import { installBodyParser } from './body.js';


export interface ServerOptions {
  repository: ModelRepository;
  metrics: Metrics;
  /** Largest request body, in bytes; larger ones get 413 before they are read. @defaultValue 64 MiB */
  maxBodyBytes?: number;
  /** Largest image (width * height) the image routes decode. @defaultValue 40_000_000 */
  maxImagePixels?: number;
  /** Model the bare /image and /predict routes use; default the only model served. */
  defaultModel?: string;
  /**
   * Refusals (503 QUEUE_FULL) a second answered at once; past it they wait their turn, which slows
   * clients that retry without backing off (see refusal-pacer.ts). The budget adapts to what the
   * server completes and what a refusal costs (refusal-budget.ts); this caps it. 0 = never pace.
   * @defaultValue Infinity (the adaptive budget alone)
   */
  maxRefusalRate?: number;
  /** Repository load/unload: 'none' refuses them (MODEL_CONTROL_DISABLED), 'explicit' allows them. @defaultValue 'none' */
  modelControl?: ModelControl;
  /** Bearer token repository load/unload requests must carry (explicit model control). @defaultValue none */
  adminToken?: string;
  /** pino options or false. @defaultValue false */
  logger?: boolean | Record<string, unknown>;
}

export interface ServerContext {
  readonly repository: ModelRepository;
  readonly metrics: Metrics;
  readonly maxImagePixels: number;
  readonly defaultModel: string | undefined;
  closing: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    ferry: ServerContext;
  }
}

export const SERVER_NAME = 'ferry';
export const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'schedule_policy', 'statistics', 'model_configuration', 'ferry_image'];

/** Turns anything thrown into the `{ error, code }` answer. */
export function toFerryError(err: unknown): FerryError {
  if (isFerryError(err)) return err;
  const fe = err as FastifyError;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new FerryError('BODY_TOO_LARGE', `the request body is larger than this server accepts (${fe.message})`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new FerryError('UNSUPPORTED_MEDIA_TYPE', fe.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': return new FerryError('BAD_REQUEST', fe.message);
    default: break;
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return new FerryError('BAD_REQUEST', fe.message);
  return new FerryError('INTERNAL', `internal error: ${fe.message ?? String(err)}`, { cause: err });
}

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const fe = toFerryError(err);
  reply.server.ferry?.metrics.errors.inc({ code: fe.code });
  if (fe.status >= 500 && fe.code === 'INTERNAL') reply.log.error({ err }, fe.message);
  return reply.code(fe.status).headers(fe.headers).type('application/json').send(JSON.stringify(fe.toJSON()));
}

/** Fires once if the client goes away before its answer is sent (a CancelSignal, lighter than an AbortController). */
class ClientGone implements CancelSignal {
  aborted = false;
  #listener: (() => void) | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) listener();
    else this.#listener = listener;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}

/** A signal that fires if the client goes away before the answer is sent. */
export function clientGone(request: FastifyRequest, reply: FastifyReply): CancelSignal {
  const gone = new ClientGone();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  if (request.raw.socket?.destroyed) gone.abort();
  return gone;
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  // Requests to a full queue are refused before fastify sees them (./admission.ts).
  let gate: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  const app = Fastify({
    serverFactory: (handler, opts) => {
      const server = createServer((req, res) => {
        if (gate?.(req, res)) return;
        handler(req, res);
      });
      // What fastify does to the node:http server it makes itself.
      const o = opts as { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number; maxRequestsPerSocket?: number };
      if (typeof o.keepAliveTimeout === 'number') server.keepAliveTimeout = o.keepAliveTimeout;
      if (typeof o.requestTimeout === 'number') server.requestTimeout = o.requestTimeout;
      server.setTimeout(typeof o.connectionTimeout === 'number' ? o.connectionTimeout : 0);
      if (typeof o.maxRequestsPerSocket === 'number' && o.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = o.maxRequestsPerSocket;
      return server;
    },
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: maxBodyBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    keepAliveTimeout: 65_000,
  });
  app.decorate('ferry', {
    repository: options.repository,
    metrics: options.metrics,
    maxImagePixels: options.maxImagePixels ?? 40_000_000,
    defaultModel: options.defaultModel,
    closing: false,
  } satisfies ServerContext);
  app.addHook('onClose', async () => {
    app.ferry.closing = true;
  });
  const budget = new RefusalBudget({ served: () => options.metrics.completed, maxRatePerS: options.maxRefusalRate ?? Infinity });
  const pacer = new RefusalPacer(options.maxRefusalRate === 0 ? 0 : () => budget.ratePerS());
  app.addHook('preClose', async () => pacer.flush());
  options.metrics.pacedRefusals(() => pacer.paced);
  gate = admissionGate({
    repository: options.repository,
    defaultModel: options.defaultModel,
    countError: (code) => options.metrics.errors.inc({ code }),
    pacer,
    budget,
  });

  installBodyParser(app, maxBodyBytes);

  app.setErrorHandler((err, _request, reply) => sendError(reply, err));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new FerryError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)));

  await app.register(healthRoutes);
  await app.register(modelRoutes);
  await app.register(inferRoutes);
  await app.register(repositoryRoutes, {
    modelControl: options.modelControl ?? 'none',
    ...(options.adminToken !== undefined && { adminToken: options.adminToken }),
  });
  await app.register(imageRoutes);
  app.get('/metrics', async (_req, reply) => {
    reply.type(options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
  return app;
}
