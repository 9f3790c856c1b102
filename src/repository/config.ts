/**
 * Model configuration: `config.yaml` / `config.json` beside the version folders, Triton's keys in
 * snake_case. Parsed strictly: a missing, unknown or mistyped key is an error naming file and key.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Datatype } from '../tensors/dtype.js';
import type { ImageConfig } from '../preprocess/image-config.js';
import { fromConfigType } from '../tensors/dtype.js';
import { FerryError } from '../errors.js';
import { engineNames, findEngine } from '../engines/registry.js';

export interface IoConfig {
  readonly name: string;
  readonly datatype?: Datatype;
  /** Dims of one sample (no batch axis when max_batch_size > 0); -1 = dynamic. */
  readonly dims?: readonly number[];
  /** Labels file (one per line), relative to the model folder; makes the output a classifier. */
  readonly labelFile?: string;
}

export type { ImageColor, ImageConfig } from '../preprocess/image-config.js';

export interface BatchingConfig {
  /** Undefined = chosen at load from the model and the machine (auto-defaults.ts). */
  readonly maxQueueDelayMs?: number;
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueSize: number;
  readonly defaultTimeoutMs: number;
  readonly priorityLevels: number;
  readonly defaultPriorityLevel: number;
}

export type VersionPolicy = { latest: number } | { all: true } | { specific: readonly number[] };

export interface ModelConfig {
  readonly name: string;
  /** Engine, by backend name (resolved from Triton's `platform:` too); undefined = chosen by the model file's extension. */
  readonly backend?: string;
  /** Largest batch; 0 = the model takes no batch axis. Undefined = decide from the model (32 when its first axis is dynamic). */
  readonly maxBatchSize?: number;
  /** --max-batch-size: applies to the models that have a batch axis, leaves the others at 0. */
  readonly maxBatchSizeOverride?: number;
  /** max_batch_size of a model with a batch axis whose config gives none (auto-defaults.ts). @defaultValue 32 */
  readonly defaultMaxBatchSize?: number;
  readonly inputs?: readonly IoConfig[];
  readonly outputs?: readonly IoConfig[];
  readonly batching: BatchingConfig;
  /** Parallel engine instances. Undefined = chosen at load from the model and the machine (auto-defaults.ts). */
  readonly instances?: number;
  /** Engine settings, read by the engine itself (each backend has its own; see its parameters.ts). @defaultValue {} */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly versionPolicy: VersionPolicy;
  /** Model file name inside each version folder. @defaultValue the backend's (model.onnx, model.pt) */
  readonly defaultModelFilename?: string;
  readonly image?: ImageConfig;
  /** The file this came from, for messages; undefined for defaults. */
  readonly source?: string;
}

/** Command-line flags that override every model's config. */
export interface ConfigOverrides {
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
  maxQueueSize?: number;
  instances?: number;
  /** Engine parameters set on every model (e.g. --threads is `intra_op_threads`). */
  parameters?: Record<string, unknown>;
}

export const DEFAULT_BATCHING: BatchingConfig = {
  preferredBatchSizes: [],
  maxQueueSize: 1024,
  defaultTimeoutMs: 0,
  priorityLevels: 1,
  defaultPriorityLevel: 1,
};

type Obj = Record<string, unknown>;

/** Walks a parsed config, naming file and key in every error. */
class Reader {
  constructor(readonly file: string) {}

  fail(key: string, problem: string): never {
    throw new FerryError('CONFIG_INVALID', `${this.file}: ${key} ${problem}`);
  }

