/**
 * The model repository, Triton-like: `DIR/<model>/config.yaml` (or .yml/.json) and
 * `DIR/<model>/<version>/model.onnx`. Also takes a single model folder or a bare `model.onnx`.
 * Loading a model again swaps in the new versions first and drains the old ones after, so no
 * in-flight request is dropped; unloading drains before it frees.
 */
import { readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { ConfigOverrides, ModelConfig } from './config.js';
import { applyOverrides, defaultModelConfig, readModelConfig } from './config.js';
import type { ModelObserver } from './model-version.js';
import { ModelVersion } from './model-version.js';
import type { Engine } from '../engines/engine.js';
import { chooseDefaults } from './auto-defaults.js';
import { createEngine, engineDescriptor, engineForFile, modelExtensions } from '../engines/registry.js';
import { FerryError } from '../errors.js';
import { checkInside, checkModelName, checkRelativeName } from './confine.js';

export type ModelState = 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';

export interface RepositoryOptions {
  /** A repository folder, a single model folder, or an .onnx file. */
  path: string;
  overrides?: ConfigOverrides;
  observer?: ModelObserver;
  /** Logs load events. */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Logs what a user should look at: a model that failed to load, a model that will not batch. */
  warn?: (msg: string, fields?: Record<string, unknown>) => void;
}

interface Source {
  /** Model folder (holding config and version folders), or undefined for a bare file. */
  dir?: string;
  file?: string;
}

export interface LoadOptions {
  /**
   * The load comes from a request (POST .../load), not from the operator's start-up: the name
   * must be a folder of the repository, a config override may not name files outside the model
   * folder, and every file loaded must lie inside the repository once symlinks are resolved
   * (PATH_OUTSIDE_REPOSITORY otherwise). @defaultValue false
   */
  confined?: boolean;
}

interface ModelEntry {
  state: ModelState;
  reason: string;
  versions: Map<string, ModelVersion>;
  /** Newest loaded version. */
  latest?: string;
}

const CONFIG_FILES = ['config.yaml', 'config.yml', 'config.json'];

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

async function configFile(dir: string): Promise<string | undefined> {
  for (const f of CONFIG_FILES) if (await isFile(join(dir, f))) return join(dir, f);
  return undefined;
}

async function numericDirs(dir: string): Promise<number[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && /^[1-9]\d*$/.test(e.name)).map((e) => Number(e.name)).sort((a, b) => a - b);
}

/** `dir/model.<ext>` for the first extension some engine loads, if any. */
async function findModelFile(dir: string): Promise<string | undefined> {
  for (const ext of modelExtensions()) if (await isFile(join(dir, `model${ext}`))) return join(dir, `model${ext}`);
  return undefined;
}

/** Is `dir` one model's folder (config file or version folders) rather than a repository? */
async function isModelDir(dir: string): Promise<boolean> {
  return (await configFile(dir)) !== undefined || (await numericDirs(dir)).length > 0 || (await findModelFile(dir)) !== undefined;
}

export class ModelRepository {
  readonly root: string;
  #sources = new Map<string, Source>();
  #models = new Map<string, ModelEntry>();
  #options: RepositoryOptions;
  #startingUp = false;

  private constructor(root: string, options: RepositoryOptions) {
    this.root = root;
    this.#options = options;
  }

  /** Finds the models under `options.path` (loads nothing yet). */
  static async open(options: RepositoryOptions): Promise<ModelRepository> {
    const root = resolve(options.path);
    const repo = new ModelRepository(root, options);
    if (await isFile(root)) {
      if (!engineForFile(root)) throw new FerryError('MODEL_LOAD_FAILED', `${root} is not a model file ferry serves (${modelExtensions().join(', ')}) or a model repository folder`);
      repo.#sources.set(basename(root, extname(root)), { file: root });
    } else if (!(await isDir(root))) {
      throw new FerryError('MODEL_LOAD_FAILED', `${root} does not exist: give a model repository folder, a model folder or an .onnx file`);
    } else if (await isModelDir(root)) {
      repo.#sources.set(basename(root), { dir: root });
    } else {
      await repo.#scan();
      if (repo.#sources.size === 0) throw new FerryError('MODEL_LOAD_FAILED', `${root} holds no models: expected <model>/config.yaml and <model>/<version>/model.onnx (or ${modelExtensions().filter((e) => e !== '.onnx').map((e) => `model${e}`).join(', ')})`);
    }
    return repo;
  }

  async #scan(): Promise<void> {
    const entries = await readdir(this.root, { withFileTypes: true });
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const dir = join(this.root, e.name);
      if (e.isDirectory() && !e.name.startsWith('.') && (await isModelDir(dir)) && !this.#sources.has(e.name)) this.#sources.set(e.name, { dir });
    }
  }

