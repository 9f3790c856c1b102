/**
 * Quantization: float16 conversion, static int8 in QDQ form (calibrated), dynamic int8, and the
 * report that says whether it pays.
 *
 *   const report = await quantizeFile('m/1/model.onnx', 'm-int8.onnx', { mode: 'int8-static', calibrationData: 'calib/' });
 *   report.verdict   // { pays: false, messages: ['int8 does not pay in speed on this machine: 0.82x ...'] }
 *
 * The pieces work on a loaded Model too: planQuantization + calibrate + applyQdq, applyDynamic,
 * convertToFloat16.
 */
export { quantizeFile, openEvalData, judge } from './quantize.js';
export type { QuantizeMode, QuantizeOptions, QuantizeReport } from './quantize.js';
export { quantizeText, quantizeJson } from './report.js';
export { convertToFloat16, DEFAULT_FP16_BLOCK_OPS } from './float16.js';
export type { Float16Options, Float16Stats } from './float16.js';
export { planQuantization, WEIGHTED_OPS, JOIN_OPS, PASS_OPS } from './plan.js';
export type { PlanOptions, QuantPlan, NodeRole, PlannedTensor } from './plan.js';
export { calibrate } from './calibrate.js';
export type { CalibrateOptions, CalibrationResult } from './calibrate.js';
export { CALIBRATION_METHODS } from './histogram.js';
export type { CalibrationMethod } from './histogram.js';
export { applyQdq } from './qdq.js';
export type { QdqOptions, QdqStats } from './qdq.js';
export { applyDynamic } from './dynamic.js';
export type { DynamicOptions, DynamicStats } from './dynamic.js';
export { openDataset } from './data.js';
export type { Dataset, DatasetOptions, ModelInput } from './data.js';
export { evaluateAccuracy, evaluateAgreement, measureThroughput } from './evaluate.js';
export type { AccuracyResult, AgreementResult, ThroughputRow } from './evaluate.js';
export { inspectFusion } from './fusion.js';
export type { FusionReport } from './fusion.js';
export type { QuantType, QuantParams, Range, WeightRange } from './qparams.js';
export { detectCpu, int8Scheme, targetOf, TARGET_CPUS } from './cpu.js';
export type { CpuInfo, Int8Scheme, TargetCpu } from './cpu.js';
export { quantizeWeightPairSafe, forEachKernelPair, PAIR_LIMIT } from './pairs.js';
export type { WeightLayout } from './pairs.js';
