/**
 * The seed's image routes, for models whose config declares `image:` preprocessing:
 *  - POST or PUT /v2/models/{m}/image, and /image for the default model: an encoded image body
 *    (`curl -T picture.jpg localhost:8000/image`, `requests.post(url, data=open(jpg, 'rb'))`);
 *  - POST /predict: the seed's Flask client — multipart fields `meta` ({"shape": [h, w, c]}) and
 *    `blob` (raw HWC pixel bytes, cv2's BGR order unless meta says "order": "rgb").
 * Each answers `{ label, index, score, top: [...] }`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ModelVersion } from '../../repository/model-version.js';
import type { RawPixels } from '../../preprocess/image.js';
import { decodeImage, imageSource, inputShift } from '../../preprocess/image.js';
import { judgeConfidence } from '../../postprocess/confidence.js';
import { classify } from '../../postprocess/classify.js';
import { clientGone } from '../app.js';
import { RawPassPool } from '../../preprocess/raw-pass-pool.js';
import type { ImageConfig } from '../../preprocess/image-config.js';
import { rawPass } from '../../preprocess/raw-pixels.js';
import { FerryError } from '../../errors.js';
import { parseMultipart } from '../multipart.js';

type Params = { model?: string; version?: string };
type Query = { top?: string };

export async function imageRoutes(app: FastifyInstance): Promise<void> {
  const ctx = () => app.ferry;
  // The JS pass of raw pixels (object pass or fit) goes to a preprocessing thread while other
  // image requests wait for the event loop; a lone request runs it in place (raw-pass-pool.ts).
  const passes = new RawPassPool();
  let inFlight = 0;
  const offload = (body: Buffer, raw: RawPixels, cfg: ImageConfig) => {
    ctx().metrics.imagePasses.inc({ thread: 'preprocessing' });
    return passes.run(body, raw, cfg);
  };
  const inPlace = (body: Buffer, raw: RawPixels, cfg: ImageConfig) => {
    ctx().metrics.imagePasses.inc({ thread: 'event_loop' });
    return Promise.resolve(rawPass(body, raw, cfg));
  };
  app.addHook('onClose', () => passes.close());

  const defaultModel = (): string => {
    const { defaultModel: named, repository } = ctx();
    if (named) return named;
    const ready = repository.ready();
    if (ready.length === 1) return ready[0]!;
    throw new FerryError('NO_DEFAULT_MODEL', `${ready.length} models are served (${ready.join(', ')}): use /v2/models/<model>/image, or start with --default-model`);
  };

  const classifyImage = async (req: FastifyRequest<{ Params: Params; Querystring: Query }>, reply: FastifyReply, body: unknown, raw?: RawPixels) => {
    inFlight++;
    try {
      return await classifyInFlight(req, reply, body, raw);
    } finally {
      inFlight--;
    }
  };

  const classifyInFlight = async (req: FastifyRequest<{ Params: Params; Querystring: Query }>, reply: FastifyReply, body: unknown, raw?: RawPixels) => {
    const model: ModelVersion = ctx().repository.get(req.params.model ?? defaultModel(), req.params.version);
    const cfg = model.config.image;
    if (!cfg) throw new FerryError('NO_IMAGE_CONFIG', `model "${model.name}" declares no image: preprocessing in its config, so it takes no images; use /v2/models/${model.name}/infer`);
    if (!Buffer.isBuffer(body)) throw new FerryError('BAD_IMAGE', 'the request has no image body');
    let top = cfg.topK;
    if (req.query.top !== undefined) {
      top = Number(req.query.top);
      if (!Number.isInteger(top) || top < 1) throw new FerryError('BAD_PARAMETER', `top must be a positive integer (got "${req.query.top}")`);
    }
    const inputName = cfg.input ?? model.io.inputs[0]!.name;
    const spec = model.io.inputs.find((i) => i.name === inputName)!;
    const pixels = await decodeImage(body, cfg, { maxPixels: ctx().maxImagePixels, rawPass: inFlight > 1 ? offload : inPlace }, raw);
    const source = imageSource(inputName, spec.datatype, pixels, cfg, model.batched);
    const output = model.io.outputs.find((o) => model.labels.has(o.name)) ?? model.io.outputs[0]!;
    const result = await model.infer([source], { outputs: [output.name], signal: clientGone(req, reply) });
    const answer = classify(result.outputs[output.name]!, model.labels.get(output.name), top, cfg.softmax);
    if (!cfg.lowConfidence) return { model: model.name, version: model.version, ...answer };
    const confidence = judgeConfidence({ topScore: answer.score, inputShift: inputShift(pixels, cfg), ...(pixels.objectFound !== undefined && { objectFound: pixels.objectFound }) }, cfg.lowConfidence);
    return {
      model: model.name, version: model.version, ...answer,
      low_confidence: confidence.low,
      ...(confidence.low && { low_confidence_reasons: confidence.reasons }),
    };
  };

  const encoded = (req: FastifyRequest<{ Params: Params; Querystring: Query }>, reply: FastifyReply) => classifyImage(req, reply, req.body);
  for (const method of ['POST', 'PUT'] as const) {
    app.route({ method, url: '/image', handler: encoded });
    app.route({ method, url: '/v2/models/:model/image', handler: encoded });
    app.route({ method, url: '/v2/models/:model/versions/:version/image', handler: encoded });
  }

  app.post<{ Params: Params; Querystring: Query }>('/predict', async (req, reply) => {
    const { meta, blob } = readMultipart(req);
    const raw = rawFromMeta(meta);
    return classifyImage(req, reply, blob, raw);
  });
}

/** The seed's multipart body (already buffered, so within max_body_bytes): its meta and blob fields. */
function readMultipart(req: FastifyRequest): { meta: Buffer; blob: Buffer } {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*(;|$)/i.test(type)) {
    throw new FerryError('UNSUPPORTED_MEDIA_TYPE', `/predict takes multipart/form-data with fields "meta" and "blob" (got ${type || 'no content type'})`);
  }
  if (!Buffer.isBuffer(req.body)) throw new FerryError('BAD_REQUEST', '/predict got no body');
  const parts = parseMultipart(req.body, type);
  const meta = parts.get('meta');
  const blob = parts.get('blob');
  if (!meta || !blob) {
    throw new FerryError('BAD_REQUEST', `/predict needs multipart fields "meta" and "blob" (got ${[...parts.keys()].map((k) => `"${k}"`).join(', ') || 'none'})`);
  }
  return { meta, blob };
}

