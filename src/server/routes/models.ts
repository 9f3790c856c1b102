/**
 * Model metadata and readiness (KServe v2), Triton's model-configuration (GET .../config) and
 * statistics (GET .../stats) extensions.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ModelVersion } from '../../repository/model-version.js';
import type { ImageConfig } from '../../preprocess/image-config.js';
import { DATATYPES } from '../../tensors/dtype.js';
import { parametersJson } from '../../engines/parameters.js';

type Params = { model: string; version?: string };

/** KServe v2 model metadata: full shapes, -1 for dynamic axes (the batch axis included). */
export function modelMetadata(m: ModelVersion, versions: string[]): Record<string, unknown> {
  const shape = (dims: readonly number[]) => (m.batched ? [-1, ...dims] : [...dims]);
  return {
    name: m.name,
    versions,
    platform: m.engine.platform,
    inputs: m.io.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: shape(i.dims) })),
    outputs: m.io.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: shape(o.dims) })),
  };
}

/** Triton's model configuration, as its clients and perf_analyzer read it. */
export function modelConfigJson(m: ModelVersion): Record<string, unknown> {
  const c = m.config;
  const b = c.batching;
  const io = (t: { name: string; datatype: keyof typeof DATATYPES; dims: readonly number[] }) => ({
    name: t.name, data_type: DATATYPES[t.datatype].triton, dims: [...t.dims],
  });
  return {
    name: m.name,
    platform: m.engine.platform,
    backend: m.engine.backend,
    version_policy: 'all' in c.versionPolicy ? { all: {} } : 'specific' in c.versionPolicy ? { specific: { versions: c.versionPolicy.specific } } : { latest: { num_versions: c.versionPolicy.latest } },
    max_batch_size: m.io.maxBatchSize,
    input: m.io.inputs.map(io),
    output: m.io.outputs.map((o) => ({ ...io(o), label_filename: c.outputs?.find((x) => x.name === o.name)?.labelFile ?? '' })),
    ...(m.io.maxBatchSize > 0 && {
      dynamic_batching: {
        preferred_batch_size: [...b.preferredBatchSizes],
        max_queue_delay_microseconds: Math.round((b.maxQueueDelayMs ?? 0) * 1000),
        // Triton writes 0 when priorities are off
        priority_levels: b.priorityLevels > 1 ? b.priorityLevels : 0,
        default_priority_level: b.priorityLevels > 1 ? b.defaultPriorityLevel : 0,
        default_queue_policy: {
          max_queue_size: b.maxQueueSize,
          default_timeout_microseconds: Math.round(b.defaultTimeoutMs * 1000),
          timeout_action: 'REJECT',
          allow_timeout_override: true,
        },
      },
    }),
    instance_group: [{ name: m.name, kind: m.engine.kind, count: m.engine.instances }],
    ...(c.defaultModelFilename !== undefined && { default_model_filename: c.defaultModelFilename }),
    ...(Object.keys(c.parameters).length > 0 && { parameters: parametersJson(c.parameters) }),
    ...(c.image && { image: imageConfigJson(c.image) }),
  };
}

/** The `image:` block in the config file's own snake_case keys, so a config read back loads again. */
function imageConfigJson(i: ImageConfig): Record<string, unknown> {
  return {
    ...(i.input !== undefined && { input: i.input }),
    width: i.width, height: i.height, color: i.color, scale: i.scale, mean: [...i.mean], std: [...i.std],
    layout: i.layout, softmax: i.softmax, top_k: i.topK, fit: i.fit,
    background: i.background === 'auto' ? 'auto' : [...i.background], invert: i.invert,
    ...(i.trim && { trim: { threshold: i.trim.threshold, margin: i.trim.margin } }),
    ...(i.lowConfidence && { low_confidence: { min_score: i.lowConfidence.minScore, max_input_shift: i.lowConfidence.maxInputShift } }),
  };
}

export async function modelRoutes(app: FastifyInstance): Promise<void> {
  const repo = () => app.ferry.repository;
  const pick = (req: FastifyRequest<{ Params: Params }>) => repo().get(req.params.model, req.params.version);

  for (const base of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    app.get<{ Params: Params }>(base, async (req) => {
      const m = pick(req);
      return modelMetadata(m, repo().versions(m.name).map((v) => v.version));
    });
    app.get<{ Params: Params }>(`${base}/ready`, async (req, reply) => {
      try {
        pick(req);
        return reply.code(200).send();
      } catch {
        return reply.code(503).send();
      }
    });
    app.get<{ Params: Params }>(`${base}/config`, async (req) => modelConfigJson(pick(req)));
    app.get<{ Params: Params }>(`${base}/stats`, async (req) => {
      const versions = req.params.version ? [pick(req)] : repo().versions(req.params.model);
      return { model_stats: versions.map((v) => v.stats.toJSON()) };
    });
  }
  app.get('/v2/models/stats', async () => ({
    model_stats: repo().ready().flatMap((n) => repo().versions(n).map((v) => v.stats.toJSON())),
  }));
}
