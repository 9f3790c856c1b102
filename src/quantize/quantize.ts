/**
 * `ferry quantize`'s engine: float16 conversion, static int8 (QDQ, calibrated) and dynamic int8,
 * each followed by the same report: file size before and after, what ONNX Runtime fused, in-process
 * throughput of both models at batch 1 and 8, and accuracy on labelled data or output agreement
 * with the float model on data the calibration did not see. It says plainly when the result does
 * not pay (slower than float, or accuracy lost beyond the threshold).
 *
 *   const report = await quantizeFile('m/1/model.onnx', 'm/2/model.onnx', { mode: 'int8-static', calibrationData: 'calib/' });
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadModel } from '../onnx/io/load.js';
import { encodeModel, saveModel } from '../onnx/io/save.js';
import type { Model } from '../onnx/ir/model.js';
import { simplifyModel } from '../onnx/simplify.js';
import type { ShapeOverride } from '../tensors/inputs.js';
import { randomInputs, resolveSpecs } from '../tensors/inputs.js';
import type { NamedTensors } from '../tensors/inputs.js';
import { FerryError } from '../errors.js';
import type { Dataset, ModelInput } from './data.js';
import { openDataset, subset } from './data.js';
import type { CalibrationMethod } from './histogram.js';
import { calibrate } from './calibrate.js';
import type { QuantPlan } from './plan.js';
import { planQuantization } from './plan.js';
import type { QdqStats } from './qdq.js';
import { applyQdq } from './qdq.js';
import type { QuantType, WeightRange } from './qparams.js';
import type { Int8Scheme, TargetCpu } from './cpu.js';
import { int8Scheme, weightLabel } from './cpu.js';
import type { DynamicStats } from './dynamic.js';
import { applyDynamic } from './dynamic.js';
import type { Float16Stats } from './float16.js';
import { convertToFloat16 } from './float16.js';
import type { FusionReport } from './fusion.js';
import { inspectFusion } from './fusion.js';
import type { AgreementResult, ThroughputRow } from './evaluate.js';
import { evaluateAccuracy, evaluateAgreement, measureThroughput } from './evaluate.js';
import { batchLimit, modelInputs, openSession } from './session.js';
import { upgradeToOpset10 } from './opset.js';
import { declareControlFlowTypes } from './control-flow.js';
import type { TensorError } from './sensitivity.js';
import { tensorErrors } from './sensitivity.js';

export type QuantizeMode = 'fp16' | 'int8-static' | 'int8-dynamic';

export interface QuantizeOptions {
  readonly mode: QuantizeMode;
  // --- fp16
  /** Keep float32 graph inputs and outputs. @defaultValue true */
  readonly keepIoTypes?: boolean;
  /** Op types kept in float32. @defaultValue DEFAULT_FP16_BLOCK_OPS */
  readonly blockOps?: readonly string[];
  // --- int8
  /** Calibration data (static int8): a folder of images, an .npz or an .npy. */
  readonly calibrationData?: string;
  /** @defaultValue 'minmax' */
  readonly method?: CalibrationMethod;
  /** For method 'percentile'. @defaultValue 99.99 */
  readonly percentile?: number;
  /** Weights per output channel. @defaultValue true */
  readonly perChannel?: boolean;
  /** Activation type: uint8 fuses fully on ONNX Runtime's x86 CPU kernels (measured: int8 leaves half the convolutions in float). @defaultValue 'uint8' */
  readonly activationType?: QuantType;
  /**
   * The CPU the int8 model will run on, which decides the weight range (cpu.ts): 'auto' is the CPU
   * running ferry; 'avx2' / 'avx512' (x86 without VNNI) and 'any' get 7-bit weights, 'vnni' and
   * 'arm64' 8-bit ones. @defaultValue 'auto'
   */
  readonly targetCpu?: TargetCpu;
  /** Overrides the target's weight range (qparams.ts WeightRange). @defaultValue the target CPU's (cpu.ts) */
  readonly weightRange?: WeightRange;
  /** Overrides the target's weight element type ('uint8': zero point 128, u8 x u8 kernels). @defaultValue the target CPU's (cpu.ts) */
  readonly weightType?: QuantType;
  /** Node names left in float. @defaultValue [] */
  readonly exclude?: readonly string[];
  /** Leave the first and last Conv/Gemm/MatMul in float. @defaultValue false */
  readonly keepFirstLast?: boolean;
  /**
   * Keep in float, round after round, the tensors 8-bit quantization hurts most (a tenth of them
   * each round, by per-channel relative error), until the outputs agree with float at minCosine
   * on 16 calibration samples (one cosine over them pooled; the report's verdict also looks at each sample).
   * @defaultValue false
   */
  readonly autoExclude?: boolean;
  /** See PlanOptions.minMacsPerBoundary: convolutions between float neighbours that do less work than this stay float. @defaultValue 32 */
  readonly minMacsPerBoundary?: number;
  /** Rounds of --auto-exclude at most. @defaultValue 8 */
  readonly maxRounds?: number;
  /** Calibration samples (the first N of the data). @defaultValue all with evalData; without it, all but a held-out tail (heldOutCount) */
  readonly samples?: number;
  /** Samples per calibration run. @defaultValue 8 */
  readonly calibrationBatch?: number;
  /** The config whose `image:` block preprocesses image folders. @defaultValue the model repository's config.yaml */
  readonly configPath?: string;
  /** Run ferry simplify's passes first (fold BatchNorm into Conv, Constants into initializers ...). @defaultValue true */
  readonly preprocess?: boolean;
  // --- report
  /** Labelled evaluation data (class sub-folders, or .npz with labels); without labels: agreement on it. */
  readonly evalData?: string;
  /** Labels file for class folders named by label. @defaultValue the config's label_filename */
  readonly labelsPath?: string;
  /** Shapes for random inputs (agreement of fp16 / dynamic models without data) and dynamic dims. */
  readonly inputShapes?: readonly ShapeOverride[];
  /** Seconds per timed loop of the throughput measurement; 0 skips it. @defaultValue 1 */
  readonly benchSeconds?: number;
  /** @defaultValue [1, 8] */
  readonly batchSizes?: readonly number[];
  /** Top-1 points the converted model may lose before the report says it does not pay. @defaultValue 1 */
  readonly maxAccuracyDrop?: number;
  /** Least cosine of every output against float. @defaultValue 0.99 (int8), 0.999 (fp16) */
  readonly minCosine?: number;
  /** Progress lines (calibration progress bar, steps). */
  readonly onProgress?: (text: string) => void;
}

