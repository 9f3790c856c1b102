/**
 * Calibration and evaluation data: a folder of images, preprocessed as the model's serving config
 * declares (`image:` in config.yaml: the same decode, resize and normalize the server applies), or
 * an .npy / .npz of ready tensors whose first axis is the sample. With labels for evaluation:
 * one sub-folder per class (named by class index, or by its label in the labels file), or an
 * .npz with `labels` (or `y`) beside the inputs.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Datatype, TypedArray } from '../tensors/dtype.js';
import { DATATYPES } from '../tensors/dtype.js';
import type { Tensor } from '../tensors/tensor.js';
import { allocate, viewElements } from '../tensors/tensor.js';
import { readNpy, readNpz } from '../tensors/npy.js';
import type { NamedTensors } from '../tensors/inputs.js';
import type { ImageConfig, ModelConfig } from '../repository/config.js';
import { parseModelConfig } from '../repository/config.js';
import { decodeImage, imageSource } from '../preprocess/image.js';
import { FerryError } from '../errors.js';

/** A model input as the data must fit it: dims are numbers, or strings / -1 for dynamic ones. */
export interface ModelInput {
  readonly name: string;
  readonly datatype: Datatype;
  readonly dims: readonly (number | string)[];
}

/** Samples, read a batch at a time. */
export interface Dataset {
  /** Number of samples. */
  readonly size: number;
  /** "500 images in DIR (preprocessed as config.yaml declares)": for reports. */
  readonly description: string;
  /** Class index of each sample, when the data is labelled. */
  readonly labels?: Int32Array;
  /** Shape of one sample of each input (no batch axis). */
  readonly sampleShapes: ReadonlyMap<string, readonly number[]>;
  /** Samples [start, start + count) stacked along a new first axis, per input. */
  batch(start: number, count: number): Promise<NamedTensors>;
}

export interface DatasetOptions {
  /** The model's inputs (graph inputs that are not initializers). */
  readonly inputs: readonly ModelInput[];
  /** The ONNX file: its repository folder's config is the default for images. */
  readonly modelPath: string;
  /** A config.yaml / config.json with an `image:` block. @defaultValue the model repository's config */
  readonly configPath?: string;
  /** Labels are required (evaluation). @defaultValue false */
  readonly labelled?: boolean;
  /** Class names, one a line, for class folders named by label. @defaultValue the config's label_filename */
  readonly labelsPath?: string;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);
const LABEL_KEYS = ['labels', 'label', 'y'];

function bad(message: string, cause?: unknown): FerryError {
  return new FerryError('BAD_CALIBRATION_DATA', message, cause === undefined ? {} : { cause });
}

/** Opens DATA: a directory of images, an .npz, or an .npy. */
export async function openDataset(path: string, options: DatasetOptions): Promise<Dataset> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw bad(`${path}: no such file or directory`, err);
  }
  if (isDir) return imageDataset(path, options);
  if (path.endsWith('.npz')) return tensorDataset(path, await readNpz(path), options);
  if (path.endsWith('.npy')) {
    if (options.inputs.length !== 1) throw bad(`${path}: an .npy holds one tensor, but the model has ${options.inputs.length} inputs (${options.inputs.map((i) => i.name).join(', ')}): give an .npz with one array per input`);
    if (options.labelled) throw bad(`${path}: evaluation needs labels: give an .npz with the inputs and "labels", or a folder of class sub-folders`);
    return tensorDataset(path, new Map([[options.inputs[0]!.name, await readNpy(path)]]), options);
  }
  throw bad(`${path}: give a folder of images, an .npz or an .npy`);
}

// ---- tensors -----------------------------------------------------------------------------------

