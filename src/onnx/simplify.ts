/**
 * `ferry simplify`'s engine: onnx-simplifier and onnxoptimizer's passes that matter for serving,
 * run to a fixed point, then a check on ONNX Runtime that the result computes what the original
 * does. A model that does not pass the check is not written.
 *
 *   const report = await simplifyFile('in.onnx', 'out.onnx', { inputShapes: [{ name: 'x', shape: [1, 3, 224, 224] }] });
 *   report.written   // false when an output differed beyond tolerance (report.failure says which)
 *
 * simplifyModel() runs the passes alone, in place, on a loaded model.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import ort from 'onnxruntime-node';
import { FerryError } from '../errors.js';
import type { Datatype } from '../tensors/dtype.js';
import type { NamedTensors } from '../tensors/inputs.js';
import { randomInputs } from '../tensors/inputs.js';
import type { OutputStats, Tolerance } from '../tensors/metrics.js';
import { compareTensors, mergeStats } from '../tensors/metrics.js';
import { fromOrtTensor, toOrtTensor } from '../engines/onnxruntime/tensors.js';
import type { Model } from './ir/model.js';
import { dataTypeInfo, dataTypeName } from './ir/data-type.js';
import type { Dim } from './ir/value-info.js';
import { loadModel } from './io/load.js';
import { encodeModel, saveModel } from './io/save.js';
import { MAX_PROTOBUF_BYTES, serializeModel } from './io/serialize.js';
import type { ShapeTable } from './shape-inference.js';
import { isStatic } from './shape-inference.js';
import type { Pass } from './passes/pass.js';
import { createPassContext } from './passes/pass.js';
import { PASSES } from './passes/registry.js';
import { allGraphs, countNodes } from './passes/util.js';

/** One --input-shape: the dims of a graph input (by name, or the n-th unnamed one for the n-th input). */
export interface InputShape {
  readonly name?: string;
  readonly shape: readonly number[];
}

export interface SimplifyOptions {
  /**
   * Fix graph inputs' dims (onnxsim's --overwrite-input-shape): the result is declared with, and
   * only valid for, these dims, and shape arithmetic on them folds away. @defaultValue none
   */
  readonly inputShapes?: readonly InputShape[];
  /** Names of passes not to run. @defaultValue [] */
  readonly skip?: readonly string[];
  /** The passes to run, in order. @defaultValue PASSES (passes/registry.ts) */
  readonly passes?: readonly Pass[];
  /** Rounds of all passes at most; a round in which no pass changes anything ends it. @defaultValue 10 */
  readonly maxRounds?: number;
  /** See PassContext.foldSizeLimitBytes. @defaultValue 1 MiB */
  readonly foldSizeLimitBytes?: number;
}

export interface PassStats {
  readonly name: string;
  /** Times it ran (once per round). */
  readonly runs: number;
  /** Rewrites it made, all rounds together. */
  readonly changes: number;
  /** Nodes it removed (net; subgraphs included). */
  readonly nodesRemoved: number;
  /** Time spent in it, ms. */
  readonly ms: number;
}

export interface SimplifyResult {
  /** Rounds run; `converged` is false when the last one still changed something. */
  readonly rounds: number;
  readonly converged: boolean;
  /** Per pass, in registry order (skipped passes left out). */
  readonly passes: readonly PassStats[];
  readonly nodesBefore: number;
  readonly nodesAfter: number;
  readonly ms: number;
}

/** Runs the passes on `model`, in place, until none changes anything (or maxRounds). */
export async function simplifyModel(model: Model, options: SimplifyOptions = {}): Promise<SimplifyResult> {
  const t0 = performance.now();
  const all = options.passes ?? PASSES;
  for (const name of options.skip ?? []) {
    if (!all.some((p) => p.name === name)) throw new RangeError(`no pass is named "${name}"; the passes are ${all.map((p) => p.name).join(', ')}`);
  }
  const passes = all.filter((p) => !options.skip?.includes(p.name));
  if (options.inputShapes?.length) fixInputShapes(model, options.inputShapes);
  const nodesBefore = countNodes(model);
  const context = createPassContext(model, { ...(options.foldSizeLimitBytes !== undefined && { foldSizeLimitBytes: options.foldSizeLimitBytes }) });
  const stats = new Map(passes.map((p) => [p.name, { name: p.name, runs: 0, changes: 0, nodesRemoved: 0, ms: 0 }]));
  const maxRounds = options.maxRounds ?? 10;
  let rounds = 0;
  let converged = false;
  while (rounds < maxRounds) {
    rounds++;
    let changed = 0;
    for (const pass of passes) {
      const s = stats.get(pass.name)!;
      const before = countNodes(model);
      const start = performance.now();
      const changes = await pass.run(model, context);
      s.ms += performance.now() - start;
      s.runs++;
      s.changes += changes;
      s.nodesRemoved += before - countNodes(model);
      if (changes > 0) {
        context.invalidate();
        changed += changes;
      }
    }
    if (changed === 0) {
      converged = true;
      break;
    }
  }
  tidy(model, options.inputShapes?.length ? context.facts() : undefined);
  return {
    rounds, converged, passes: [...stats.values()].map((s) => ({ ...s, ms: round2(s.ms) })),
    nodesBefore, nodesAfter: countNodes(model), ms: round2(performance.now() - t0),
  };
}