export interface QuantizeReport {
  readonly mode: QuantizeMode;
  readonly input: string;
  readonly output: string;
  readonly size: { readonly beforeBytes: number; readonly afterBytes: number; /** before / after */ readonly ratio: number };
  readonly settings: Record<string, unknown>;
  /** int8: the CPU targeted, the weights chosen for it, and whether this CPU runs them exactly (no saturation). */
  readonly int8Scheme?: Int8Scheme & { readonly exactHere: boolean };
  readonly static?: QdqStats & {
    readonly skipped: readonly { node: string; opType: string; reason: string }[];
    /** --auto-exclude: agreement (on 16 calibration samples) after each attempt, and the tensors it kept in float. */
    readonly autoExclude?: { readonly rounds: readonly { floatTensors: number; cosine: number }[]; readonly floatTensors: readonly string[] };
  };
  readonly dynamic?: DynamicStats;
  readonly fp16?: Float16Stats;
  readonly calibration?: { readonly data: string; readonly samples: number; readonly method: CalibrationMethod; readonly percentile?: number; readonly tensors: number; readonly ms: number };
  readonly fusion?: FusionReport;
  readonly accuracy?: { readonly data: string; readonly samples: number; readonly output: string; readonly before: number; readonly after: number; /** percentage points lost */ readonly dropPoints: number };
  readonly agreement?: AgreementResult & { readonly data: string; /** false: measured on calibration samples (no data was left over) */ readonly heldOut: boolean };
  readonly throughput?: readonly ThroughputRow[];
  /** `pays`: faster than float and within the accuracy thresholds; `messages` say why not, plainly. */
  readonly verdict: { readonly pays: boolean; readonly messages: readonly string[] };
  readonly ms: number;
}

const bar = (done: number, total: number, width = 24): string => {
  const k = Math.round((done / Math.max(1, total)) * width);
  return `[${'#'.repeat(k)}${'-'.repeat(width - k)}]`;
};