function tensorDataset(path: string, arrays: Map<string, Tensor>, options: DatasetOptions): Dataset {
  const labelKey = LABEL_KEYS.find((k) => arrays.has(k) && !options.inputs.some((i) => i.name === k));
  const dataKeys = [...arrays.keys()].filter((k) => k !== labelKey);
  const chosen = new Map<string, Tensor>();
  for (const input of options.inputs) {
    let key = arrays.has(input.name) ? input.name : undefined;
    if (key === undefined && options.inputs.length === 1) key = arrays.has('x') ? 'x' : dataKeys.length === 1 ? dataKeys[0] : undefined;
    if (key === undefined) throw bad(`${path}: no array for model input "${input.name}" (the file holds ${[...arrays.keys()].join(', ')}); name the arrays after the inputs${options.inputs.length === 1 ? ', or call it x' : ''}`);
    const t = arrays.get(key)!;
    if (t.datatype !== input.datatype) throw bad(`${path}: array "${key}" is ${t.datatype}, model input "${input.name}" takes ${input.datatype} (give ready tensors: preprocessed, in the model's dtype)`);
    chosen.set(input.name, fitSamples(t, input, `${path}: array "${key}"`));
  }
  const sizes = [...chosen.values()].map((t) => t.shape[0]!);
  const size = sizes[0] ?? 0;
  if (sizes.some((s) => s !== size)) throw bad(`${path}: the input arrays hold different numbers of samples (${sizes.join(', ')})`);
  if (size === 0) throw bad(`${path}: holds no samples`);
  let labels: Int32Array | undefined;
  if (labelKey) {
    const l = arrays.get(labelKey)!;
    if (l.shape.length !== 1 || l.shape[0] !== size) throw bad(`${path}: "${labelKey}" must be 1-D with one class index per sample (${size}); it is [${l.shape.join(',')}]`);
    labels = Int32Array.from(l.data as ArrayLike<number | bigint>, (v) => Number(v));
  } else if (options.labelled) {
    throw bad(`${path}: evaluation needs labels: add an array "labels" (class index per sample)`);
  }
  const sampleShapes = new Map([...chosen].map(([k, t]) => [k, t.shape.slice(1)]));
  return {
    size,
    description: `${size} samples from ${path}`,
    ...(labels && { labels }),
    sampleShapes,
    async batch(start, count) {
      const out: NamedTensors = new Map();
      for (const [name, t] of chosen) {
        const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
        out.set(name, { datatype: t.datatype, shape: [count, ...t.shape.slice(1)], data: viewElements(t.data, start * per, count * per) });
      }
      return out;
    },
  };
}

/** Checks an array against the model's dims (first axis = samples); reshapes when only the layout of one sample differs in rank ([N,28,28] for [N,1,28,28]). */
function fitSamples(t: Tensor, input: ModelInput, what: string): Tensor {
  const want = input.dims.slice(1);
  const sample = t.shape.slice(1);
  const fits = (shape: readonly number[]) => shape.length === want.length && want.every((d, i) => typeof d !== 'number' || d < 0 || d === shape[i]);
  if (t.shape.length >= 1 && fits(sample)) return t;
  if (t.shape.length >= 1 && want.every((d) => typeof d === 'number' && d >= 0)) {
    const per = (want as number[]).reduce((a, b) => a * b, 1);
    const have = sample.reduce((a, b) => a * b, 1);
    if (per === have) return { ...t, shape: [t.shape[0]!, ...(want as number[])] };
  }
  throw bad(`${what} is [${t.shape.join(',')}]; model input "${input.name}" takes [${input.dims.join(',')}] (first axis = samples)`);
}

// ---- images ------------------------------------------------------------------------------------

