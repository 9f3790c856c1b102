/**
 * The two sides of `ferry compare`: an ONNX model run in process on onnxruntime-node; a
 * TorchScript file run in process on ferry's libtorch engine when it is built; or a TorchScript
 * file / PyTorch factory run through the Python bridge (one bridge process for all trials;
 * tensors cross as .npz files in a temporary directory).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import type { ModelRef } from '../bridge/model-ref.js';
import { kindLabel } from '../bridge/model-ref.js';
import type { FoundPython } from '../bridge/python.js';
import { runBridge } from '../bridge/bridge.js';
import { fromOrtType } from '../tensors/dtype.js';
import { fromOrtTensor, ortVersion, toOrtTensor } from '../engines/onnxruntime/tensors.js';
import type { Tensor } from '../tensors/tensor.js';
import { readNpz, writeNpz } from '../tensors/npy.js';
import { FerryError } from '../errors.js';
import type { DeclaredInput, NamedTensors } from '../tensors/inputs.js';
import type { Engine } from '../engines/engine.js';
import { createEngine } from '../engines/registry.js';
import { NoSignatureError } from '../engines/libtorch/signature.js';

export interface RunReport {
  /** Outputs of each trial, in the model's output order. */
  readonly outputs: NamedTensors[];
  /** Mean wall time of one trial's inference, ms (model loading excluded). */
  readonly msPerTrial: number;
}

export interface ModelRunner {
  readonly ref: ModelRef;
  /** "ONNX (onnxruntime-node 1.30.0)", "PyTorch eager (torch 1.13.0, /usr/bin/python3)". */
  engine: string;
  /** Declared inputs, when the format declares them (ONNX). */
  readonly declared?: readonly DeclaredInput[];
  run(trials: readonly NamedTensors[]): Promise<RunReport>;
  close(): Promise<void>;
}

export class OnnxRunner implements ModelRunner {
  readonly ref: ModelRef;
  readonly engine: string;
  readonly declared: readonly DeclaredInput[];
  readonly #session: ort.InferenceSession;

  private constructor(ref: ModelRef, session: ort.InferenceSession) {
    this.ref = ref;
    this.#session = session;
    this.engine = `ONNX (${ortVersion()})`;
    this.declared = session.inputMetadata.map((m) => {
      if (!m.isTensor) throw new FerryError('MODEL_LOAD_FAILED', `${ref.text}: input "${m.name}" is not a tensor`);
      const info = fromOrtType(m.type);
      if (!info) throw new FerryError('MODEL_LOAD_FAILED', `${ref.text}: input "${m.name}" has type ${m.type}, which ferry does not feed`);
      return { name: m.name, datatype: info.v2, dims: m.shape.map((d) => (typeof d === 'number' ? d : d === '' ? -1 : d)) };
    });
  }

  static async open(ref: ModelRef): Promise<OnnxRunner> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(ref.path, { graphOptimizationLevel: 'all' });
    } catch (err) {
      throw new FerryError('MODEL_LOAD_FAILED', `${ref.text}: onnxruntime cannot load it: ${(err as Error).message}`, { cause: err });
    }
    return new OnnxRunner(ref, session);
  }

  async run(trials: readonly NamedTensors[]): Promise<RunReport> {
    const outputs: NamedTensors[] = [];
    let ms = 0;
    for (const inputs of trials) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const d of this.declared) {
        const t = inputs.get(d.name);
        if (!t) throw new FerryError('MISSING_INPUT', `${this.ref.text} needs input "${d.name}"; given ${[...inputs.keys()].join(', ')}`);
        feeds[d.name] = toOrtTensor(t);
      }
      let result: ort.InferenceSession.ReturnType;
      let t0 = performance.now();
      try {
        if (outputs.length === 0) { // one untimed warm-up run, as the bridge does
          await this.#session.run(feeds);
          t0 = performance.now();
        }
        result = await this.#session.run(feeds);
      } catch (err) {
        throw new FerryError('INFERENCE_FAILED', `${this.ref.text}: onnxruntime failed: ${(err as Error).message}`, { cause: err });
      }
      ms += performance.now() - t0;
      outputs.push(new Map(this.#session.outputNames.map((n) => [n, fromOrtTensor(n, result[n]!)])));
    }
    return { outputs, msPerTrial: trials.length ? ms / trials.length : 0 };
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}

/** A tensor on a fresh buffer: the engine takes its inputs' buffers, and both sides get the same trials. */
function copied(t: Tensor): Tensor {
  return { datatype: t.datatype, shape: [...t.shape], data: t.data.slice() };
}