export async function quantizeFile(input: string, output: string, options: QuantizeOptions): Promise<QuantizeReport> {
  const t0 = performance.now();
  const progress = options.onProgress ?? (() => {});
  const model = await loadModel(input);
  const inputs = modelInputs(model);
  const beforeBytes = (await stat(input)).size;
  const mode = options.mode;
  const settings: Record<string, unknown> = {};
  const scheme = mode === 'fp16' ? undefined : weightScheme(options);
  if (scheme) progress(`int8 for ${scheme.target}: ${scheme.why}`);

  let calibrationData: Dataset | undefined;
  let heldOut: Dataset | undefined;
  let heldOutIsNew = true;
  if (mode === 'int8-static') {
    if (!options.calibrationData) throw new FerryError('BAD_CALIBRATION_DATA', 'static int8 needs calibration data: --calibrate DATA (a folder of images, an .npz or an .npy), or use --dynamic');
    const data = await openDataset(options.calibrationData, { inputs, modelPath: input, ...(options.configPath !== undefined && { configPath: options.configPath }) });
    const total = data.size;
    // Without --eval, a tail of the data is held out for the agreement check.
    const n = Math.min(total, options.samples ?? (options.evalData === undefined ? total - heldOutCount(total) : total));
    calibrationData = subset(data, 0, n, `${n} of ${data.description}`);
    if (n < total) heldOut = subset(data, n, Math.min(100, total - n), `${Math.min(100, total - n)} held-out samples of ${data.description}`);
    else {
      heldOut = subset(data, Math.max(0, total - 100), Math.min(100, total), `${Math.min(100, total)} of the calibration samples (none left over to hold out)`);
      heldOutIsNew = false;
    }
  }

  let work = model;
  if (options.preprocess ?? true) {
    progress('preprocessing: folding constants and BatchNorm, removing no-ops (ferry simplify passes)');
    await simplifyModel(work);
  }
  // If / Loop / Scan outputs: their types, from their subgraphs (shape inference does not enter them).
  declareControlFlowTypes(work.graph);

  let staticStats: QuantizeReport['static'];
  let dynamicStats: DynamicStats | undefined;
  let fp16Stats: Float16Stats | undefined;
  let calibration: QuantizeReport['calibration'];
  if (mode === 'int8-static') {
    if ((work.opset('') ?? 0) < 10) upgradeToOpset10(work);
    const pre = work; // the preprocessed float model: planned on, calibrated on, cloned for each attempt
    const exclude = [...(options.exclude ?? [])];
    const planOptions = () => ({
      exclude,
      ...(options.keepFirstLast !== undefined && { keepFirstLast: options.keepFirstLast }),
      ...(options.minMacsPerBoundary !== undefined && { minMacsPerBoundary: options.minMacsPerBoundary }),
    });
    const first = planQuantization(pre, planOptions());
    if (first.nodes.size === 0) throw new FerryError('QUANTIZE_FAILED', `${input}: nothing to quantize: no Conv, Gemm or MatMul with float32 constant weights${first.skipped.length ? ` (skipped: ${first.skipped.slice(0, 3).map((s) => `${s.opType} "${s.node}": ${s.reason}`).join('; ')})` : ''}`);
    const method = options.method ?? 'minmax';
    const batchSize = batchLimit(inputs, options.calibrationBatch ?? 8);
    const started = performance.now();
    const cal = await calibrate(pre, first.calibrate, calibrationData!, {
      method, ...(options.percentile !== undefined && { percentile: options.percentile }), batchSize,
      onProgress: (done, total) => progress(`calibrating ${bar(done, total)} ${done}/${total} samples, ${first.calibrate.length} tensors, ${((performance.now() - started) / 1000).toFixed(1)} s`),
    });
    const ranges = new Map(cal.ranges);
    calibration = {
      data: calibrationData!.description, samples: cal.samples, method,
      ...(method === 'percentile' && { percentile: options.percentile ?? 99.99 }), tensors: first.calibrate.length, ms: Math.round(cal.ms),
    };
    const qdqOptions = {
      ...(options.activationType && { activationType: options.activationType }),
      ...(options.perChannel !== undefined && { perChannel: options.perChannel }),
      weightRange: scheme!.weightRange,
      weightType: scheme!.weightType,
    };
    // Attempts: quantize; with --auto-exclude, keep the tensors 8 bits hurt most in float until the outputs agree.
    const target = options.minCosine ?? 0.99;
    const check = subset(calibrationData!, 0, 16, 'calibration samples');
    const floatBytes = options.autoExclude ? encodeModel(pre) : undefined;
    const floatTensors = new Set<string>();
    const rounds: { floatTensors: number; cosine: number }[] = [];
    let ranking: TensorError[] | undefined;
    let built: { model: Model; plan: QuantPlan; stats: QdqStats };
    for (let round = 0; ; round++) {
      const m = pre.clone();
      const plan = planQuantization(m, { ...planOptions(), floatTensors });
      const missing = plan.calibrate.filter((t) => !ranges.has(t));
      if (missing.length) for (const [k, v] of (await calibrate(pre, missing, calibrationData!, { method, batchSize, ...(options.percentile !== undefined && { percentile: options.percentile }) })).ranges) ranges.set(k, v);
      built = { model: m, plan, stats: applyQdq(m, plan, ranges, qdqOptions) };
      if (!options.autoExclude || round >= (options.maxRounds ?? 8)) break;
      const cosine = (await evaluateAgreement(floatBytes!, encodeModel(m), check, { batchSize: evalBatchOf(inputs) })).pooledCosine;
      rounds.push({ floatTensors: floatTensors.size, cosine });
      progress(`auto-exclude: round ${round + 1}, ${floatTensors.size} tensors in float, cosine ${cosine.toFixed(4)} (target ${target})`);
      if (cosine >= target) break;
      ranking ??= await tensorErrors(pre, new Map(first.calibrate.map((t) => [t, ranges.get(t)!])), options.activationType ?? 'uint8', check, { count: check.size, batchSize: evalBatchOf(inputs) });
      const next = ranking.filter((t) => !floatTensors.has(t.tensor) && plan.tensors.some((p) => p.paramsFrom === t.tensor));
      if (next.length === 0) break;
      for (const t of next.slice(0, Math.max(1, Math.ceil(first.calibrate.length / 10)))) floatTensors.add(t.tensor);
    }
    work = built.model;
    staticStats = { ...built.stats, skipped: built.plan.skipped, ...(options.autoExclude && { autoExclude: { rounds, floatTensors: [...floatTensors] } }) };
    Object.assign(settings, { activationType: options.activationType ?? 'uint8', weightType: `${scheme!.weightType} symmetric`, weightRange: scheme!.weightRange, targetCpu: scheme!.target, perChannel: options.perChannel ?? true, method, keepFirstLast: options.keepFirstLast ?? false, exclude: options.exclude ?? [], autoExclude: options.autoExclude ?? false, minMacsPerBoundary: options.minMacsPerBoundary ?? 32 });
  } else if (mode === 'int8-dynamic') {
    dynamicStats = applyDynamic(work, { ...(options.exclude && { exclude: options.exclude }), ...(options.perChannel !== undefined && { perChannel: options.perChannel }), weightRange: scheme!.weightRange, weightType: scheme!.weightType });
    if (dynamicStats.weights === 0) throw new FerryError('QUANTIZE_FAILED', `${input}: nothing to quantize dynamically: no MatMul or Gemm with a 2-D float32 constant weight`);
    Object.assign(settings, { activationType: 'uint8 (per input, at run time)', weightType: `${scheme!.weightType} symmetric`, weightRange: scheme!.weightRange, targetCpu: scheme!.target, perChannel: options.perChannel ?? true });
  } else {
    fp16Stats = convertToFloat16(work, { ...(options.keepIoTypes !== undefined && { keepIoTypes: options.keepIoTypes }), ...(options.blockOps && { blockOps: options.blockOps }) });
    Object.assign(settings, { keepIoTypes: options.keepIoTypes ?? true, blockOps: options.blockOps ?? 'default' });
  }

  await mkdir(dirname(output), { recursive: true });
  const saved = await saveModel(work, output);
  const loaded = await openSession(output, `the ${mode} model ${output}`, {}, 'QUANTIZE_FAILED');
  await loaded.release();
  const afterBytes = saved.bytes;

  const fusion = mode === 'fp16' ? undefined : await inspectFusion(output);

  // Accuracy or agreement.
  const evalBatch = evalBatchOf(inputs);
  let accuracy: QuantizeReport['accuracy'];
  let agreement: QuantizeReport['agreement'];
  let shapes: Map<string, readonly number[]> | undefined;
  if (options.evalData) {
    const data = await openEvalData(options.evalData, inputs, input, options);
    shapes = new Map(data.sampleShapes);
    if (data.labels) {
      progress(`evaluating both models on ${data.description}`);
      const before = await evaluateAccuracy(input, data, { batchSize: batchLimit(inputs, 64) });
      const after = await evaluateAccuracy(output, data, { batchSize: batchLimit(inputs, 64), output: before.output });
      accuracy = { data: data.description, samples: data.size, output: before.output, before: before.top1, after: after.top1, dropPoints: (before.top1 - after.top1) * 100 };
      const n = Math.min(data.size, 1000);
      agreement = { ...(await evaluateAgreement(input, output, data, { batchSize: evalBatch, limit: n })), data: `${n === data.size ? 'all' : `the first ${n} of the`} ${data.description}`, heldOut: true };
    } else {
      progress(`comparing outputs on ${data.description}`);
      agreement = { ...(await evaluateAgreement(input, output, data, { batchSize: evalBatch })), data: data.description, heldOut: true };
    }
  } else if (heldOut) {
    progress(`comparing outputs on ${heldOut.description}`);
    shapes = new Map(heldOut.sampleShapes);
    agreement = { ...(await evaluateAgreement(input, output, heldOut, { batchSize: evalBatch })), data: heldOut.description, heldOut: heldOutIsNew };
  } else {
    const specs = resolveSpecs(inputs, options.inputShapes ?? [], input);
    shapes = new Map(specs.map((s) => [s.name, s.shape.slice(1)]));
    const trials: NamedTensors[] = Array.from({ length: 8 }, (_, k) => randomInputs(specs, 0, k));
    progress('comparing outputs on 8 sets of seeded random inputs (give --eval DATA for real data)');
    agreement = {
      ...(await evaluateAgreement(input, output, trials)),
      data: `8 seeded random input sets (${specs.map((s) => `${s.name}[${s.shape.join(',')}]`).join(', ')}), normal(0, 1)`, heldOut: true,
    };
  }

  // Throughput.
  let throughput: ThroughputRow[] | undefined;
  const seconds = options.benchSeconds ?? 1;
  if (seconds > 0) {
    const limit = batchLimit(inputs, Number.MAX_SAFE_INTEGER);
    const sizes = (options.batchSizes ?? [1, 8]).filter((b) => limit === Number.MAX_SAFE_INTEGER || b === limit);
    if (sizes.length) {
      throughput = await measureThroughput(input, output, { batchSizes: sizes, seconds, ...(shapes && { shapes }), onProgress: progress });
    }
  }

  const verdict = judge(mode, { beforeBytes, afterBytes }, accuracy, agreement, throughput, fusion, options);
  if (scheme && !scheme.exactHere) verdict.messages.push(`made for --target-cpu ${scheme.target}: this CPU has no VNNI and its u8 x s8 kernels saturate on some of these weights, so what was measured here is worse than on the target`);
  return {
    mode, input, output,
    size: { beforeBytes, afterBytes, ratio: beforeBytes / afterBytes },
    settings,
    ...(scheme && { int8Scheme: scheme }),
    ...(staticStats && { static: staticStats }),
    ...(dynamicStats && { dynamic: dynamicStats }),
    ...(fp16Stats && { fp16: fp16Stats }),
    ...(calibration && { calibration }),
    ...(fusion && { fusion }),
    ...(accuracy && { accuracy }),
    ...(agreement && { agreement }),
    ...(throughput && { throughput }),
    verdict,
    ms: Math.round(performance.now() - t0),
  };
}

