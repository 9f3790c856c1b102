/**
 * The ncnn side of `ferry compare A B` (B = OUT.param of `ferry convert --to ncnn`): the model
 * runs in the real ncnn runtime (PyPI ncnn). Its inputs and outputs, with their ONNX dims, come
 * from OUT.io.json beside it; without one, from the .param's Input layers (ONNX dims = [1, ...])
 * and the blobs no layer reads.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ModelRef } from '../bridge/model-ref.js';
import { FerryError } from '../errors.js';
import type { BlobBinding } from '../targets/ncnn/build.js';
import { ioManifestPath, outputBase } from '../targets/ncnn/convert.js';
import { findNcnnPython, runNcnn } from '../targets/ncnn/runtime.js';
import type { DeclaredInput, NamedTensors } from '../tensors/inputs.js';
import type { ModelRunner, RunReport } from './runners.js';

export class NcnnRunner implements ModelRunner {
  readonly ref: ModelRef;
  engine: string;
  readonly declared: readonly DeclaredInput[];
  readonly #io: { inputs: BlobBinding[]; outputs: BlobBinding[] };

  constructor(ref: ModelRef) {
    this.ref = ref;
    this.#io = readIo(ref.path);
    this.declared = this.#io.inputs.map((i) => ({ name: i.name, datatype: 'FP32', dims: [...i.shape] }));
    this.engine = `ncnn ${findNcnnPython().version} (PyPI bindings, 1 thread, fp32)`;
  }

  async run(trials: readonly NamedTensors[]): Promise<RunReport> {
    const r = await runNcnn(trials, { param: this.ref.path, bin: `${outputBase(this.ref.path)}.bin`, inputs: this.#io.inputs, outputs: this.#io.outputs });
    return { outputs: r.outputs, msPerTrial: r.ms.reduce((a, b) => a + b, 0) / Math.max(1, r.ms.length) };
  }

  async close(): Promise<void> {}
}

function readIo(param: string): { inputs: BlobBinding[]; outputs: BlobBinding[] } {
  const manifest = ioManifestPath(param);
  if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8'));
  let text: string;
  try {
    text = readFileSync(param, 'utf8');
  } catch (err) {
    throw new FerryError('MODEL_LOAD_FAILED', `${param}: cannot be read (${(err as Error).message})`, { cause: err });
  }
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines[0] !== '7767517') throw new FerryError('MODEL_LOAD_FAILED', `${param} is not an ncnn .param file (no 7767517 magic)`);
  const inputs: BlobBinding[] = [];
  const produced: string[] = [];
  const read = new Set<string>();
  for (const line of lines.slice(2)) {
    const [type, , nin, nout, ...rest] = line.split(/\s+/);
    const bottoms = rest.slice(0, Number(nin));
    const tops = rest.slice(Number(nin), Number(nin) + Number(nout));
    for (const b of bottoms) read.add(b);
    produced.push(...tops);
    if (type === 'Input') {
      const kv = new Map(rest.slice(Number(nin) + Number(nout)).map((p) => p.split('=') as [string, string]));
      const dims = ['2', '11', '1', '0'].map((k) => kv.get(k)).filter((v): v is string => v !== undefined && v !== '0').map(Number);
      inputs.push({ name: tops[0]!, blob: tops[0]!, shape: [1, ...dims], ncnnShape: dims });
    }
  }
  const outputs = produced.filter((b) => !read.has(b) && !inputs.some((i) => i.blob === b)).map((b) => ({ name: b, blob: b, shape: [], ncnnShape: [] }));
  if (outputs.length) throw new FerryError('MODEL_LOAD_FAILED', `${param}: no ${manifest} beside it to say the ONNX dims of its outputs (${outputs.map((o) => o.blob).join(', ')}): convert with ferry convert --to ncnn, which writes it`);
  return { inputs, outputs };
}
