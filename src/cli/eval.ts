/**
 * `ferry eval MODEL DATA`: top-1 accuracy of a model on labelled data, preprocessed as the model's
 * serving config declares (the evaluation `ferry quantize --eval` runs on both models).
 */
import { parseArgs } from 'node:util';
import { UsageError, intFlag } from './args.js';
import { resolveModelPath } from './inspect.js';
import { loadModel } from '../onnx/io/load.js';
import { openDataset } from '../quantize/data.js';
import { evaluateAccuracy } from '../quantize/evaluate.js';
import { batchLimit, modelInputs } from '../quantize/session.js';

export const evalHelp = `Usage: ferry eval MODEL DATA [options]

Top-1 accuracy of an ONNX model (run in process on onnxruntime-node) on labelled data:
  - a folder with one sub-folder per class, named by class index (0, 1, ...) or by the class's
    label in the labels file; images are decoded, resized and normalized as the image: block of
    the model's config declares (config.yaml beside the version folders, or --config)
  - an .npz of ready tensors (first axis = samples; x or arrays named after the inputs) and labels

  --config FILE     config with the image: block (default: the model repository's config.yaml/.json)
  --labels FILE     class names, one a line (default: the config's label_filename)
  --output NAME     the [batch, classes] output to score (default: the first such output)
  --batch N         samples per run (default 64)
  --json            print the result as JSON on stdout

Example:
  ferry eval examples/fashion test-images/ --json
`;

export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' }, labels: { type: 'string' }, output: { type: 'string' }, batch: { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(evalHelp);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('give the model and the data: ferry eval MODEL DATA');
  const modelPath = resolveModelPath(positionals[0]!);
  const inputs = modelInputs(await loadModel(modelPath));
  const data = await openDataset(positionals[1]!, {
    inputs, modelPath, labelled: true,
    ...(values.config !== undefined && { configPath: values.config }),
    ...(values.labels !== undefined && { labelsPath: values.labels }),
  });
  const result = await evaluateAccuracy(modelPath, data, {
    batchSize: batchLimit(inputs, intFlag(values.batch, 'batch', 1) ?? 64),
    ...(values.output !== undefined && { output: values.output }),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ model: modelPath, data: data.description, ...result, ms: Math.round(result.ms) }, null, 2)}\n`);
  } else {
    process.stdout.write(`${modelPath} on ${data.description}\ntop-1 ${(result.top1 * 100).toFixed(2)} % (${result.correct}/${result.samples}), output ${result.output}, ${(result.ms / 1000).toFixed(1)} s\n`);
  }
  return 0;
}
