/**
 * `ferry compare A B`: the same inputs into two models, then output-by-output metrics and a verdict
 * (Polygraphy's `run --onnxrt --trt` check, with PyTorch on one side through the bridge).
 */
import type { ModelRef } from '../bridge/model-ref.js';
import type { FindPythonOptions, FoundPython } from '../bridge/python.js';
import { findPython } from '../bridge/python.js';
import { FerryError } from '../errors.js';
import type { Datatype } from '../tensors/dtype.js';
import type { NamedTensors, ShapeOverride } from '../tensors/inputs.js';
import { matchInputs, randomInputs, resolveSpecs, specsFromOverrides } from '../tensors/inputs.js';
import type { OutputStats, Tolerance } from '../tensors/metrics.js';
import { compareTensors, mergeStats } from '../tensors/metrics.js';
import type { ModelRunner } from './runners.js';
import { BridgeRunner, OnnxRunner, TorchScriptRunner } from './runners.js';
import { NcnnRunner } from './ncnn-runner.js';
import { engineDescriptor } from '../engines/registry.js';

export interface CompareOptions extends Tolerance {
  readonly a: ModelRef;
  readonly b: ModelRef;
  /** Given inputs (--inputs); otherwise `trials` random sets. */
  readonly inputs?: NamedTensors;
  readonly overrides?: readonly ShapeOverride[];
  /** Random input sets. @defaultValue 5 */
  readonly trials?: number;
  /** Seed of the random inputs. @defaultValue 0 */
  readonly seed?: number;
  readonly python?: FindPythonOptions;
  readonly onProgress?: (line: string) => void;
}

export interface SideReport {
  readonly model: string;
  readonly engine: string;
  readonly msPerTrial: number;
}

export interface OutputReport {
  /** The output's name in A. */
  readonly name: string;
  /** Its name in B, when matched by position to a different name. */
  readonly nameB: string;
  readonly shape: readonly number[];
  readonly stats: OutputStats;
}

export interface CompareReport {
  readonly a: SideReport;
  readonly b: SideReport;
  readonly inputs: readonly { name: string; datatype: Datatype; shape: readonly number[] }[];
  readonly source: 'random' | 'file';
  readonly trials: number;
  readonly seed: number;
  readonly atol: number;
  readonly rtol: number;
  readonly outputs: readonly OutputReport[];
  readonly notes: readonly string[];
  readonly pass: boolean;
}

export async function compareModels(options: CompareOptions): Promise<CompareReport> {
  const trialsWanted = options.trials ?? 5;
  const seed = options.seed ?? 0;
  let python: Promise<FoundPython> | undefined;
  const open = async (ref: ModelRef): Promise<ModelRunner> => {
    if (ref.kind === 'onnx') return OnnxRunner.open(ref);
    if (ref.kind === 'ncnn') return new NcnnRunner(ref);
    // TorchScript runs in process on the libtorch engine when it is built; otherwise through Python.
    if (ref.kind === 'torchscript' && engineDescriptor('pytorch').unavailable() === undefined) return TorchScriptRunner.open(ref);
    python ??= findPython(options.python);
    return new BridgeRunner(ref, await python, options.onProgress);
  };
  const a = await open(options.a);
  let b: ModelRunner | undefined;
  try {
    b = await open(options.b);
    const declared = a.declared ?? b.declared;
    const declaredBy = a.declared ? a.ref.text : b.ref.text;
    let trials: NamedTensors[];
    if (options.inputs) {
      trials = [declared ? matchInputs(options.inputs, declared, declaredBy) : options.inputs];
    } else {
      const specs = declared
        ? resolveSpecs(declared, options.overrides ?? [], declaredBy)
        : specsFromOverrides(options.overrides ?? []);
      if (specs.length === 0) {
        throw new FerryError('BAD_SHAPE', 'neither model declares its inputs (ONNX does, and TorchScript made by ferry export): give each with --input-shape NAME:D1,D2,... (or --inputs FILE.npz)');
      }
      trials = Array.from({ length: trialsWanted }, (_, t) => randomInputs(specs, seed, t));
    }

    const ra = await a.run(trials);
    const rb = await b.run(trials);
    const notes: string[] = [];
    const pairs = matchOutputs([...ra.outputs[0]!.keys()], [...rb.outputs[0]!.keys()], notes);
    const outputs: OutputReport[] = pairs.map(([na, nb]) => {
      const per = trials.map((_, t) => compareTensors(ra.outputs[t]!.get(na)!, rb.outputs[t]!.get(nb)!, options));
      return { name: na, nameB: nb, shape: [...ra.outputs[0]!.get(na)!.shape], stats: mergeStats(per) };
    });
    const first = trials[0]!;
    return {
      a: { model: a.ref.text, engine: a.engine, msPerTrial: ra.msPerTrial },
      b: { model: b.ref.text, engine: b.engine, msPerTrial: rb.msPerTrial },
      inputs: [...first].map(([name, t]) => ({ name, datatype: t.datatype, shape: [...t.shape] })),
      source: options.inputs ? 'file' : 'random',
      trials: trials.length,
      seed,
      atol: options.atol,
      rtol: options.rtol,
      outputs,
      notes,
      pass: outputs.length > 0 && outputs.every((o) => o.stats.pass) && !notes.some((n) => n.startsWith('unmatched')),
    };
  } finally {
    await a.close();
    await b?.close();
  }
}

/** Pairs outputs by name; else, when the counts agree, by position (with a note). */
export function matchOutputs(namesA: readonly string[], namesB: readonly string[], notes: string[]): [string, string][] {
  const common = namesA.filter((n) => namesB.includes(n));
  if (common.length === namesA.length && common.length === namesB.length) return namesA.map((n) => [n, n]);
  if (namesA.length === namesB.length) {
    notes.push(`outputs matched by position (names differ): ${namesA.map((n, i) => `${n} ~ ${namesB[i]}`).join(', ')}`);
    return namesA.map((n, i) => [n, namesB[i]!]);
  }
  const onlyA = namesA.filter((n) => !namesB.includes(n));
  const onlyB = namesB.filter((n) => !namesA.includes(n));
  notes.push(`unmatched outputs: ${[...onlyA.map((n) => `A.${n}`), ...onlyB.map((n) => `B.${n}`)].join(', ')} (A has ${namesA.length}, B ${namesB.length})`);
  return common.map((n) => [n, n]);
}