/** Evaluation data: labelled when it can be (class folders, an .npz with labels), else plain samples for agreement. */
export async function openEvalData(path: string, inputs: readonly ModelInput[], modelPath: string, options: Pick<QuantizeOptions, 'configPath' | 'labelsPath'>): Promise<Dataset> {
  const base = {
    inputs, modelPath,
    ...(options.configPath !== undefined && { configPath: options.configPath }),
    ...(options.labelsPath !== undefined && { labelsPath: options.labelsPath }),
  };
  try {
    return await openDataset(path, { ...base, labelled: true });
  } catch (err) {
    if (!(err instanceof FerryError) || err.code !== 'BAD_CALIBRATION_DATA') throw err;
    return openDataset(path, { ...base, labelled: false });
  }
}

/** The int8 weights for the target CPU, with the options' overrides, and whether this CPU runs them exactly. */
function weightScheme(options: Pick<QuantizeOptions, 'targetCpu' | 'weightRange' | 'weightType'>): Int8Scheme & { readonly exactHere: boolean } {
  let scheme = int8Scheme(options.targetCpu ?? 'auto');
  if ((options.weightRange && options.weightRange !== scheme.weightRange) || (options.weightType && options.weightType !== scheme.weightType)) {
    const weightRange = options.weightRange ?? scheme.weightRange;
    const weightType = options.weightType ?? scheme.weightType;
    scheme = { ...scheme, weightRange, weightType, why: `weights ${weightLabel(weightRange, weightType)}, as asked (for ${scheme.target} ferry would choose ${weightLabel(scheme.weightRange, scheme.weightType)})` };
  }
  // Full-range int8 weights saturate where this CPU needs the pairs kept within 128 (x86 without VNNI).
  const exactHere = !(scheme.weightRange === 'full' && scheme.weightType === 'int8' && int8Scheme('auto').weightRange === 'pairs');
  return { ...scheme, exactHere };
}

