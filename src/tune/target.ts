/**
 * What `ferry tune MODEL [NAME]` tunes: an .onnx file, a model folder, or a repository folder and
 * the name of one of its models. The server is started on the model alone (its folder or file),
 * so the overrides of the sweep reach no other model.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { ModelRepository } from '../repository/repository.js';
import { readModelConfig } from '../repository/config.js';
import { modelExtensions } from '../engines/registry.js';
import { FerryError } from '../errors.js';
import type { ExistingConfig } from './config-file.js';

export interface TuneTarget {
  /** The model's name, as the server serves it. */
  readonly name: string;
  /** What the server is started on: the model folder, or the file. */
  readonly servePath: string;
  /** The model folder (undefined for a bare file). */
  readonly dir?: string;
  /** The model's config file and its text, when it has one. */
  readonly config?: ExistingConfig;
  /** The ONNX file the in-process ceiling runs (latest version); undefined for other formats. */
  readonly onnxFile?: string;
}

const CONFIG_FILES = ['config.yaml', 'config.yml', 'config.json'];

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

async function versionDirs(dir: string): Promise<number[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && /^[1-9]\d*$/.test(e.name)).map((e) => Number(e.name)).sort((a, b) => b - a);
}

async function configOf(dir: string): Promise<ExistingConfig | undefined> {
  for (const f of CONFIG_FILES) {
    const file = join(dir, f);
    if (await isFile(file)) return { file, text: await readFile(file, 'utf8') };
  }
  return undefined;
}

/** The newest version's ONNX file in a model folder, if it has one. */
async function onnxIn(dir: string, name: string, config: ExistingConfig | undefined): Promise<string | undefined> {
  const fileName = config ? (await readModelConfig(config.file, name)).defaultModelFilename ?? 'model.onnx' : 'model.onnx';
  if (!fileName.endsWith('.onnx')) return undefined;
  for (const v of await versionDirs(dir)) {
    const file = join(dir, String(v), fileName);
    if (await isFile(file)) return file;
  }
  return (await isFile(join(dir, fileName))) ? join(dir, fileName) : undefined;
}

/** A model's own folder (config file, version folders or a model file) rather than a repository. */
async function isModelFolder(dir: string): Promise<boolean> {
  if ((await configOf(dir)) !== undefined || (await versionDirs(dir)).length > 0) return true;
  for (const ext of modelExtensions()) if (await isFile(join(dir, `model${ext}`))) return true;
  return false;
}

export async function resolveTarget(path: string, name?: string): Promise<TuneTarget> {
  const root = resolve(path);
  // The repository finds the models and says what is wrong with a path (nothing is loaded).
  const repo = await ModelRepository.open({ path: root });
  if (await isFile(root)) {
    if (name !== undefined) throw new FerryError('BAD_FLAG', `${path} is a model file: give no model name after it (got "${name}")`);
    return { name: basename(root, extname(root)), servePath: root, ...(extname(root) === '.onnx' && { onnxFile: root }) };
  }
  const names = repo.names();
  let dir: string;
  let model: string;
  if (await isModelFolder(root)) {
    model = basename(root);
    if (name !== undefined && name !== model) throw new FerryError('BAD_FLAG', `${path} is the folder of model "${model}": give no model name after it (got "${name}")`);
    dir = root;
  } else {
    if (name === undefined) {
      if (names.length !== 1) throw new FerryError('BAD_FLAG', `${path} is a model repository of ${names.length} models (${names.join(', ')}): name the one to tune, e.g. ferry tune ${path} ${names[0]}`);
      name = names[0]!;
    }
    if (!names.includes(name)) throw new FerryError('MODEL_NOT_FOUND', `model "${name}" is not in the repository ${path} (models: ${names.join(', ')})`);
    dir = join(root, name);
    model = name;
  }
  const config = await configOf(dir);
  const onnxFile = await onnxIn(dir, model, config);
  return { name: model, servePath: dir, dir, ...(config && { config }), ...(onnxFile && { onnxFile }) };
}