/**
 * Sets graph inputs' dims. Each named input must exist; unnamed shapes go to the inputs without
 * an initializer, in order. A given dim must match a static dim the model declares.
 */
export function fixInputShapes(model: Model, shapes: readonly InputShape[]): void {
  const g = model.graph;
  const feedable = g.inputs.filter((v) => !g.initializers.has(v.name));
  const byName = new Map<string, readonly number[]>();
  let next = 0;
  for (const s of shapes) {
    const target = s.name !== undefined ? feedable.find((v) => v.name === s.name) : feedable[next++];
    if (!target) {
      throw new FerryError(s.name !== undefined ? 'UNKNOWN_INPUT' : 'BAD_SHAPE', s.name !== undefined
        ? `--input-shape names "${s.name}", but the model's inputs are ${feedable.map((v) => v.name).join(', ')}`
        : `more --input-shape values than the model has inputs (${feedable.length})`);
    }
    const declared = target.shape;
    if (declared && declared.length !== s.shape.length) {
      throw new FerryError('BAD_SHAPE', `--input-shape ${target.name}:${s.shape.join(',')} has rank ${s.shape.length}; the model declares ${target.name} as [${declared.join(',')}]`);
    }
    declared?.forEach((d, i) => {
      if (typeof d === 'number' && d >= 0 && d !== s.shape[i]) {
        throw new FerryError('BAD_SHAPE', `--input-shape ${target.name}:${s.shape.join(',')} does not fit the model's [${declared.join(',')}] (dim ${i} is ${d})`);
      }
    });
    byName.set(target.name, s.shape);
  }
  g.inputs = g.inputs.map((v) => {
    const shape = byName.get(v.name);
    if (!shape) return v;
    if (v.type?.kind !== 'tensor') throw new FerryError('BAD_SHAPE', `--input-shape ${v.name}: the input is not a tensor`);
    return v.with({ type: { ...v.type, shape: Object.freeze([...shape]) } });
  });
}

/**
 * After the passes: value_info of values that no longer exist goes; with fixed input shapes, all
 * of the main graph's goes (it was inferred for other dims; ONNX Runtime infers it again), and
 * graph outputs whose dims are now known to be static say so.
 */
function tidy(model: Model, facts: ShapeTable | undefined): void {
  if (facts) model.graph.valueInfo.clear();
  for (const g of allGraphs(model)) {
    const live = new Set<string>();
    for (const n of g.nodes) for (const v of n.outputs) live.add(v);
    for (const name of [...g.valueInfo.keys()]) if (!live.has(name)) g.valueInfo.delete(name);
  }
  if (!facts) return;
  const g = model.graph;
  g.outputs = g.outputs.map((v) => {
    const f = facts.get(v.name);
    const shape = v.shape;
    if (!f || !isStatic(f.shape) || v.elemType === undefined || f.elemType !== v.elemType || (shape && shape.length !== f.shape.length)) return v;
    if (shape && shape.every((d, i) => d === f.shape![i])) return v;
    return v.type?.kind === 'tensor' ? v.with({ type: { ...v.type, shape: Object.freeze([...f.shape]) } }) : v;
  });
}

// ---- the check ----------------------------------------------------------------------------------

export interface CheckOptions extends Partial<Tolerance> {
  /** Random input sets. @defaultValue 3 */
  readonly trials?: number;
  /** Seed of the random inputs (compare's generator: normal floats, ints in [0, 10)). @defaultValue 0 */
  readonly seed?: number;
  /** Run both models at once (not for models over 512 MiB, whatever this says). @defaultValue true */
  readonly parallel?: boolean;
}

export interface OutputCheck {
  readonly name: string;
  readonly shape: readonly number[];
  readonly stats: OutputStats;
}

export interface CheckReport {
  readonly trials: number;
  readonly seed: number;
  readonly atol: number;
  readonly rtol: number;
  readonly inputs: readonly { name: string; datatype: Datatype; shape: readonly number[] }[];
  readonly outputs: readonly OutputCheck[];
  readonly pass: boolean;
}

