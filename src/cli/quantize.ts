/**
 * `ferry quantize IN OUT --fp16 | --int8 (--calibrate DATA | --dynamic)`: converts a float model
 * and reports size, throughput and accuracy (or agreement) before and after. Exit 0 when OUT was
 * written (whether or not the conversion pays: the report says).
 */
import { parseArgs } from 'node:util';
import { UsageError, intFlag, listFlag, numFlag } from './args.js';
import { resolveModelPath } from './inspect.js';
import { parseShapeOverrides } from '../tensors/inputs.js';
import type { ShapeOverride } from '../tensors/inputs.js';
import { Progress } from '../report/progress.js';
import { CALIBRATION_METHODS } from '../quantize/histogram.js';
import type { CalibrationMethod } from '../quantize/histogram.js';
import { DEFAULT_FP16_BLOCK_OPS } from '../quantize/float16.js';
import type { QuantizeOptions } from '../quantize/quantize.js';
import { quantizeFile } from '../quantize/quantize.js';
import { quantizeJson, quantizeText } from '../quantize/report.js';
import { TARGET_CPUS } from '../quantize/cpu.js';
import type { TargetCpu } from '../quantize/cpu.js';
import type { WeightRange } from '../quantize/qparams.js';

export const quantizeHelp = `Usage: ferry quantize IN OUT (--fp16 | --int8 --calibrate DATA | --int8 --dynamic) [options]

Converts a float32 ONNX model, then reports: file size before and after, what ONNX Runtime fused,
in-process throughput of both models at batch 1 and 8, and top-1 accuracy on labelled data (--eval)
or output agreement with the float model on data calibration did not see: the least and the mean
cosine per sample (and all samples pooled), top-1 agreement.
It says plainly when the result does not pay: slower than float, or accuracy lost beyond the
thresholds. Exit status 0 when OUT was written.

float16:
  --fp16                 float initializers and values to float16; Casts at fp16/fp32 boundaries
  --keep-io-types        keep float32 graph inputs and outputs, Cast inside (the default)
  --no-keep-io-types     float16 graph inputs and outputs
  --block-ops A,B        op types kept in float32 (default: onnxconverter-common's list plus Resize,
                         random generators and Q/DQ ops; see below); "+A,B" adds to the default

static int8 (QDQ; weights int8 symmetric, activations uint8 asymmetric):
  --int8 --calibrate DATA  calibration data: a folder of images (preprocessed as the model's
                         config.yaml image: block declares), or an .npz / .npy of ready tensors
                         (first axis = samples; arrays named after the inputs, or x)
  --method M             activation ranges: minmax (default), entropy (KL divergence over a
                         2048-bin histogram, as TensorRT), percentile
  --percentile P         for --method percentile: keep P % of |x| (default 99.99)
  --per-tensor           one scale per weight tensor (default: one per output channel)
  --activation-type T    uint8 (default: fuses fully on x86) or int8
  --target-cpu T         the CPU the int8 model (static or dynamic) will run on: auto (default:
                         this one), vnni (x86 with AVX512-VNNI, AVX-VNNI or AMX), avx512 or avx2
                         (x86 without VNNI), arm64, any. Without VNNI, ONNX Runtime's x86 kernels
                         add pairs of u8 x s8 products in a saturating int16: ferry then keeps each
                         such pair of weights within 128 (8-bit weights that cannot saturate)
  --weights W            override the target's weights: full ([-127, 127]), pairs (as without
                         VNNI), reduced ([-64, 64], onnxruntime's reduce_range) or uint8 (zero
                         point 128: u8 x u8 kernels, exact everywhere, slower)
  --exclude N1,N2        nodes left in float32: node names (unnamed nodes: their first output's name)
  --keep-first-last      leave the first and last Conv/Gemm/MatMul in float32
  --auto-exclude         mixed precision: keep in float32, a tenth a round, the tensors 8 bits hurt
                         most (per-channel relative error) until the outputs reach --min-cosine on
                         16 calibration samples (at most 8 rounds)
  --samples N            calibrate on the first N samples (default: all with --eval; without it,
                         all but a held-out quarter, 8 to 100 samples, for the agreement check;
                         below 16 samples none is held out and the report says so)
  --config FILE          config with the image: block (default: config.yaml/.json of the model's
                         repository folder: IN's parent's parent for <model>/<version>/model.onnx)
  --no-preprocess        skip ferry simplify's passes (BatchNorm folding, constants) before quantizing

dynamic int8:
  --int8 --dynamic       MatMul / Gemm weights int8 (per column), activations quantized at run
                         time (DynamicQuantizeLinear + MatMulInteger, fused by ONNX Runtime)

report:
  --eval DATA            labelled data for top-1 accuracy: a folder of class sub-folders (named
                         by class index or by label), or an .npz with x and labels; unlabelled
                         data gives output agreement instead
  --labels FILE          class names, one a line (default: the config's label_filename)
  --input-shape N:DIMS   input shape for random inputs and dynamic dims (e.g. x:1,3,640,640)
  --bench-seconds S      seconds per timed loop (default 1; 0 skips the throughput measurement)
  --max-accuracy-drop P  top-1 points that may be lost (default 1)
  --min-cosine C         least per-sample cosine against float on every output (default 0.99 int8,
                         0.999 fp16)
  --json                 print the report as JSON on stdout

Default fp16 block list: ${DEFAULT_FP16_BLOCK_OPS.join(', ')}

Examples:
  ferry quantize examples/fashion/1/model.onnx fashion-int8.onnx --int8 --calibrate calib.npz --eval test.npz
  ferry quantize resnet18.onnx resnet18-int8.onnx --int8 --calibrate images/ --config config.yaml --method entropy
  ferry quantize det.onnx det-fp16.onnx --fp16 --input-shape x:1,3,640,640
  ferry quantize rec.onnx rec-dyn.onnx --int8 --dynamic --input-shape x:1,3,48,320
`;

