/** POST /v2/models/{m}[/versions/{v}]/infer: JSON tensors and the binary tensor extension. */
import type { FastifyInstance } from 'fastify';
import { decodeInferRequest, encodeInferResponse } from '../../tensors/v2-codec.js';
import { clientGone } from '../app.js';
import { classificationStrings } from '../../postprocess/classify.js';
import { FerryError } from '../../errors.js';
import { ChunkedBytes } from '../../tensors/chunked-bytes.js';

type Params = { model: string; version?: string };

export async function inferRoutes(app: FastifyInstance): Promise<void> {
  const handler = async (req: import('fastify').FastifyRequest<{ Params: Params }>, reply: import('fastify').FastifyReply) => {
    const model = app.ferry.repository.get(req.params.model, req.params.version);
    if (!Buffer.isBuffer(req.body) && !(req.body instanceof ChunkedBytes)) throw new FerryError('BAD_REQUEST', 'the inference request has no body');
    const request = decodeInferRequest(req.body, req.headers['inference-header-content-length']);
    const result = await model.infer(request.inputs, {
      ...(request.outputs && { outputs: request.outputs.map((o) => o.name) }),
      ...(request.priority !== undefined && { priority: request.priority }),
      ...(request.timeoutUs !== undefined && { timeoutMs: request.timeoutUs / 1000 }),
      signal: clientGone(req, reply),
    });
    const wanted = request.outputs ?? model.io.outputs.map((o) => ({ name: o.name, binary: request.binaryOutput }));
    const { body, headerLength } = encodeInferResponse({
      modelName: model.name,
      modelVersion: model.version,
      ...(request.id !== undefined && { id: request.id }),
      outputs: wanted.map((o) => {
        const tensor = result.outputs[o.name]!;
        return {
          name: o.name,
          binary: o.binary,
          tensor: 'classification' in o && o.classification !== undefined ? classificationStrings(tensor, o.classification, model.labels.get(o.name), model.batched) : tensor,
        };
      }),
    });
    if (headerLength !== undefined) reply.header('inference-header-content-length', headerLength).type('application/octet-stream');
    else reply.type('application/json');
    return reply.send(body);
  };
  // A full queue answers 503 before the body is read (unknown models are left to the handler).
  const admit = async (req: import('fastify').FastifyRequest<{ Params: Params }>) => {
    let model;
    try {
      model = app.ferry.repository.get(req.params.model, req.params.version);
    } catch {
      return;
    }
    model.admit();
  };
  // config.chunkedBody: the body arrives as its chunks (ChunkedBytes), not concatenated (see app.ts).
  app.post('/v2/models/:model/infer', { onRequest: admit, config: { chunkedBody: true } }, handler);
  app.post('/v2/models/:model/versions/:version/infer', { onRequest: admit, config: { chunkedBody: true } }, handler);
}
