/**
 * `ferry convert MODEL.onnx --to ncnn|ort -o OUT`: writes the model in a mobile runtime's format
 * and checks it in that runtime against ONNX Runtime. Exit 0 when written and the check passed.
 */
import { parseArgs } from 'node:util';
import { UsageError, intFlag, numFlag } from './args.js';
import { resolveModelPath } from './inspect.js';
import { parseShapeOverrides } from '../tensors/inputs.js';
import type { InputShape } from '../onnx/simplify.js';
import { Progress } from '../report/progress.js';
import { convertToNcnn } from '../targets/ncnn/convert.js';
import { ncnnJson, ncnnText, parityPasses } from '../targets/ncnn/report.js';
import { supportedOps } from '../targets/ncnn/ops/registry.js';
import { NCNN_CALIBRATION_METHODS } from '../targets/ncnn/int8/abs-histogram.js';
import type { NcnnCalibrationMethod } from '../targets/ncnn/int8/abs-histogram.js';
import { convertToOrt } from '../targets/ort/convert.js';
import { ortJson, ortText } from '../targets/ort/report.js';

export const convertHelp = `Usage: ferry convert MODEL.onnx --to ncnn|ort -o OUT [options]

Writes an ONNX model in a mobile runtime's format, then runs it in that runtime beside ONNX
Runtime on the same inputs and reports the difference (cosine, max |diff|, top-1). Exit status 0
when the files were written and the check passed.

  --to ncnn              OUT.param + OUT.bin for ncnn (onnx2ncnn + ncnnoptimize in one): batch 1,
                         constants and BatchNorm folded, activations fused into the convolution
                         before them, Split layers where a blob has several readers. Checked in
                         PyPI's ncnn (a Python that imports it: .venv, FERRY_NCNN_PYTHON)
  --to ort               OUT.ort, ONNX Runtime's FlatBuffer format for mobile and reduced builds
                         (what convert_onnx_models_to_ort writes), and OUT.required_operators.config
                         for a reduced ONNX Runtime build; checked against the .onnx

  -o, --output OUT       output base (ncnn: OUT.param, OUT.bin; ort: OUT or OUT.ort)
  --input-shape N:DIMS   fix input N's dims, e.g. x:1,3,48,320 (repeatable; needed for dynamic dims
                         other than the batch, which becomes 1)

ncnn:
  --fp16                 fp16 weight storage (what \`ncnnoptimize in out 65536\` writes): half the .bin
  --int8 --calibrate DATA  int8 Convolution/ConvolutionDepthWise/InnerProduct (ncnn2table + ncnn2int8):
                         DATA is a folder of images (preprocessed as the model's config.yaml image:
                         block says: mean, std, color order) or an .npz/.npy of ready tensors. Writes
                         OUT.table too, in ncnn2table's format
  --config FILE          the config.yaml whose image: block preprocesses the images
  --method M             kl (default, ncnn2table's), minmax, percentile
  --percentile P         for --method percentile (default 99.99)
  --limit N              calibrate on at most N samples
  --skip-pass NAME       leave out a net pass (fuse-activation, fuse-hardswish, fuse-swish,
                         fuse-shuffle-channel, fuse-innerproduct-bias)

check:
  --no-verify            do not run the converted model
  --n N                  random input sets for the check (default 3; int8 checks on 8 calibration samples)
  --seed N               seed of the random inputs (default 0)
  --json                 print the report as JSON

ONNX ops ncnn export takes: ${supportedOps().join(', ')}.
An op outside this list is refused naming the node, and nothing is written.

Examples:
  ferry convert examples/fashion/1/model.onnx --to ncnn -o out/fashion
  ferry convert resnet18.onnx --to ncnn --fp16 -o out/resnet18
  ferry convert examples/fashion/1/model.onnx --to ncnn --int8 --calibrate calib/ -o out/fashion-int8
  ferry convert model.onnx --to ort -o out/model.ort
`;

export async function convertCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      to: { type: 'string' }, output: { type: 'string', short: 'o' }, 'input-shape': { type: 'string', multiple: true },
      fp16: { type: 'boolean' }, int8: { type: 'boolean' }, calibrate: { type: 'string' }, config: { type: 'string' },
      method: { type: 'string' }, percentile: { type: 'string' }, limit: { type: 'string' }, 'skip-pass': { type: 'string', multiple: true },
      'no-verify': { type: 'boolean' }, n: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(convertHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('give one ONNX model: ferry convert MODEL.onnx --to ncnn -o OUT');
  if (values.to !== 'ncnn' && values.to !== 'ort') throw new UsageError(`--to must be ncnn or ort${values.to ? ` (got "${values.to}")` : ''}`);
  if (!values.output) throw new UsageError('give the output with -o OUT');
  const input = resolveModelPath(positionals[0]!);
  let inputShapes: InputShape[];
  try {
    inputShapes = parseShapeOverrides(values['input-shape'] ?? []).map((o) => ({ ...(o.name !== undefined && { name: o.name }), shape: o.shape }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const progress = new Progress(process.stderr, 2000);
  const onProgress = (line: string): void => progress.update(line);
  const verify = values['no-verify'] ? false as const : { count: intFlag(values.n, 'n', 1) ?? 3, seed: intFlag(values.seed, 'seed') ?? 0 };
  if (values.to === 'ort') {
    if (values.fp16 || values.int8) throw new UsageError('--fp16 and --int8 are ncnn options; for ONNX Runtime, run ferry quantize first and convert its output');
    const report = await convertToOrt(input, values.output, { inputShapes, verify, onProgress });
    progress.done();
    process.stdout.write(values.json ? `${JSON.stringify(ortJson(report), null, 2)}\n` : ortText(report));
    return report.parity === undefined || report.parity.pass ? 0 : 1;
  }
  if (values.fp16 && values.int8) throw new UsageError('give --fp16 or --int8, not both');
  if (values.int8 && !values.calibrate) throw new UsageError('--int8 needs --calibrate DATA');
  if (!values.int8 && (values.calibrate || values.method)) throw new UsageError('--calibrate and --method go with --int8');
  const method = (values.method ?? 'kl') as NcnnCalibrationMethod;
  if (!NCNN_CALIBRATION_METHODS.includes(method)) throw new UsageError(`--method must be ${NCNN_CALIBRATION_METHODS.join(', ')} (got "${values.method}")`);
  const limit = intFlag(values.limit, 'limit', 1);
  const percentile = numFlag(values.percentile, 'percentile', 0);
  const report = await convertToNcnn(input, values.output, {
    inputShapes, fp16: values.fp16 ?? false, verify, onProgress, skipPasses: values['skip-pass'] ?? [],
    ...(values.int8 && { int8: { data: values.calibrate!, method, ...(values.config && { config: values.config }), ...(limit && { limit }), ...(percentile !== undefined && { percentile }) } }),
  });
  progress.done();
  process.stdout.write(values.json ? `${JSON.stringify(ncnnJson(report), null, 2)}\n` : ncnnText(report));
  return parityPasses(report) === false ? 1 : 0;
}
