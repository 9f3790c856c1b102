/**
 * `ferry compare A B`: runs two models (ONNX, TorchScript or a PyTorch factory) on the same inputs
 * and reports, per output, how far apart they are; exit 0 when every output matches.
 */
import { parseArgs } from 'node:util';
import { UsageError, intFlag, numFlag } from './args.js';
import { resolveModelRef } from '../bridge/model-ref.js';
import { compareModels } from '../compare/compare.js';
import type { ShapeOverride } from '../tensors/inputs.js';
import { loadInputs, parseShapeOverrides } from '../tensors/inputs.js';
import { compareJson, compareText } from '../compare/report.js';

export const compareHelp = `Usage: ferry compare A B [options]

A and B are each an ONNX file (run in process on onnxruntime-node), a TorchScript file (.pt, .zip)
or a PyTorch factory MODULE.py:FACTORY (both run by the Python bridge; torch is seeded with 0 before
FACTORY() is called). Both get the same inputs; outputs are matched by name, else by position.
Per output: max and mean absolute error, max relative error (|A-B|/|B|), cosine similarity, top-1
agreement for [batch, classes] outputs, and PASS when every element has |A - B| <= atol + rtol*|B|
(numpy.allclose with B as the reference). Exit status 0 when every output passes, 1 otherwise.

  --inputs PATH          inputs from an .npz, or a directory of NAME.npy files (instead of random ones)
  --input-shape N:DIMS   shape of input N, e.g. x:1,3,224,224 (repeatable; suffix :int64 etc. for the
                         dtype). ONNX inputs take their shapes from the model, dynamic batch dims
                         default to 1; other dynamic dims need this. Without an ONNX side, give
                         every input (in forward() order)
  --atol F               absolute tolerance (default 1e-5)
  --rtol F               relative tolerance (default 1e-4)
  --n N                  random input sets (default 5): normal for floats, 0..9 for ints, 0/1 for bool
  --seed N               seed of the random inputs (default 0)
  --python P             the Python with torch (default: FERRY_PYTHON, python3 on PATH, /usr/bin/python3)
  --json                 print the report as JSON on stdout

Examples:
  ferry compare resnet.onnx models.py:make_resnet --atol 1e-4
  ferry compare cell.pt cell.py:make_cell --input-shape x:3,4 --input-shape h:3,4
  ferry compare a.onnx b.onnx --inputs batch.npz --json
`;

export async function compareCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      inputs: { type: 'string' }, 'input-shape': { type: 'string', multiple: true }, atol: { type: 'string' },
      rtol: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, python: { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(compareHelp);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('give two models: ferry compare A B');
  let overrides: ShapeOverride[];
  try {
    overrides = parseShapeOverrides(values['input-shape'] ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const atol = numFlag(values.atol, 'atol') ?? 1e-5;
  const rtol = numFlag(values.rtol, 'rtol') ?? 1e-4;
  const trials = intFlag(values.n, 'n', 1) ?? 5;
  const seed = intFlag(values.seed, 'seed') ?? 0;
  const [a, b] = await Promise.all(positionals.map((p) => resolveModelRef(p)));
  const inputs = values.inputs !== undefined ? await loadInputs(values.inputs) : undefined;
  const report = await compareModels({
    a: a!, b: b!, atol, rtol, trials, seed, overrides, ...(inputs && { inputs }),
    python: { python: values.python },
    onProgress: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(values.json ? `${JSON.stringify(compareJson(report), null, 2)}\n` : compareText(report));
  return report.pass ? 0 : 1;
}
