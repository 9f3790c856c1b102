/** Triton's model repository extension: index, load, unload. */
import type { FastifyInstance } from 'fastify';

export async function repositoryRoutes(app: FastifyInstance): Promise<void> {
  const repo = () => app.ferry.repository;
  app.post('/v2/repository/index', async () => repo().index());
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/load', async (req, reply) => {
    await repo().load(req.params.model);
    return reply.code(200).send();
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', async (req, reply) => {
    await repo().unload(req.params.model);
    return reply.code(200).send();
  });
}
