/**
 * `ferry convert MODEL.onnx --to ort -o OUT.ort`: ONNX Runtime's own FlatBuffer format, written
 * by ONNX Runtime itself (onnxruntime-node: optimizedModelFilePath with session config
 * save_model_format=ORT, as convert_onnx_models_to_ort does), after graph optimizations at the
 * 'extended' level: everything but the layout transforms, whose NCHWc kernels are x86-only
 * (convert_onnx_models_to_ort leaves NCHWc out for mobile targets too). Beside it,
 * OUT.required_operators.config for a reduced build, from the same optimized graph. Then the
 * .ort runs beside the .onnx on the same inputs.
 */
import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { FerryError } from '../../errors.js';
import { loadModel } from '../../onnx/io/load.js';
import { encodeModel } from '../../onnx/io/save.js';
import type { InputShape } from '../../onnx/simplify.js';
import { fixInputShapes } from '../../onnx/simplify.js';
import type { Datatype } from '../../tensors/dtype.js';
import type { NamedTensors } from '../../tensors/inputs.js';
import { randomInputs } from '../../tensors/inputs.js';
import type { OutputStats } from '../../tensors/metrics.js';
import { compareTensors, mergeStats } from '../../tensors/metrics.js';
import { fromOrtTensor, toOrtTensor } from '../../engines/onnxruntime/tensors.js';
import { requiredOperators, requiredOperatorsConfig } from './required-operators.js';

export interface OrtConvertOptions {
  /** Fix dynamic input dims in the written model (--input-shape). @defaultValue none */
  readonly inputShapes?: readonly InputShape[];
  /** The check of .ort against .onnx; false skips it. @defaultValue { count: 3 } */
  readonly verify?: false | { readonly count?: number; readonly seed?: number };
  readonly onProgress?: (line: string) => void;
}

export interface OrtParity {
  readonly trials: number;
  readonly outputs: readonly { readonly name: string; readonly shape: readonly number[]; readonly stats: OutputStats }[];
  readonly pass: boolean;
}

export interface OrtConvertReport {
  readonly input: string;
  readonly output: string;
  readonly config: string;
  readonly onnxBytes: number;
  readonly ortBytes: number;
  /** Operators of the optimized graph, by domain. */
  readonly operators: readonly { readonly domain: string; readonly opset: number; readonly ops: readonly string[] }[];
  readonly parity?: OrtParity;
  readonly ms: number;
}

export function ortOutputPath(out: string): string {
  return out.endsWith('.ort') ? out : `${out}.ort`;
}

export async function convertToOrt(input: string, out: string, options: OrtConvertOptions = {}): Promise<OrtConvertReport> {
  const t0 = performance.now();
  const progress = options.onProgress ?? (() => {});
  const output = ortOutputPath(out);
  const config = output.replace(/\.ort$/, '.required_operators.config');
  mkdirSync(dirname(resolve(output)), { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ort-'));
  try {
    let source: string | Uint8Array = input;
    if (options.inputShapes?.length) {
      const model = await loadModel(input);
      fixInputShapes(model, options.inputShapes);
      source = encodeModel(model);
    }
    progress('optimizing (extended) and writing the ORT format');
    const optimizedOnnx = join(dir, 'optimized.onnx');
    await save(source, optimizedOnnx, {});
    const tmpOrt = `${output}.tmp-${process.pid}`;
    await save(source, tmpOrt, { session: { save_model_format: 'ORT' } });
    const optimized = await loadModel(optimizedOnnx);
    const configText = requiredOperatorsConfig(optimized, [resolve(output)]);
    const tmpConfig = `${config}.tmp-${process.pid}`;
    try {
      await writeFile(tmpConfig, configText);
      await rename(tmpOrt, output);
      await rename(tmpConfig, config);
    } catch (err) {
      await rm(tmpOrt, { force: true });
      await rm(tmpConfig, { force: true });
      throw new FerryError('ONNX_WRITE_FAILED', `cannot write ${output}: ${(err as Error).message}`, { cause: err });
    }
    const operators = [...requiredOperators(optimized)].sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .flatMap(([domain, byOpset]) => [...byOpset].sort((a, b) => a[0] - b[0]).map(([opset, ops]) => ({ domain, opset, ops: [...ops].sort() })));
    let parity: OrtParity | undefined;
    if (options.verify !== false) {
      progress(`checking ${basename(output)} against ${basename(input)}`);
      parity = await checkOrt(source, output, options.verify?.count ?? 3, options.verify?.seed ?? 0);
    }
    const onnxBytes = typeof source === 'string' ? (await stat(source)).size : source.byteLength;
    return { input, output, config, onnxBytes, ortBytes: (await stat(output)).size, operators, ...(parity && { parity }), ms: performance.now() - t0 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Lets ONNX Runtime load, optimize and save the model. */
async function save(source: string | Uint8Array, path: string, extra: Record<string, unknown>): Promise<void> {
  const so: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'extended', optimizedModelFilePath: path, extra, logSeverityLevel: 3 };
  let session: ort.InferenceSession;
  try {
    session = typeof source === 'string' ? await ort.InferenceSession.create(source, so) : await ort.InferenceSession.create(source, so);
  } catch (err) {
    throw new FerryError('MODEL_LOAD_FAILED', `ONNX Runtime cannot load the model: ${(err as Error).message}`, { cause: err });
  }
  await session.release();
}

async function checkOrt(source: string | Uint8Array, ortPath: string, count: number, seed: number): Promise<OrtParity> {
  const open = async (m: string | Uint8Array, what: string): Promise<ort.InferenceSession> => {
    try {
      return typeof m === 'string' ? await ort.InferenceSession.create(m) : await ort.InferenceSession.create(m);
    } catch (err) {
      throw new FerryError('CONVERT_FAILED', `ONNX Runtime cannot load ${what}: ${(err as Error).message}`, { cause: err });
    }
  };
  const a = await open(source, 'the .onnx model');
  const b = await open(ortPath, ortPath);
  try {
    const specs = a.inputMetadata.map((m) => {
      if (!m.isTensor) throw new FerryError('CONVERT_FAILED', `input "${m.name}" is not a tensor`);
      return { name: m.name, datatype: (ortToV2(m.type) ?? 'FP32') as Datatype, shape: m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1)) };
    });
    const stats = new Map<string, OutputStats[]>();
    let shapes = new Map<string, readonly number[]>();
    for (let t = 0; t < count; t++) {
      const inputs: NamedTensors = randomInputs(specs, seed, t);
      const feeds = Object.fromEntries([...inputs].map(([k, v]) => [k, toOrtTensor(v)]));
      const [ra, rb] = [await a.run(feeds), await b.run(feeds)];
      shapes = new Map(a.outputNames.map((n) => [n, [...ra[n]!.dims]]));
      for (const n of a.outputNames) {
        const s = compareTensors(fromOrtTensor(n, rb[n]!), fromOrtTensor(n, ra[n]!), { atol: 1e-5, rtol: 1e-4 });
        stats.set(n, [...(stats.get(n) ?? []), s]);
      }
    }
    const outputs = [...stats].map(([name, list]) => ({ name, shape: shapes.get(name) ?? [], stats: mergeStats(list) }));
    return { trials: count, outputs, pass: outputs.every((o) => o.stats.pass) };
  } finally {
    await a.release();
    await b.release();
  }
}

function ortToV2(type: string): Datatype | undefined {
  const map: Record<string, Datatype> = { float32: 'FP32', float16: 'FP16', int64: 'INT64', int32: 'INT32', int8: 'INT8', uint8: 'UINT8', bool: 'BOOL', float64: 'FP64' };
  return map[type];
}
