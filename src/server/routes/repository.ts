/** Triton's model repository extension: index, load (with an optional config override), unload. */
import type { FastifyInstance } from 'fastify';
import { parseModelConfig } from '../../repository/config.js';
import type { ModelConfig } from '../../repository/config.js';
import { FerryError } from '../../errors.js';

/** The optional JSON body of a repository request, `{}` when empty. */
function body(raw: unknown): Record<string, unknown> {
  if (!Buffer.isBuffer(raw) || raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new FerryError('BAD_JSON', `the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new FerryError('BAD_REQUEST', 'the request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** `{"parameters": {"config": "<model config JSON>"}}` → the config to load with, if given. */
function configOverride(model: string, raw: unknown): ModelConfig | undefined {
  const params = body(raw).parameters;
  if (params === undefined) return undefined;
  if (typeof params !== 'object' || params === null) throw new FerryError('BAD_REQUEST', '"parameters" must be an object');
  const { config, ...rest } = params as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new FerryError('BAD_PARAMETER', `load parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} not supported (ferry takes "config"; model files come from the repository)`);
  if (config === undefined) return undefined;
  if (typeof config !== 'string') throw new FerryError('BAD_PARAMETER', 'parameters.config must be a string of model config JSON');
  let parsed: unknown;
  try {
    parsed = JSON.parse(config);
  } catch (err) {
    throw new FerryError('CONFIG_INVALID', `parameters.config of the load request is not valid JSON: ${(err as Error).message}`);
  }
  return parseModelConfig(parsed, `parameters.config of the load request for "${model}"`, model);
}

export async function repositoryRoutes(app: FastifyInstance): Promise<void> {
  const repo = () => app.ferry.repository;
  app.post('/v2/repository/index', async (req) => {
    const ready = body(req.body).ready === true;
    const index = await repo().index();
    return ready ? index.filter((m) => m.state === 'READY') : index;
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/load', async (req, reply) => {
    await repo().load(req.params.model, configOverride(req.params.model, req.body));
    return reply.code(200).send();
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', async (req, reply) => {
    body(req.body);
    await repo().unload(req.params.model);
    return reply.code(200).send();
  });
}