  /** A mapping whose keys are all in `allowed` (any keys when undefined). */
  object(v: unknown, key: string, allowed: readonly string[] | undefined): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(key, `must be a mapping (got ${JSON.stringify(v)})`);
    for (const k of allowed ? Object.keys(v) : []) {
      if (!allowed!.includes(k)) this.fail(key ? `${key}.${k}` : k, `is not a known key (known: ${allowed!.join(', ')})`);
    }
    return v as Obj;
  }

  int(v: unknown, key: string, min: number, fallback?: number, max = Infinity): number {
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(key, `must be an integer ${max === Infinity ? `>= ${min}` : `from ${min} to ${max}`} (got ${JSON.stringify(v)})`);
    }
    return v;
  }

  num(v: unknown, key: string, fallback?: number, min = -Infinity): number {
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) this.fail(key, `must be a number${min > -Infinity ? ` >= ${min}` : ''} (got ${JSON.stringify(v)})`);
    return v;
  }

  str(v: unknown, key: string, fallback?: string): string {
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || v === '') this.fail(key, `must be a non-empty string (got ${JSON.stringify(v)})`);
    return v;
  }

  oneOf<T extends string>(v: unknown, key: string, options: readonly T[], fallback: T): T {
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !options.includes(v as T)) this.fail(key, `must be one of ${options.join(', ')} (got ${JSON.stringify(v)})`);
    return v as T;
  }

  bool(v: unknown, key: string, fallback: boolean): boolean {
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false (got ${JSON.stringify(v)})`);
    return v;
  }

  list(v: unknown, key: string): unknown[] {
    if (!Array.isArray(v)) this.fail(key, `must be a list (got ${JSON.stringify(v)})`);
    return v;
  }

  numbers(v: unknown, key: string, fallback: number[]): number[] {
    if (v === undefined) return fallback;
    return this.list(v, key).map((x, i) => this.num(x, `${key}[${i}]`));
  }
}

const TOP_KEYS = ['name', 'backend', 'platform', 'max_batch_size', 'input', 'output', 'dynamic_batching', 'instance_group',
  'parameters', 'version_policy', 'default_model_filename', 'image'] as const;

function readIo(r: Reader, v: unknown, key: string): IoConfig[] {
  return r.list(v, key).map((item, i) => {
    const k = `${key}[${i}]`;
    const o = r.object(item, k, ['name', 'data_type', 'dims', 'label_filename']);
    let datatype: Datatype | undefined;
    if (o.data_type !== undefined) {
      const t = fromConfigType(r.str(o.data_type, `${k}.data_type`));
      if (!t) r.fail(`${k}.data_type`, `is not a known type (e.g. TYPE_FP32, TYPE_INT64, TYPE_UINT8; got ${JSON.stringify(o.data_type)})`);
      datatype = t.v2;
    }
    return {
      name: r.str(o.name, `${k}.name`),
      ...(datatype && { datatype }),
      ...(o.dims !== undefined && { dims: r.list(o.dims, `${k}.dims`).map((d, j) => r.int(d, `${k}.dims[${j}]`, -1)) }),
      ...(o.label_filename !== undefined && o.label_filename !== '' && { labelFile: r.str(o.label_filename, `${k}.label_filename`) }),
    };
  });
}

function readBatching(r: Reader, v: unknown): BatchingConfig {
  if (v === undefined) return DEFAULT_BATCHING;
  const k = 'dynamic_batching';
  const o = r.object(v ?? {}, k, ['max_queue_delay_ms', 'max_queue_delay_microseconds', 'preferred_batch_size', 'max_queue_size',
    'default_timeout_ms', 'priority_levels', 'default_priority_level', 'default_queue_policy']);
  // Triton's own form (what GET .../config answers): the queue policy in a sub-mapping, in microseconds.
  if (o.default_queue_policy !== undefined) {
    const qk = `${k}.default_queue_policy`;
    const q = r.object(o.default_queue_policy, qk, ['max_queue_size', 'default_timeout_microseconds', 'timeout_action', 'allow_timeout_override']);
    r.oneOf(q.timeout_action, `${qk}.timeout_action`, ['REJECT'] as const, 'REJECT');
    r.bool(q.allow_timeout_override, `${qk}.allow_timeout_override`, true);
    if (q.max_queue_size !== undefined) o.max_queue_size = q.max_queue_size;
    if (q.default_timeout_microseconds !== undefined) o.default_timeout_ms = r.num(q.default_timeout_microseconds, `${qk}.default_timeout_microseconds`, 0, 0) / 1000;
  }
  const delayMs = o.max_queue_delay_microseconds !== undefined
    ? r.num(o.max_queue_delay_microseconds, `${k}.max_queue_delay_microseconds`, 0, 0) / 1000
    : o.max_queue_delay_ms === undefined ? undefined : r.num(o.max_queue_delay_ms, `${k}.max_queue_delay_ms`, undefined, 0);
  // Triton writes 0 for "priorities off": that is one level here.
  const priorityLevels = Math.max(1, r.int(o.priority_levels, `${k}.priority_levels`, 0, DEFAULT_BATCHING.priorityLevels));
  const defaultPriorityLevel = Math.max(1, r.int(o.default_priority_level, `${k}.default_priority_level`, 0, Math.ceil(priorityLevels / 2)));
  if (defaultPriorityLevel > priorityLevels) r.fail(`${k}.default_priority_level`, `must be at most priority_levels (${priorityLevels})`);
  return {
    ...(delayMs !== undefined && { maxQueueDelayMs: delayMs }),
    preferredBatchSizes: r.numbers(o.preferred_batch_size, `${k}.preferred_batch_size`, []).map((n, i) => r.int(n, `${k}.preferred_batch_size[${i}]`, 1)),
    maxQueueSize: r.int(o.max_queue_size, `${k}.max_queue_size`, 0, DEFAULT_BATCHING.maxQueueSize),
    defaultTimeoutMs: r.num(o.default_timeout_ms, `${k}.default_timeout_ms`, 0, 0),
    priorityLevels,
    defaultPriorityLevel,
  };
}

function readImage(r: Reader, v: unknown): ImageConfig {
  const k = 'image';
  const o = r.object(v, k, ['input', 'width', 'height', 'color', 'scale', 'mean', 'std', 'layout', 'softmax', 'top_k', 'fit',
    'background', 'invert', 'trim', 'low_confidence']);
  const color = r.oneOf(o.color, `${k}.color`, ['gray', 'rgb', 'bgr'] as const, 'rgb');
  const channels = color === 'gray' ? 1 : 3;
  const perChannel = (x: number[], key: string): number[] => {
    if (x.length !== 1 && x.length !== channels) r.fail(`${k}.${key}`, `must have 1 or ${channels} values for color ${color} (got ${x.length})`);
    return x.length === 1 ? Array<number>(channels).fill(x[0]!) : x;
  };
  const std = perChannel(r.numbers(o.std, `${k}.std`, [1]), 'std');
  if (std.some((s) => s === 0)) r.fail(`${k}.std`, 'must not contain 0');
  return {
    ...(o.input !== undefined && { input: r.str(o.input, `${k}.input`) }),
    width: r.int(o.width, `${k}.width`, 1),
    height: r.int(o.height, `${k}.height`, 1),
    color,
    scale: r.num(o.scale, `${k}.scale`, 1 / 255),
    mean: perChannel(r.numbers(o.mean, `${k}.mean`, [0]), 'mean'),
    std,
    layout: r.oneOf(o.layout, `${k}.layout`, ['NCHW', 'NHWC'] as const, 'NCHW'),
    softmax: r.bool(o.softmax, `${k}.softmax`, false),
    topK: r.int(o.top_k, `${k}.top_k`, 1, 5),
    fit: r.oneOf(o.fit, `${k}.fit`, ['fill', 'cover', 'contain'] as const, 'fill'),
    background: o.background === undefined || o.background === 'auto' ? 'auto' : perChannel(r.numbers(o.background, `${k}.background`, []), 'background').map((x, i) => r.int(x, `${k}.background[${i}]`, 0, 0, 255)),
    invert: o.invert === 'auto' ? 'auto' : r.bool(o.invert, `${k}.invert`, false),
    ...readTrim(r, o.trim, `${k}.trim`),
    ...readLowConfidence(r, o.low_confidence, `${k}.low_confidence`),
  };
}

/** `backend:` or Triton's `platform:`, checked against the engines ferry has. */
function readBackend(r: Reader, backend: unknown, platform: unknown): string | undefined {
  const known = engineNames();
  const pick = (v: unknown, key: string): string | undefined => {
    if (v === undefined) return undefined;
    const name = r.str(v, key);
    const d = findEngine(name);
    if (!d) r.fail(key, `is "${name}", which no engine of ferry's runs (known: ${known.join(', ')})`);
    return d.backend;
  };
  const b = pick(backend, 'backend');
  const p = pick(platform, 'platform');
  if (b && p && b !== p) r.fail('platform', `is ${JSON.stringify(platform)} (backend ${p}) but backend is ${JSON.stringify(backend)}; give one`);
  return b ?? p;
}