/**
 * Samples of the calibration data held out for the agreement check when no evaluation data is
 * given: a quarter, at least 8, at most 100; none below 16 samples (then the check runs on
 * calibration samples and the report says so).
 */
export function heldOutCount(total: number): number {
  return total < 16 ? 0 : Math.min(100, Math.max(8, Math.floor(total / 4)));
}

const evalBatchOf = (inputs: readonly ModelInput[]): number => batchLimit(inputs, 16);

const modeName = (m: QuantizeMode): string => (m === 'fp16' ? 'fp16' : m === 'int8-static' ? 'int8' : 'dynamic int8');

/** The plain-words verdict: does the conversion pay on this machine, and if not, why. */
export function judge(
  mode: QuantizeMode, size: { beforeBytes: number; afterBytes: number }, accuracy: QuantizeReport['accuracy'], agreement: QuantizeReport['agreement'],
  throughput: readonly ThroughputRow[] | undefined, fusion: FusionReport | undefined, options: Pick<QuantizeOptions, 'maxAccuracyDrop' | 'minCosine'>,
): { pays: boolean; messages: string[] } {
  const name = modeName(mode);
  const messages: string[] = [];
  let pays = true;
  const ratio = size.beforeBytes / size.afterBytes;
  messages.push(`${name} file is ${ratio.toFixed(2)}x smaller`);
  if (throughput?.length) {
    const row = throughput[throughput.length - 1]!;
    if (row.speedup >= 0.95 && row.speedup < 1.05) {
      messages.push(`${name} runs about as fast as float: ${row.speedup.toFixed(2)}x the float model's throughput at batch ${row.batch} (within this machine's noise)`);
    } else if (!(row.speedup >= 1)) {
      pays = false;
      messages.push(`${name} does not pay in speed on this machine: ${row.speedup.toFixed(2)}x the float model's throughput at batch ${row.batch} (${row.after.toFixed(1)} vs ${row.before.toFixed(1)} inferences/s)${mode === 'fp16' ? ": ONNX Runtime's CPU provider computes most float16 ops in float32 behind Casts; float16 pays in file size, and on GPUs" : ''}`);
    } else {
      messages.push(`${name} runs ${row.speedup.toFixed(2)}x the float model's throughput at batch ${row.batch}`);
    }
  }
  if (fusion && fusion.unfusedQdq > 2) messages.push(`${fusion.unfusedQdq} QuantizeLinear/DequantizeLinear nodes did not fuse into integer kernels in ONNX Runtime (they run on their own)`);
  const maxDrop = options.maxAccuracyDrop ?? 1;
  if (accuracy) {
    if (accuracy.dropPoints > maxDrop) {
      pays = false;
      messages.push(`${name} loses ${accuracy.dropPoints.toFixed(2)} points of top-1 (${(accuracy.before * 100).toFixed(2)} % -> ${(accuracy.after * 100).toFixed(2)} %), more than the ${maxDrop} allowed`);
    } else {
      messages.push(`top-1 ${(accuracy.before * 100).toFixed(2)} % -> ${(accuracy.after * 100).toFixed(2)} % (${accuracy.dropPoints >= 0 ? '-' : '+'}${Math.abs(accuracy.dropPoints).toFixed(2)} points)`);
    }
  }
  const minCos = options.minCosine ?? (mode === 'fp16' ? 0.999 : 0.99);
  if (agreement) {
    const where = `${agreement.samples} samples${agreement.heldOut ? '' : ' of the calibration data (none held out)'}`;
    const cos = `least per-sample cosine ${agreement.minCosine.toFixed(4)} (mean ${agreement.meanCosine.toFixed(4)}, all samples pooled ${agreement.pooledCosine.toFixed(4)})`;
    if (!(agreement.minCosine >= minCos)) {
      pays = false;
      messages.push(`${name} outputs drift from float: ${cos} < ${minCos} on ${agreement.data}`);
    } else {
      messages.push(`outputs agree with float: ${cos} >= ${minCos} on ${where}`);
    }
    if (agreement.samples < 16) messages.push(`only ${agreement.samples} samples checked: too few to be sure; give --eval DATA${mode === 'int8-static' ? ' (or more calibration data: a quarter is held out)' : ''}`);
  }
  return { pays, messages };
}
