/**
 * `ferry convert MODEL.onnx --to ncnn -o OUT`: builds the net, stores weights as asked (fp32,
 * fp16, or int8 after calibration), writes OUT.param and OUT.bin (OUT.table for int8, and
 * OUT.io.json: the ONNX names and dims of the input and output blobs) under
 * temporary names renamed into place only when all are written, then checks the written model
 * in the real ncnn runtime against ONNX Runtime.
 *
 *   const report = await convertToNcnn('model.onnx', 'out/model', { fp16: true });
 *   report.parity?.minCosine   // 0.99999...
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FerryError } from '../../errors.js';
import type { NamedTensors } from '../../tensors/inputs.js';
import { loadModel } from '../../onnx/io/load.js';
import type { BlobBinding, BuildOptions } from './build.js';
import { buildNet } from './build.js';
import type { WeightStorage } from './bin-writer.js';
import { writeBin } from './bin-writer.js';
import { writeParam } from './param-writer.js';
import type { ParityReport } from './parity.js';
import { checkParity } from './parity.js';
import type { Int8Options, Int8Report } from './int8/quantize-net.js';
import { quantizeNet } from './int8/quantize-net.js';
import { writeTable } from './int8/table.js';

export interface NcnnConvertOptions extends BuildOptions {
  /** Store convolution / InnerProduct weights as fp16 (ncnnoptimize's storage type 1). @defaultValue false */
  readonly fp16?: boolean;
  /** Calibrate and store int8 Convolution / ConvolutionDepthWise / InnerProduct. @defaultValue none */
  readonly int8?: Int8Options;
  /** The parity check after writing; false skips it. @defaultValue { count: 3 } */
  readonly verify?: false | { readonly count?: number; readonly seed?: number; readonly threads?: number; readonly trials?: readonly NamedTensors[] };
  readonly onProgress?: (line: string) => void;
}

export interface NcnnConvertReport {
  readonly input: string;
  readonly param: string;
  readonly bin: string;
  /** The ncnn2table-format calibration table (int8 only). */
  readonly table?: string;
  readonly storage: 'fp32' | 'fp16' | 'int8';
  readonly layers: number;
  readonly blobs: number;
  /** Layers by type, most first. */
  readonly layerTypes: readonly (readonly [string, number])[];
  readonly binBytes: number;
  readonly nodes: number;
  readonly passes: Readonly<Record<string, number>>;
  readonly inputs: readonly BlobBinding[];
  readonly outputs: readonly BlobBinding[];
  readonly int8?: Int8Report;
  /** The check in ncnn; undefined when skipped (`parityNote` says why). */
  readonly parity?: ParityReport;
  readonly parityNote?: string;
  readonly ms: number;
}

/** Where the I/O manifest of OUT.param is: OUT.io.json (ONNX names and dims of the blobs, for `ferry compare`). */
export function ioManifestPath(param: string): string {
  return `${outputBase(param)}.io.json`;
}

/** The manifest: each graph input and output, its blob, its ONNX dims and its ncnn dims. */
export function ioManifest(inputs: readonly BlobBinding[], outputs: readonly BlobBinding[]): { inputs: BlobBinding[]; outputs: BlobBinding[] } {
  return { inputs: [...inputs], outputs: [...outputs] };
}

/** OUT without a .param / .bin suffix. */
export function outputBase(out: string): string {
  return out.replace(/\.(param|bin)$/, '');
}

export async function convertToNcnn(input: string, out: string, options: NcnnConvertOptions = {}): Promise<NcnnConvertReport> {
  const t0 = performance.now();
  const progress = options.onProgress ?? (() => {});
  const base = outputBase(out);
  progress(`loading ${input}`);
  const model = await loadModel(input);
  progress('simplifying and converting');
  const built = await buildNet(model, options);
  const { net } = built;
  let int8: Int8Report | undefined;
  let table: string | undefined;
  if (options.int8) {
    progress(`calibrating on ${options.int8.data} (${options.int8.method ?? 'kl'})`);
    int8 = await quantizeNet(built, input, { ...options.int8, onProgress: progress });
    table = writeTable(int8.scales);
  }
  const storage: WeightStorage = options.fp16 ? 'fp16' : 'fp32';
  const param = writeParam(net);
  const bin = writeBin(net, storage);
  const io = `${JSON.stringify(ioManifest(built.inputs, built.outputs), null, 2)}\n`;
  const files = { param: `${base}.param`, bin: `${base}.bin`, io: ioManifestPath(`${base}.param`), ...(table !== undefined && { table: `${base}.table` }) };
  await writeAll(files, { param, bin, io, ...(table !== undefined && { table }) });
  progress(`wrote ${files.param} (${net.layers.length} layers) and ${files.bin} (${bin.byteLength} bytes)`);
  const counts = new Map<string, number>();
  for (const l of net.layers) counts.set(l.type, (counts.get(l.type) ?? 0) + 1);
  let parity: ParityReport | undefined;
  let parityNote: string | undefined;
  if (options.verify !== false) {
    progress('checking the ncnn model against ONNX Runtime');
    try {
      parity = await checkParity({
        onnx: input, param: files.param, bin: files.bin, inputs: built.inputs, outputs: built.outputs,
        ...(options.verify?.trials ? { trials: options.verify.trials } : int8?.evalTrials && { trials: int8.evalTrials }),
        count: options.verify?.count ?? 3, seed: options.verify?.seed ?? 0, threads: options.verify?.threads ?? 1,
      });
    } catch (err) {
      if ((err as FerryError).code !== 'NCNN_UNAVAILABLE') throw err;
      parityNote = `not checked: ${(err as Error).message}`;
    }
  }
  return {
    input, param: files.param, bin: files.bin, ...(files.table && { table: files.table }),
    storage: int8 ? 'int8' : storage, layers: net.layers.length, blobs: net.blobs().size,
    layerTypes: [...counts].sort((a, b) => b[1] - a[1]), binBytes: bin.byteLength, nodes: built.nodes, passes: built.passes,
    inputs: built.inputs, outputs: built.outputs, ...(int8 && { int8 }), ...(parity && { parity }), ...(parityNote && { parityNote }),
    ms: performance.now() - t0,
  };
}

/** Writes every file under a temporary name, then renames them all; on failure none is left. */
async function writeAll(paths: Record<string, string>, contents: Record<string, string | Uint8Array>): Promise<void> {
  const entries = Object.entries(paths);
  await mkdir(dirname(entries[0]![1]), { recursive: true });
  const tmp = entries.map(([k, path]) => [k, path, `${path}.tmp-${process.pid}`] as const);
  try {
    for (const [k, , t] of tmp) await writeFile(t, contents[k]!);
    for (const [, path, t] of tmp) await rename(t, path);
  } catch (err) {
    await Promise.all(tmp.map(([, , t]) => rm(t, { force: true })));
    throw new FerryError('ONNX_WRITE_FAILED', `cannot write ${entries.map(([, p]) => p).join(', ')}: ${(err as Error).message}`, { cause: err });
  }
}