/** `trim: true` (defaults), `false`, or `{ threshold, margin }`. */
function readTrim(r: Reader, v: unknown, key: string): { trim?: { threshold: number; margin: number } } {
  if (v === undefined || v === false) return {};
  const o = v === true ? {} : r.object(v, key, ['threshold', 'margin']);
  return { trim: { threshold: r.num(o.threshold, `${key}.threshold`, 16, 0), margin: r.num(o.margin, `${key}.margin`, 0, 0) } };
}

/** `low_confidence: true` (defaults) or `{ min_score, max_input_shift }`. */
function readLowConfidence(r: Reader, v: unknown, key: string): { lowConfidence?: { minScore: number; maxInputShift: number } } {
  if (v === undefined || v === false) return {};
  const o = v === true ? {} : r.object(v, key, ['min_score', 'max_input_shift']);
  return { lowConfidence: { minScore: r.num(o.min_score, `${key}.min_score`, 0.5, 0), maxInputShift: r.num(o.max_input_shift, `${key}.max_input_shift`, 1.5, 0) } };
}

function readVersionPolicy(r: Reader, v: unknown): VersionPolicy {
  if (v === undefined) return { latest: 1 };
  const o = r.object(v, 'version_policy', ['latest', 'all', 'specific']);
  if (Object.keys(o).length !== 1) r.fail('version_policy', 'must have exactly one of latest, all, specific');
  if (o.all !== undefined) return { all: true };
  if (o.latest !== undefined) {
    const l = r.object(o.latest, 'version_policy.latest', ['num_versions']);
    return { latest: r.int(l.num_versions, 'version_policy.latest.num_versions', 1, 1) };
  }
  const s = r.object(o.specific, 'version_policy.specific', ['versions']);
  return { specific: r.list(s.versions, 'version_policy.specific.versions').map((x, i) => r.int(x, `version_policy.specific.versions[${i}]`, 1)) };
}