/** The config to preprocess images with: --config, else config.yaml/.yml/.json of the model repository folder (model/<version>/model.onnx). */
export async function findImageConfig(modelPath: string, configPath?: string): Promise<{ config: ModelConfig; image: ImageConfig; file: string }> {
  let file = configPath;
  if (file === undefined) {
    const repo = dirname(dirname(modelPath));
    file = ['config.yaml', 'config.yml', 'config.json'].map((n) => join(repo, n)).find((f) => existsSync(f));
    if (!file) throw bad(`images need the preprocessing of the model's serving config: no config.yaml/.json in ${repo} (the folder above ${modelPath}'s version folder); give one with --config FILE`);
  }
  let raw: unknown;
  try {
    const text = await readFile(file, 'utf8');
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new FerryError('CONFIG_INVALID', `${file}: cannot be read as ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { cause: err });
  }
  const name = typeof (raw as { name?: unknown })?.name === 'string' ? (raw as { name: string }).name : basename(dirname(file));
  const config = parseModelConfig(raw, file, name);
  if (!config.image) throw bad(`${file} declares no image: block, so images cannot be preprocessed for this model: add one, or give ready tensors as .npz`);
  return { config, image: config.image, file };
}

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

const normalizeLabel = (s: string): string => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim(); // 'T-shirt/top' = 't-shirt_top'

async function imageDataset(dir: string, options: DatasetOptions): Promise<Dataset> {
  const { config, image, file } = await findImageConfig(options.modelPath, options.configPath);
  const inputName = image.input ?? options.inputs[0]?.name;
  const input = options.inputs.find((i) => i.name === inputName);
  if (!input) throw bad(`${file}: image.input "${inputName}" is not an input of the model (${options.inputs.map((i) => i.name).join(', ')})`);
  if (options.inputs.length !== 1) throw bad(`images feed one input, but the model has ${options.inputs.length}: give an .npz with one array per input`);
  const files = await listImages(dir);
  if (files.length === 0) throw bad(`${dir}: holds no .png, .jpg, .jpeg or .webp images`);
  const c = image.color === 'gray' ? 1 : 3;
  const sample = image.layout === 'NCHW' ? [c, image.height, image.width] : [image.height, image.width, c];
  const want = input.dims.slice(1);
  if (want.length !== sample.length || want.some((d, i) => typeof d === 'number' && d >= 0 && d !== sample[i])) {
    throw bad(`${file}: the image block makes [${sample.join(',')}] per image, model input "${input.name}" takes [${input.dims.join(',')}]`);
  }
  let labels: Int32Array | undefined;
  if (options.labelled) labels = await folderLabels(dir, files, config, file, options.labelsPath);
  const per = sample.reduce((a, b) => a * b, 1);
  const limits = { maxPixels: 40_000_000 };
  return {
    size: files.length,
    description: `${files.length} images in ${dir} (preprocessed as ${file} declares)`,
    ...(labels && { labels }),
    sampleShapes: new Map([[input.name, sample]]),
    async batch(start, count) {
      const data: TypedArray = allocate(input.datatype, count * per);
      await Promise.all(files.slice(start, start + count).map(async (f, k) => {
        let bytes: Buffer;
        try {
          bytes = await readFile(f);
        } catch (err) {
          throw bad(`${f}: cannot be read (${(err as Error).message})`, err);
        }
        let pixels;
        try {
          pixels = await decodeImage(bytes, image, limits);
        } catch (err) {
          throw bad(`${f}: ${(err as Error).message}`, err);
        }
        imageSource(input.name, input.datatype, pixels, image, false).writeInto(data, k * per);
      }));
      return new Map([[input.name, { datatype: input.datatype, shape: [count, ...sample], data }]]);
    },
  };
}

/** Class index of each image from its first-level folder: an index, or a label of the labels file. */
async function folderLabels(dir: string, files: readonly string[], config: ModelConfig, configFile: string, labelsPath?: string): Promise<Int32Array> {
  const classOf = (f: string): string | undefined => {
    const parts = relative(dir, f).split(/[\\/]/);
    return parts.length >= 2 ? parts[0] : undefined;
  };
  const names = [...new Set(files.map(classOf))];
  if (names.includes(undefined)) throw bad(`${dir}: evaluation needs one sub-folder per class (named by class index or label); images lie directly in it`);
  let index: (name: string) => number | undefined = (name) => (/^\d+$/.test(name) ? Number(name) : undefined);
  if (!names.every((n) => /^\d+$/.test(n!))) {
    const file = labelsPath ?? (() => {
      const out = config.outputs?.find((o) => o.labelFile);
      return out?.labelFile ? join(dirname(configFile), out.labelFile) : undefined;
    })();
    if (!file) throw bad(`${dir}: class folders are named by label (${names.slice(0, 3).join(', ')}...), but no labels file is known: give --labels FILE or a label_filename in ${configFile}`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw bad(`labels file ${file} cannot be read (${(err as Error).message})`, err);
    }
    const byName = new Map(text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l, i) => [normalizeLabel(l), i]));
    index = (name) => (/^\d+$/.test(name) ? Number(name) : byName.get(normalizeLabel(name)));
  }
  const labels = new Int32Array(files.length);
  files.forEach((f, i) => {
    const name = classOf(f)!;
    const k = index(name);
    if (k === undefined) throw bad(`${dir}: class folder "${name}" is neither a class index nor a label of the labels file`);
    labels[i] = k;
  });
  return labels;
}

/** A dataset of a contiguous part of another: samples [from, from + size). */
export function subset(data: Dataset, from: number, size: number, description: string): Dataset {
  const n = Math.max(0, Math.min(size, data.size - from));
  return {
    size: n,
    description,
    ...(data.labels && { labels: data.labels.subarray(from, from + n) }),
    sampleShapes: data.sampleShapes,
    batch: (start, count) => data.batch(from + start, count),
  };
}

/** Bytes of one sample of every input: to size batches. */
export function sampleBytes(data: Dataset, inputs: readonly ModelInput[]): number {
  let bytes = 0;
  for (const i of inputs) bytes += (data.sampleShapes.get(i.name) ?? []).reduce((a, b) => a * b, 1) * DATATYPES[i.datatype].bytes;
  return bytes;
}