  /** Names of the models found, loaded or not. */
  names(): string[] {
    return [...new Set([...this.#sources.keys(), ...this.#models.keys()])].sort();
  }

  /** Names of the models ready to serve. */
  ready(): string[] {
    return [...this.#models.entries()].filter(([, m]) => m.state === 'READY').map(([n]) => n).sort();
  }

  /**
   * Loads every model found. A model that fails is UNAVAILABLE with its reason (index, log) and the
   * others still load (Triton's --exit-on-error=false); it throws when none loads, or at the first
   * failure with `strict`.
   */
  async loadAll(options: { strict?: boolean } = {}): Promise<void> {
    let first: unknown;
    this.#startingUp = true;
    try {
      await this.#loadEach(options, (err) => { first ??= err; });
    } finally {
      this.#startingUp = false;
    }
    if (first !== undefined && this.ready().length === 0) throw first;
  }

  /** True while loadAll runs: the server is not ready until every model has been tried. */
  get startingUp(): boolean {
    return this.#startingUp;
  }

  async #loadEach(options: { strict?: boolean }, failed: (err: unknown) => void): Promise<void> {
    for (const name of this.#sources.keys()) {
      try {
        await this.load(name);
      } catch (err) {
        if (options.strict) throw err;
        failed(err);
        this.#options.warn?.(`model "${name}" is UNAVAILABLE: ${(err as Error).message}`, { model: name, code: (err as { code?: string }).code });
      }
    }
  }

  /** The repository index (POST /v2/repository/index). */
  async index(): Promise<Array<{ name: string; version?: string; state: string; reason: string }>> {
    if (!(await isModelDir(this.root)) && (await isDir(this.root))) await this.#scan();
    return this.names().flatMap((name) => {
      const m = this.#models.get(name);
      if (!m) return [{ name, state: 'UNAVAILABLE', reason: 'unloaded' }];
      if (m.versions.size === 0) return [{ name, state: m.state, reason: m.reason }];
      return [...m.versions.keys()].map((version) => ({ name, version, state: m.state, reason: m.reason }));
    });
  }

  /** The version to serve; throws MODEL_NOT_FOUND, VERSION_NOT_FOUND or MODEL_NOT_READY. */
  get(name: string, version?: string): ModelVersion {
    const m = this.#models.get(name);
    if (!m || (m.state !== 'READY' && m.versions.size === 0)) {
      if (m?.state === 'LOADING') throw new FerryError('MODEL_NOT_READY', `model "${name}" is loading`);
      const known = this.ready();
      throw new FerryError('MODEL_NOT_FOUND', `model "${name}" is not loaded${known.length ? `; ready models: ${known.join(', ')}` : ''}`);
    }
    if (m.state !== 'READY') throw new FerryError('MODEL_NOT_READY', `model "${name}" is ${m.state.toLowerCase()}${m.reason ? `: ${m.reason}` : ''}`);
    const v = m.versions.get(version ?? m.latest ?? '');
    if (!v) throw new FerryError('VERSION_NOT_FOUND', `model "${name}" has no version "${version}"; loaded versions: ${[...m.versions.keys()].join(', ')}`);
    return v;
  }

  /** All loaded versions of a model. */
  versions(name: string): ModelVersion[] {
    this.get(name);
    return [...this.#models.get(name)!.versions.values()];
  }

  async #readConfig(name: string, source: Source, given?: ModelConfig): Promise<{ config: ModelConfig; files: Map<string, string> }> {
    const files = new Map<string, string>();
    const overrides = this.#options.overrides ?? {};
    if (source.file) {
      files.set('1', source.file);
      return { config: applyOverrides(given ?? defaultModelConfig(name), overrides), files };
    }
    const dir = source.dir!;
    const cfgFile = await configFile(dir);
    const config = applyOverrides(given ?? (cfgFile ? await readModelConfig(cfgFile, name) : defaultModelConfig(name)), overrides);
    let versions = await numericDirs(dir);
    const p = config.versionPolicy;
    if ('latest' in p) versions = versions.slice(-p.latest);
    else if ('specific' in p) {
      const missing = p.specific.filter((v) => !versions.includes(v));
      if (missing.length) throw new FerryError('CONFIG_INVALID', `${cfgFile}: version_policy.specific names version ${missing.join(', ')}, which has no folder in ${dir}`);
      versions = [...p.specific];
    }
    // The file in each version folder: the config's name for it, the backend's default, or model.<ext> for any engine.
    const named = config.defaultModelFilename ?? (config.backend ? engineDescriptor(config.backend).defaultModelFilename : undefined);
    const pickFile = async (folder: string): Promise<string | undefined> => (named ? ((await isFile(join(folder, named))) ? join(folder, named) : undefined) : findModelFile(folder));
    const wanted = named ?? `model.{${modelExtensions().map((e) => e.slice(1)).join(',')}}`;
    for (const v of versions) {
      const f = await pickFile(join(dir, String(v)));
      if (!f) throw new FerryError('MODEL_LOAD_FAILED', `model "${name}" version ${v}: ${join(dir, String(v), wanted)} does not exist`);
      files.set(String(v), f);
    }
    if (files.size === 0) {
      const flat = await pickFile(dir);
      if (flat) files.set('1', flat);
      else throw new FerryError('MODEL_LOAD_FAILED', `model "${name}": no version folder (${dir}/<n>/${wanted}) found`);
    }
    return { config, files };
  }

  /**
   * Loads (or reloads) a model from disk. In-flight requests on replaced versions finish first.
   * `config` replaces the config file for this load (Triton's load with a config override).
   */
  async load(name: string, configOverride?: ModelConfig, options: LoadOptions = {}): Promise<void> {
    if (options.confined) {
      checkModelName(name);
      if (configOverride?.defaultModelFilename !== undefined) checkRelativeName('default_model_filename', configOverride.defaultModelFilename, name);
      for (const io of [...(configOverride?.inputs ?? []), ...(configOverride?.outputs ?? [])]) {
        if (io.labelFile !== undefined) checkRelativeName(`label_filename of "${io.name}"`, io.labelFile, name);
      }
    }
    if (!this.#sources.has(name) && (await isDir(this.root)) && !(await isModelDir(this.root))) await this.#scan();
    const source = this.#sources.get(name);
    if (!source) throw new FerryError('MODEL_NOT_FOUND', `model "${name}" is not in the repository ${this.root}`);
    const previous = this.#models.get(name);
    const entry: ModelEntry = previous ?? { state: 'LOADING', reason: '', versions: new Map() };
    if (!previous) this.#models.set(name, entry);
    else if (previous.state !== 'READY') entry.state = 'LOADING';
    const started = performance.now();
    let loaded: Map<string, ModelVersion>;
    try {
      const { config, files } = await this.#readConfig(name, source, configOverride);
      if (options.confined) await this.#checkConfined(source, config, files);
      loaded = new Map();
      try {
        for (const [version, file] of files) {
          const backend = config.backend ?? engineForFile(file)?.backend;
          if (!backend) throw new FerryError('MODEL_LOAD_FAILED', `model "${name}" version ${version}: ${file} is not a file any engine loads (${modelExtensions().join(', ')}); set backend: in its config`);
          const { engine, config: resolved } = await this.#openEngine(name, version, file, backend, config);
          const v = await ModelVersion.create(resolved, version, engine, source.dir, this.#options.observer);
          if (!v.batched && v.io.inputs.length > 0 && v.io.inputs.every((i) => i.dims[0] === 1)) {
            this.#options.warn?.(`model "${name}" version ${version}: max_batch_size 0: requests will not be batched: the batch axis of its inputs is fixed at 1 (export with a dynamic batch axis: ferry export --dynamic-batch; ferry simplify keeps it unless --static-batch)`, { model: name, version });
          }
          loaded.set(version, v);
        }
      } catch (err) {
        await Promise.all([...loaded.values()].map((v) => v.unload()));
        throw err;
      }
    } catch (err) {
      if (entry.versions.size === 0) {
        entry.state = 'UNAVAILABLE';
        entry.reason = (err as Error).message;
      }
      throw err instanceof FerryError ? err : new FerryError('MODEL_LOAD_FAILED', `model "${name}": ${(err as Error).message}`, { cause: err });
    }
    const old = entry.versions;
    entry.versions = loaded;
    entry.latest = [...loaded.keys()].sort((a, b) => Number(a) - Number(b)).at(-1);
    entry.state = 'READY';
    entry.reason = '';
    this.#options.log?.('model loaded', { model: name, versions: [...loaded.keys()], ms: Math.round(performance.now() - started) });
    await Promise.all([...old.values()].map((v) => v.unload()));
  }

  /**
   * Creates the engine for one version. Settings the config leaves out (instances, threads, max
   * batch, queue delay) are chosen from one measured inference and the machine (auto-defaults.ts):
   * a probe engine of one single-threaded instance is kept when that is the choice, else replaced.
   */
  async #openEngine(name: string, version: string, file: string, backend: string, config: ModelConfig): Promise<{ engine: Engine; config: ModelConfig }> {
    const open = (instances: number, parameters: Readonly<Record<string, unknown>>): Promise<Engine> => createEngine(backend, {
      modelPath: file,
      instances,
      parameters,
      declared: {
        ...(config.maxBatchSize !== undefined && { maxBatchSize: config.maxBatchSize }),
        ...(config.inputs && { inputs: config.inputs }),
        ...(config.outputs && { outputs: config.outputs }),
      },
      source: config.source ?? file,
      onUnavailable: (reason) => this.#unavailable(name, version, reason),
    });
    const threadsGiven = config.parameters.intra_op_threads !== undefined;
    if (config.instances !== undefined || threadsGiven) {
      const engine = await open(config.instances ?? 1, config.parameters);
      const delay = config.batching.maxQueueDelayMs ?? (engine.warmupMs !== undefined ? chooseDefaults(engine.warmupMs, availableParallelism()).maxQueueDelayMs : 0);
      return { engine, config: { ...config, batching: { ...config.batching, maxQueueDelayMs: delay } } };
    }
    const single = { ...config.parameters, intra_op_threads: 1 };
    let engine = await open(1, single);
    if (engine.warmupMs === undefined) return { engine, config: { ...config, instances: 1, parameters: single } };
    const choice = chooseDefaults(engine.warmupMs, availableParallelism());
    if (choice.instances !== 1) {
      await engine.dispose();
      engine = await open(choice.instances, single);
    }
    this.#options.log?.(`model "${name}" version ${version}: ${choice.why} (chosen because its config does not say; ferry tune sweeps for the best)`, { model: name, version });
    return {
      engine,
      config: {
        ...config,
        instances: choice.instances,
        parameters: single,
        defaultMaxBatchSize: choice.maxBatchSize,
        batching: { ...config.batching, maxQueueDelayMs: config.batching.maxQueueDelayMs ?? choice.maxQueueDelayMs },
      },
    };
  }

  /** Every file this load would open (config, model files, label files) lies inside the repository. */
  async #checkConfined(source: Source, config: ModelConfig, files: Map<string, string>): Promise<void> {
    const modelDir = source.dir ?? dirname(source.file!);
    const cfg = source.dir ? await configFile(source.dir) : undefined;
    if (cfg) await checkInside(this.root, cfg, 'config file');
    for (const file of files.values()) await checkInside(this.root, file, 'model file');
    for (const io of [...(config.inputs ?? []), ...(config.outputs ?? [])]) {
      if (io.labelFile !== undefined) await checkInside(this.root, join(modelDir, io.labelFile), 'label file');
    }
  }

  /** An engine can no longer serve (an instance died and could not be replaced). */
  #unavailable(name: string, version: string, reason: string): void {
    const entry = this.#models.get(name);
    if (!entry || entry.versions.get(version) === undefined) return;
    entry.state = 'UNAVAILABLE';
    entry.reason = `version ${version}: ${reason}`;
    this.#options.log?.('model unavailable', { model: name, version, reason });
  }

  /** Stops serving a model once its queued and running requests finish. */
  async unload(name: string): Promise<void> {
    const entry = this.#models.get(name);
    if (!entry || entry.state === 'UNAVAILABLE') {
      if (this.#sources.has(name) || entry) return; // unloading an unloaded model is not an error (Triton)
      throw new FerryError('MODEL_NOT_FOUND', `model "${name}" is not in the repository`);
    }
    entry.state = 'UNLOADING';
    await Promise.all([...entry.versions.values()].map((v) => v.unload()));
    entry.versions = new Map();
    entry.state = 'UNAVAILABLE';
    entry.reason = 'unloaded';
    this.#options.log?.('model unloaded', { model: name });
  }

  /** Drains and frees every model. */
  async close(): Promise<void> {
    await Promise.all(this.ready().map((n) => this.unload(n)));
  }
}
