/** Server metadata and health: GET /v2, /v2/health/live, /v2/health/ready. */
import type { FastifyInstance } from 'fastify';
import { EXTENSIONS, SERVER_NAME } from '../app.js';
import { VERSION } from '../../version.js';

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/v2', async () => ({ name: SERVER_NAME, version: VERSION, extensions: EXTENSIONS }));
  app.get('/v2/health/live', async (_req, reply) => reply.code(200).send());
  app.get('/v2/health/ready', async (_req, reply) => {
    const { repository, closing } = app.ferry;
    // Ready once every model given at start-up has been tried (a load balancer must not send a replica
    // requests for a model it is still loading; a broken one is UNAVAILABLE, not waited for) and
    // until shutdown begins.
    const ready = !closing && !repository.startingUp && repository.ready().length > 0;
    return reply.code(ready ? 200 : 503).send();
  });
}
