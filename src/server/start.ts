/** Opens a repository, loads its models and listens: what `ferry serve` runs, usable from code too. */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { ConfigOverrides } from '../repository/config.js';
import { ModelRepository } from '../repository/repository.js';
import { Metrics } from './metrics.js';
import { buildServer } from './app.js';

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
  });
  await repository.loadAll();
  const app = await buildServer({
    repository,
    metrics,
    ...(options.maxBodyBytes !== undefined && { maxBodyBytes: options.maxBodyBytes }),
    ...(options.maxImagePixels !== undefined && { maxImagePixels: options.maxImagePixels }),
    ...(options.maxRefusalRate !== undefined && { maxRefusalRate: options.maxRefusalRate }),
    ...(options.defaultModel !== undefined && { defaultModel: options.defaultModel }),
    logger: { level: options.logLevel ?? 'info' },
  });
  let address: string;
  try {
    address = await app.listen({ port: options.port ?? 8000, host: options.host ?? '127.0.0.1' });
  } catch (err) {
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