function rawFromMeta(metaBytes: Buffer): RawPixels {
  let meta: unknown;
  try {
    meta = JSON.parse(metaBytes.toString('utf8'));
  } catch (err) {
    throw new FerryError('BAD_JSON', `field "meta" is not valid JSON: ${(err as Error).message}`);
  }
  const m = meta as { shape?: unknown; order?: unknown };
  const shape = m?.shape;
  const ok = Array.isArray(shape) && (shape.length === 2 || shape.length === 3) && shape.every((d) => Number.isInteger(d) && d > 0);
  if (!ok) throw new FerryError('BAD_SHAPE', `field "meta": "shape" must be [height, width] or [height, width, channels] of positive integers (got ${JSON.stringify(shape)})`);
  const [height, width, channels = 1] = shape as number[];
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new FerryError('BAD_SHAPE', `field "meta": ${channels} channels; send 1 (gray), 3 (BGR) or 4 (BGRA)`);
  const order = m.order === undefined ? 'bgr' : m.order;
  if (order !== 'bgr' && order !== 'rgb') throw new FerryError('BAD_PARAMETER', `field "meta": "order" must be "bgr" or "rgb" (got ${JSON.stringify(order)})`);
  return { width: width!, height: height!, channels: channels as 1 | 3 | 4, order };
}
