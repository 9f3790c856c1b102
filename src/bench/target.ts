/**
 * Getting ready to load a server: read the model's metadata (GET /v2/models/{m} and .../config),
 * build the requests for the chosen protocol, and send one probe so that a wrong model, shape or
 * route fails at once with the server's message instead of as a table full of errors.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { request } from 'undici';
import sharp from 'sharp';
import type { ModelShapeInfo, Protocol, RequestSpec } from './payload.js';
import { imageRequest, planInputs, predictRequest, tensorRequests } from './payload.js';

export interface TargetOptions {
  readonly url: string;
  readonly protocol: Protocol;
  /** Needed for json, binary and image; predict uses the server's default model. */
  readonly model?: string;
  /** Rows per tensor request. @defaultValue 1 */
  readonly batch?: number;
  readonly shapes?: ReadonlyMap<string, readonly number[]>;
  /** Image file for image and predict. */
  readonly input?: string;
  readonly seed?: number;
  /** Timeout of the set-up requests, in ms. @defaultValue 10000 */
  readonly timeoutMs?: number;
}

export class TargetError extends Error {
  override name = 'TargetError';
}

function join(url: string, path: string): string {
  return url.replace(/\/+$/, '') + path;
}

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; json: unknown }> {
  const res = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, json };
}

/** The model's inputs (v2 metadata) and max_batch_size (Triton config; guessed from -1 first dims without one). */
export async function fetchShapeInfo(url: string, model: string, timeoutMs = 10_000): Promise<ModelShapeInfo> {
  const base = join(url, `/v2/models/${encodeURIComponent(model)}`);
  const meta = await getJson(base, timeoutMs);
  if (meta.status !== 200) throw new TargetError(`GET ${base} answered ${meta.status}: ${JSON.stringify(meta.json)}`);
  const inputs = (meta.json as { inputs?: ModelShapeInfo['inputs'] }).inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) throw new TargetError(`GET ${base} lists no inputs`);
  const config = await getJson(`${base}/config`, timeoutMs).catch(() => undefined);
  const mbs = (config?.json as { max_batch_size?: unknown } | undefined)?.max_batch_size;
  const maxBatchSize = config?.status === 200 && typeof mbs === 'number'
    ? mbs
    : inputs.every((i) => i.shape[0] === -1) ? Number.MAX_SAFE_INTEGER : 0;
  return { inputs, maxBatchSize };
}

/** Decodes an image file to raw HWC BGR bytes, 3 channels: what the seed's client gets from cv2.imread. */
export async function readBgr(file: string): Promise<{ pixels: Buffer; height: number; width: number }> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const bgr = Buffer.alloc(n * 3);
  for (let p = 0; p < n; p++) {
    const c = info.channels;
    const r = data[p * c]!;
    const g = c >= 3 ? data[p * c + 1]! : r;
    const b = c >= 3 ? data[p * c + 2]! : r;
    bgr[p * 3] = b;
    bgr[p * 3 + 1] = g;
    bgr[p * 3 + 2] = r;
  }
  return { pixels: bgr, height: info.height, width: info.width };
}

/** Builds the requests for the chosen protocol. */
export async function buildRequests(o: TargetOptions): Promise<RequestSpec[]> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  switch (o.protocol) {
    case 'json':
    case 'binary': {
      if (!o.model) throw new TargetError(`--protocol ${o.protocol} needs --model`);
      const info = await fetchShapeInfo(o.url, o.model, timeoutMs);
      let plans;
      try {
        plans = planInputs(info, o.batch ?? 1, o.shapes);
      } catch (err) {
        throw new TargetError((err as Error).message);
      }
      return tensorRequests(o.model, o.protocol, plans, { ...(o.seed !== undefined && { seed: o.seed }), batch: info.maxBatchSize > 0 ? o.batch ?? 1 : 1 });
    }
    case 'image': {
      if (!o.model) throw new TargetError('--protocol image needs --model');
      if (!o.input) throw new TargetError('--protocol image needs --input IMAGE (a JPEG, PNG or WebP file)');
      return [imageRequest(o.model, await readFile(o.input), basename(o.input))];
    }
    case 'predict': {
      if (!o.input) throw new TargetError('--protocol predict needs --input IMAGE (sent as raw BGR pixels, as the seed client does)');
      const { pixels, height, width } = await readBgr(o.input);
      return [predictRequest(pixels, height, width, 3)];
    }
  }
}

/** Sends one request; throws with the server's answer unless it is 2xx. Returns the answer's text. */
export async function probe(url: string, spec: RequestSpec, timeoutMs = 30_000): Promise<string> {
  const target = join(url, spec.path);
  let res;
  try {
    res = await request(target, { method: 'POST', headers: spec.headers, body: spec.body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  } catch (err) {
    throw new TargetError(`POST ${target} failed: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new TargetError(`probe POST ${target} answered ${res.statusCode}: ${text.slice(0, 500)}`);
  return text;
}