/**
 * A TorchScript file on ferry's libtorch engine, in process, without Python. A file that records
 * its signature (ferry export) declares its inputs; a bare one takes the trials' names, datatypes
 * and shapes (it opens on the first trial).
 */
export class TorchScriptRunner implements ModelRunner {
  readonly ref: ModelRef;
  engine: string;
  readonly declared?: readonly DeclaredInput[];
  #engine: Engine | undefined;

  private constructor(ref: ModelRef, engine: Engine | undefined) {
    this.ref = ref;
    this.#engine = engine;
    this.engine = `TorchScript (ferry's ${(engine as { runtime?: string } | undefined)?.runtime ?? 'libtorch'} engine)`;
    if (engine) this.declared = engine.metadata.inputs.map((i) => ({ name: i.name, datatype: i.datatype, dims: [...i.dims] }));
  }

  static async open(ref: ModelRef): Promise<TorchScriptRunner> {
    try {
      return new TorchScriptRunner(ref, await createEngine('pytorch', { modelPath: ref.path, warmup: false }));
    } catch (err) {
      if (err instanceof NoSignatureError) return new TorchScriptRunner(ref, undefined);
      throw err;
    }
  }

  async run(trials: readonly NamedTensors[]): Promise<RunReport> {
    if (!this.#engine && trials[0]) {
      const inputs = [...trials[0]].map(([name, t]) => ({ name, datatype: t.datatype, dims: [...t.shape] }));
      this.#engine = await createEngine('pytorch', { modelPath: this.ref.path, warmup: false, declared: { maxBatchSize: 0, inputs }, source: this.ref.text });
      this.engine = `TorchScript (ferry's ${(this.#engine as { runtime?: string }).runtime ?? 'libtorch'} engine)`;
    }
    const outputs: NamedTensors[] = [];
    let ms = 0;
    for (const inputs of trials) {
      const feeds = (): Record<string, Tensor> => Object.fromEntries([...inputs].map(([n, t]) => [n, copied(t)]));
      // Untimed warm-up: TorchScript's profiling executor profiles the first call and optimizes on the second.
      if (outputs.length === 0) for (let w = 0; w < 2; w++) await this.#engine!.run(feeds());
      const t0 = performance.now();
      const r = await this.#engine!.run(feeds());
      ms += performance.now() - t0;
      outputs.push(new Map(Object.entries(r.outputs)));
    }
    return { outputs, msPerTrial: trials.length ? ms / trials.length : 0 };
  }

  async close(): Promise<void> {
    await this.#engine?.dispose();
  }
}

interface BridgeRunResult {
  kind: string;
  load_s: number;
  runs: { inputs: string[]; outputs: { name: string; shape: number[]; dtype: string }[]; ms: number }[];
  torch_version: string;
  python: string;
}

/** A TorchScript file or MODULE.py:FACTORY, run by `python -m ferry_bridge run`. */
export class BridgeRunner implements ModelRunner {
  readonly ref: ModelRef;
  engine: string;
  readonly #python: FoundPython;
  readonly #onProgress: ((line: string) => void) | undefined;

  constructor(ref: ModelRef, python: FoundPython, onProgress?: (line: string) => void) {
    this.ref = ref;
    this.#python = python;
    this.#onProgress = onProgress;
    this.engine = `${kindLabel(ref)} (${python.executable})`;
  }

  async run(trials: readonly NamedTensors[]): Promise<RunReport> {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-compare-'));
    try {
      const args: string[] = [this.ref.text];
      for (let i = 0; i < trials.length; i++) {
        const inPath = join(dir, `in_${i}.npz`);
        await writeNpz(inPath, trials[i]!);
        args.push('--inputs', inPath, '--outputs', join(dir, `out_${i}.npz`));
      }
      const result = await runBridge<BridgeRunResult>('run', args, { python: this.#python, ...(this.#onProgress && { onProgress: this.#onProgress }) });
      this.engine = `${kindLabel(this.ref)} (torch ${result.torch_version}, ${result.python})`;
      const outputs: NamedTensors[] = [];
      for (let i = 0; i < trials.length; i++) outputs.push(await readNpz(join(dir, `out_${i}.npz`)));
      const ms = result.runs.reduce((s, r) => s + r.ms, 0) / Math.max(1, result.runs.length);
      return { outputs, msPerTrial: ms };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {}
}