export async function quantize(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      fp16: { type: 'boolean' }, int8: { type: 'boolean' }, dynamic: { type: 'boolean' },
      'keep-io-types': { type: 'boolean' }, 'no-keep-io-types': { type: 'boolean' }, 'block-ops': { type: 'string' },
      calibrate: { type: 'string' }, method: { type: 'string' }, percentile: { type: 'string' }, 'per-tensor': { type: 'boolean' },
      'activation-type': { type: 'string' }, 'target-cpu': { type: 'string' }, weights: { type: 'string' }, exclude: { type: 'string', multiple: true }, 'keep-first-last': { type: 'boolean' }, 'auto-exclude': { type: 'boolean' },
      samples: { type: 'string' }, config: { type: 'string' }, 'no-preprocess': { type: 'boolean' },
      eval: { type: 'string' }, labels: { type: 'string' }, 'input-shape': { type: 'string', multiple: true },
      'bench-seconds': { type: 'string' }, 'max-accuracy-drop': { type: 'string' }, 'min-cosine': { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(quantizeHelp);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('give the model to read and the file to write: ferry quantize IN OUT --fp16 | --int8 ...');
  if (!!values.fp16 === !!values.int8) throw new UsageError('give one of --fp16 or --int8');
  if (values.int8 && !values.dynamic && values.calibrate === undefined) throw new UsageError('--int8 needs --calibrate DATA (static) or --dynamic');
  if (values.dynamic && values.calibrate !== undefined) throw new UsageError('--dynamic takes no calibration data: drop --calibrate, or --dynamic for static int8');
  if (values.fp16 && (values.calibrate !== undefined || values.dynamic)) throw new UsageError('--fp16 takes no --calibrate or --dynamic');
  if (values['keep-io-types'] && values['no-keep-io-types']) throw new UsageError('give --keep-io-types or --no-keep-io-types, not both');
  const method = values.method ?? 'minmax';
  if (!CALIBRATION_METHODS.includes(method as CalibrationMethod)) throw new UsageError(`--method must be one of ${CALIBRATION_METHODS.join(', ')} (got "${method}")`);
  const percentile = numFlag(values.percentile, 'percentile', 0);
  if (percentile !== undefined && (percentile <= 50 || percentile > 100)) throw new UsageError(`--percentile must be in (50, 100] (got ${percentile})`);
  const activationType = values['activation-type'] ?? 'uint8';
  if (activationType !== 'uint8' && activationType !== 'int8') throw new UsageError(`--activation-type must be uint8 or int8 (got "${activationType}")`);
  const targetCpu = values['target-cpu'] ?? 'auto';
  if (!TARGET_CPUS.includes(targetCpu as TargetCpu)) throw new UsageError(`--target-cpu must be one of ${TARGET_CPUS.join(', ')} (got "${targetCpu}")`);
  const weights = values.weights;
  if (weights !== undefined && !['full', 'pairs', 'reduced', 'uint8'].includes(weights)) throw new UsageError(`--weights must be full, pairs, reduced or uint8 (got "${weights}")`);
  if (values.fp16 && (values['target-cpu'] !== undefined || weights !== undefined)) throw new UsageError('--fp16 takes no --target-cpu or --weights (they choose int8 weights)');
  let inputShapes: ShapeOverride[];
  try {
    inputShapes = parseShapeOverrides(values['input-shape'] ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let blockOps: string[] | undefined;
  if (values['block-ops'] !== undefined) {
    const text = values['block-ops'];
    const list = listFlag(text.startsWith('+') ? text.slice(1) : text) ?? [];
    blockOps = text.startsWith('+') ? [...DEFAULT_FP16_BLOCK_OPS, ...list] : list;
  }
  const progress = new Progress(process.stderr, 2000);
  const options: QuantizeOptions = {
    mode: values.fp16 ? 'fp16' : values.dynamic ? 'int8-dynamic' : 'int8-static',
    ...(values['no-keep-io-types'] && { keepIoTypes: false }),
    ...(blockOps && { blockOps }),
    ...(values.calibrate !== undefined && { calibrationData: values.calibrate }),
    method: method as CalibrationMethod,
    ...(percentile !== undefined && { percentile }),
    perChannel: !values['per-tensor'],
    activationType,
    targetCpu: targetCpu as TargetCpu,
    ...(weights !== undefined && (weights === 'uint8' ? { weightRange: 'full' as const, weightType: 'uint8' as const } : { weightRange: weights as WeightRange, weightType: 'int8' as const })),
    exclude: (values.exclude ?? []).flatMap((e) => listFlag(e) ?? []),
    keepFirstLast: !!values['keep-first-last'],
    autoExclude: !!values['auto-exclude'],
    ...(values.samples !== undefined && { samples: intFlag(values.samples, 'samples', 1)! }),
    ...(values.config !== undefined && { configPath: values.config }),
    preprocess: !values['no-preprocess'],
    ...(values.eval !== undefined && { evalData: values.eval }),
    ...(values.labels !== undefined && { labelsPath: values.labels }),
    inputShapes,
    benchSeconds: numFlag(values['bench-seconds'], 'bench-seconds', 0) ?? 1,
    ...(values['max-accuracy-drop'] !== undefined && { maxAccuracyDrop: numFlag(values['max-accuracy-drop'], 'max-accuracy-drop', 0)! }),
    ...(values['min-cosine'] !== undefined && { minCosine: numFlag(values['min-cosine'], 'min-cosine', -1)! }),
    onProgress: (text) => progress.update(text),
  };
  let report;
  try {
    report = await quantizeFile(resolveModelPath(positionals[0]!), positionals[1]!, options);
  } finally {
    progress.done();
  }
  process.stdout.write(values.json ? `${JSON.stringify(quantizeJson(report), null, 2)}\n` : quantizeText(report));
  return 0;
}
