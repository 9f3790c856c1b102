/**
 * Triton's model repository extension: index, load (with an optional config override), unload.
 * Load and unload are off unless the server runs with `--model-control explicit` (Triton's
 * name), and then need `Authorization: Bearer <token>` when an admin token is set; a load
 * request cannot reach files outside the repository (../../repository/confine.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseModelConfig } from '../../repository/config.js';
import type { ModelConfig } from '../../repository/config.js';
import { FerryError } from '../../errors.js';
import { checkModelName } from '../../repository/confine.js';

/** `none`: the models loaded at start-up, fixed. `explicit`: load/unload requests allowed. */
export type ModelControl = 'none' | 'explicit';

export interface RepositoryRouteOptions {
  /** @defaultValue 'none' */
  modelControl?: ModelControl;
  /** Bearer token load/unload requests must carry; undefined = none asked (explicit mode only). */
  adminToken?: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Refuses a load/unload request unless model control is explicit and its bearer token is right. */
function guard(options: RepositoryRouteOptions): (req: FastifyRequest) => void {
  const expected = options.adminToken === undefined ? undefined : digest(options.adminToken);
  return (req) => {
    if ((options.modelControl ?? 'none') !== 'explicit') {
      throw new FerryError('MODEL_CONTROL_DISABLED', 'repository load/unload is off on this server (--model-control none): start ferry serve with --model-control explicit to allow it');
    }
    if (!expected) return;
    const auth = req.headers.authorization;
    const m = auth === undefined ? null : /^Bearer[ \t]+(\S+)\s*$/i.exec(auth);
    if (!m) {
      throw new FerryError('ADMIN_TOKEN_MISSING', `repository ${req.url.split('/').pop()} needs an Authorization: Bearer <token> header (this server has --admin-token set)`, { headers: { 'www-authenticate': 'Bearer realm="ferry"' } });
    }
    // Compared as digests, in constant time: neither the length nor a prefix of the token leaks.
    if (!timingSafeEqual(digest(m[1]!), expected)) {
      throw new FerryError('ADMIN_TOKEN_INVALID', `the bearer token of this repository ${req.url.split('/').pop()} request is not the server's admin token`, { headers: { 'www-authenticate': 'Bearer realm="ferry", error="invalid_token"' } });
    }
  };
}

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

export async function repositoryRoutes(app: FastifyInstance, options: RepositoryRouteOptions): Promise<void> {
  const repo = () => app.ferry.repository;
  const allowed = guard(options);
  app.post('/v2/repository/index', async (req) => {
    const ready = body(req.body).ready === true;
    const index = await repo().index();
    return ready ? index.filter((m) => m.state === 'READY') : index;
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/load', async (req, reply) => {
    allowed(req);
    checkModelName(req.params.model);
    await repo().load(req.params.model, configOverride(req.params.model, req.body), { confined: true });
    return reply.code(200).send();
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', async (req, reply) => {
    allowed(req);
    checkModelName(req.params.model);
    body(req.body);
    await repo().unload(req.params.model);
    return reply.code(200).send();
  });
}