/**
 * Runs `original` and `simplified` (paths or model bytes) on onnxruntime-node, graph
 * optimizations off, on the same random inputs and compares every output of the original
 * (reference) with the simplified one's of the same name. Input shapes: `model`'s graph inputs
 * (the simplified model, whose dims --input-shape fixed), symbolic dims as 1.
 */
export async function checkSimplified(original: string | Uint8Array, simplified: string | Uint8Array, model: Model, options: CheckOptions = {}): Promise<CheckReport> {
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-4;
  const trials = options.trials ?? 3;
  const seed = options.seed ?? 0;
  const g = model.graph;
  const specs = g.inputs.filter((v) => !g.initializers.has(v.name)).map((v) => {
    const info = v.elemType === undefined ? undefined : dataTypeInfo(v.elemType);
    if (!info?.v2) throw new FerryError('BAD_DATATYPE', `input "${v.name}" is ${v.elemType === undefined ? 'not a tensor' : dataTypeName(v.elemType)}: the check feeds numeric tensors only`);
    return { name: v.name, datatype: info.v2, shape: (v.shape ?? []).map((d: Dim) => (typeof d === 'number' && d >= 0 ? d : 1)) };
  });
  const feeds = Array.from({ length: trials }, (_, t) => randomInputs(specs, seed, t));
  // Both at once (session creation is mostly single-threaded), unless two copies would take too much memory.
  const parallel = (options.parallel ?? true) && sizeOf(model).bytes < 512 * 2 ** 20;
  const first = runAll(original, feeds, 'the original model');
  const second = parallel ? runAll(simplified, feeds, 'the simplified model') : first.then(() => runAll(simplified, feeds, 'the simplified model'));
  const [ref, got] = await Promise.allSettled([first, second]);
  if (ref.status === 'rejected') throw ref.reason;
  if (got.status === 'rejected') {
    const err = got.reason as Error;
    throw new FerryError('SIMPLIFY_MISMATCH', `the simplified model does not run where the original does: ${err.message}`, { cause: err });
  }
  const outputs: OutputCheck[] = [...ref.value[0]!.keys()].map((name) => {
    const per = feeds.map((_, t) => {
      const b = ref.value[t]!.get(name)!;
      const a = got.value[t]!.get(name);
      return a ? compareOutputs(a, b, { atol, rtol }) : missing();
    });
    return { name, shape: [...ref.value[0]!.get(name)!.dims], stats: mergeStats(per) };
  });
  return {
    trials, seed, atol, rtol, inputs: specs, outputs, pass: outputs.every((o) => o.stats.pass),
  };
}

type Outputs = Map<string, ort.Tensor>;

/** Numbers by compare's metrics; strings must be equal. */
function compareOutputs(a: ort.Tensor, b: ort.Tensor, tol: Tolerance): OutputStats {
  if (b.type !== 'string') {
    if (a.type !== b.type) return { ...missing(), note: `type ${a.type}, the original's is ${b.type}` };
    return compareTensors(fromOrtTensor('', a), fromOrtTensor('', b), tol);
  }
  const x = a.data as string[];
  const y = b.data as string[];
  if (a.type !== 'string' || x.length !== y.length) return { ...missing(), note: 'string outputs differ in type or length' };
  const mismatched = x.filter((v, i) => v !== y[i]).length;
  return { elements: x.length, maxAbs: 0, sumAbs: 0, maxRel: 0, cosine: 1, mismatched, pass: mismatched === 0, ...(mismatched > 0 && { note: 'strings differ' }) };
}

function missing(): OutputStats {
  return { elements: 0, maxAbs: NaN, sumAbs: 0, maxRel: NaN, cosine: NaN, mismatched: 0, pass: false, note: 'the simplified model lacks this output' };
}