/** Validates a parsed config object. `fallbackName` (the folder name) is used when it has no name. */
export function parseModelConfig(raw: unknown, file: string, fallbackName: string): ModelConfig {
  const r = new Reader(file);
  const o = r.object(raw ?? {}, '', TOP_KEYS);
  const name = r.str(o.name, 'name', fallbackName);
  if (name !== fallbackName) r.fail('name', `is "${name}" but the model folder is "${fallbackName}"; they must match`);
  const backend = readBackend(r, o.backend, o.platform);
  let instances: number | undefined;
  if (o.instance_group !== undefined) {
    const groups = Array.isArray(o.instance_group) ? o.instance_group : [o.instance_group];
    instances = groups.reduce<number>((sum, g, i) => {
      const go = r.object(g, `instance_group[${i}]`, ['name', 'count', 'kind']);
      r.oneOf(go.kind, `instance_group[${i}].kind`, ['KIND_CPU', 'KIND_GPU', 'KIND_AUTO'] as const, 'KIND_AUTO');
      return sum + r.int(go.count, `instance_group[${i}].count`, 1, 1);
    }, 0);
  }
  const parameters = o.parameters === undefined ? {} : r.object(o.parameters, 'parameters', undefined);
  return {
    name,
    ...(backend && { backend }),
    ...(o.max_batch_size !== undefined && { maxBatchSize: r.int(o.max_batch_size, 'max_batch_size', 0) }),
    ...(o.input !== undefined && { inputs: readIo(r, o.input, 'input') }),
    ...(o.output !== undefined && { outputs: readIo(r, o.output, 'output') }),
    batching: readBatching(r, o.dynamic_batching),
    ...(instances !== undefined && { instances }),
    parameters,
    versionPolicy: readVersionPolicy(r, o.version_policy),
    ...(o.default_model_filename !== undefined && { defaultModelFilename: r.str(o.default_model_filename, 'default_model_filename') }),
    ...(o.image !== undefined && { image: readImage(r, o.image) }),
    source: file,
  };
}

/** Reads and validates config.yaml / config.yml / config.json. */
export async function readModelConfig(file: string, fallbackName: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new FerryError('CONFIG_INVALID', `${file}: cannot be read (${(err as Error).message})`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new FerryError('CONFIG_INVALID', `${file}: is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { cause: err });
  }
  return parseModelConfig(raw, file, fallbackName);
}

/** The config a bare `model.onnx` gets. */
export function defaultModelConfig(name: string): ModelConfig {
  return { name, batching: DEFAULT_BATCHING, parameters: {}, versionPolicy: { latest: 1 } };
}

/** Applies command-line overrides. */
export function applyOverrides(c: ModelConfig, o: ConfigOverrides): ModelConfig {
  return {
    ...c,
    ...(o.maxBatchSize !== undefined && { maxBatchSizeOverride: o.maxBatchSize }),
    ...(o.instances !== undefined && { instances: o.instances }),
    ...(o.parameters !== undefined && { parameters: { ...c.parameters, ...o.parameters } }),
    batching: {
      ...c.batching,
      ...(o.maxQueueDelayMs !== undefined && { maxQueueDelayMs: o.maxQueueDelayMs }),
      ...(o.maxQueueSize !== undefined && { maxQueueSize: o.maxQueueSize }),
    },
  };
}