async function runAll(model: string | Uint8Array, feeds: readonly NamedTensors[], what: string): Promise<Outputs[]> {
  let session: ort.InferenceSession;
  try {
    session = typeof model === 'string'
      ? await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 })
      : await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  } catch (err) {
    throw new FerryError('MODEL_LOAD_FAILED', `onnxruntime cannot load ${what}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const out: Outputs[] = [];
    for (const inputs of feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const name of session.inputNames) {
        const t = inputs.get(name);
        if (!t) throw new FerryError('MISSING_INPUT', `${what} needs input "${name}", which the simplified model does not declare`);
        ortFeeds[name] = toOrtTensor(t);
      }
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await session.run(ortFeeds);
      } catch (err) {
        const shapes = [...inputs].map(([k, t]) => `${k}[${t.shape.join(',')}]`).join(', ');
        throw new FerryError('INFERENCE_FAILED', `${what} fails on inputs ${shapes}: ${(err as Error).message.split('\n')[0]} (give the input dims with --input-shape NAME:D1,D2,...)`, { cause: err });
      }
      out.push(new Map(session.outputNames.map((n) => [n, result[n]!])));
    }
    return out;
  } finally {
    await session.release();
  }
}

// ---- files ------------------------------------------------------------------------------------

export interface SimplifyFileOptions extends SimplifyOptions, CheckOptions {}

export interface ModelSize {
  readonly nodes: number;
  readonly initializers: number;
  /** The serialized model's bytes (inline tensors and external data together). */
  readonly bytes: number;
}

export interface SimplifyFileReport {
  readonly input: string;
  readonly output: string;
  readonly before: ModelSize;
  readonly after: ModelSize;
  readonly simplify: SimplifyResult;
  readonly check: CheckReport;
  /** True when OUT was written (the check passed). */
  readonly written: boolean;
  /** Why it was not written: the outputs that differ, by how much, and the passes that changed the model. */
  readonly failure?: string;
  /** Wall times, ms: load, passes, check, save, total. */
  readonly timings: { readonly loadMs: number; readonly passesMs: number; readonly checkMs: number; readonly saveMs: number; readonly totalMs: number };
}

/**
 * Loads `input`, simplifies it, checks it against the original on ONNX Runtime and writes it to
 * `output` only if every output agrees within tolerance (rtol 1e-4, atol 1e-5 by default).
 * Models past protobuf's 2 GiB limit are written with their tensors in `OUT.data`.
 */
export async function simplifyFile(input: string, output: string, options: SimplifyFileOptions = {}): Promise<SimplifyFileReport> {
  const t0 = performance.now();
  const model = await loadModel(input);
  const loadMs = performance.now() - t0;
  const before = sizeOf(model);
  const simplify = await simplifyModel(model, options);
  const after = sizeOf(model);
  const t1 = performance.now();
  const large = after.bytes > MAX_PROTOBUF_BYTES - 2 ** 20;
  let dir: string | undefined;
  let check: CheckReport;
  try {
    let candidate: string | Uint8Array;
    if (large) {
      dir = await mkdtemp(join(tmpdir(), 'ferry-simplify-'));
      candidate = join(dir, 'model.onnx');
      await saveModel(model, candidate, { externalData: { location: 'model.onnx.data' } });
    } else {
      candidate = encodeModel(model);
    }
    check = await checkSimplified(input, candidate, model, options);
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
  const checkMs = performance.now() - t1;
  const changed = simplify.passes.filter((p) => p.changes > 0).map((p) => p.name);
  let failure: string | undefined;
  if (!check.pass) {
    const bad = check.outputs.filter((o) => !o.stats.pass).map((o) => {
      const s = o.stats;
      return `"${o.name}" (max abs ${s.maxAbs.toExponential(2)}, max rel ${s.maxRel.toExponential(2)}, ${s.mismatched} of ${s.elements} elements beyond ${check.atol} + ${check.rtol}*|original|${s.note ? `; ${s.note}` : ''})`;
    });
    failure = `the simplified model's output${bad.length > 1 ? 's' : ''} ${bad.join(', ')} differ${bad.length > 1 ? '' : 's'} from the original's on ${check.trials} random input set(s); passes that changed the model: ${changed.join(', ') || 'none'}. ${output} was not written (rerun with --skip PASS to find the culprit)`;
  }
  const t2 = performance.now();
  if (!failure) {
    await saveModel(model, output, large ? { externalData: { location: `${basename(output)}.data` } } : {});
  }
  const saveMs = performance.now() - t2;
  return {
    input, output, before, after, simplify, check, written: !failure, ...(failure && { failure }),
    timings: { loadMs: round2(loadMs), passesMs: simplify.ms, checkMs: round2(checkMs), saveMs: round2(saveMs), totalMs: round2(performance.now() - t0) },
  };
}

/** Nodes, initializers and serialized bytes of a model. */
export function sizeOf(model: Model): ModelSize {
  let initializers = 0;
  for (const g of allGraphs(model)) initializers += g.initializers.size;
  let bytes: number;
  try {
    bytes = serializeModel(model, undefined, 'the model').byteLength;
  } catch {
    const s = serializeModel(model, { location: 'model.data', sizeThresholdBytes: 1024, alignBytes: 1, includeAttributes: true }, 'the model');
    bytes = s.byteLength + s.externalByteLength;
  }
  return { nodes: countNodes(model), initializers, bytes };
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}
