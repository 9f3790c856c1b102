/**
 * `ferry export MODULE.py:FACTORY --input-shape 1,3,224,224 --to onnx -o model.onnx`: PyTorch to
 * ONNX or TorchScript through the Python bridge, with the trace check and a parity report.
 * Exit 0 only when the file was written and every parity row passed.
 */
import { parseArgs } from 'node:util';
import { UsageError, intFlag } from './args.js';
import type { ExportFormat, ExportMethod, ExportReport } from '../bridge/export.js';
import { exportModel } from '../bridge/export.js';
import { parseFactory } from '../bridge/model-ref.js';
import { sci, shapeText, table } from '../report/table.js';

export const exportHelp = `Usage: ferry export MODULE.py:FACTORY --input-shape DIMS [...] -o OUT [options]

Builds the model by importing MODULE.py and calling FACTORY() (no arguments; torch is seeded with 0
first, so random weights are the same in every run), exports it, then checks the file against the
eager model on fresh random inputs: max abs and max rel difference, PASS when every element has
|exported - eager| <= 1e-4 + 1e-3 * |eager|. Exit status 0 only if the file was written and parity passed.

Tracing records the ops one example input runs, so \`if x.sum() > 0\` freezes to one branch. After
tracing, ferry runs traced and eager on 8 inputs (sign-flipped, scaled, fresh); if any differ, the
trace froze control flow: --method auto scripts instead (and says so), --method trace stops.

  --input-shape DIMS   dims of one forward() argument, e.g. 1,3,224,224; repeat per argument, in
                       order; suffix :int64 (or :int32, :bool, :float16, ...) for non-float32 inputs
  --to FORMAT          onnx, torchscript, or ptl: PyTorch Mobile's lite interpreter (optimize_for_mobile,
                       then loaded back with the lite interpreter for the check) (default: from OUT's
                       extension, .onnx, .pt or .ptl)
  --method M           trace, script or auto (default auto: trace, check, script if the check fails)
  --opset N            ONNX opset (default 13)
  --dynamic-batch      axis 0 of every input and output is dynamic (ONNX: named "batch"; TorchScript:
                       -1 in the recorded signature, so ferry serve batches it); parity is also
                       checked at another batch size
  -o, --output OUT     the file to write
  --python P           the Python with torch (default: FERRY_PYTHON, then python3 on PATH, then
                       /usr/bin/python3 — the first that has torch)
  --json               print the report as JSON on stdout (progress stays on stderr)

ONNX parity runs on onnxruntime-node (the engine ferry serves with), and also on Python's
onnxruntime when that is installed. Input names are forward()'s parameter names; outputs are
"output" (one tensor), "output_0", "output_1", ... (a tuple) or a returned dict's keys.
TorchScript files carry these names, datatypes and dims in an extra file, ferry.json, from which
ferry serve's libtorch engine serves them without a config.

Examples:
  ferry export models.py:make_resnet --input-shape 1,3,224,224 --to onnx --dynamic-batch -o resnet.onnx
  ferry export cell.py:MyCell --input-shape 3,4 --input-shape 3,4 --to torchscript -o cell.pt
`;

export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'input-shape': { type: 'string', multiple: true }, to: { type: 'string' }, method: { type: 'string' },
      opset: { type: 'string' }, 'dynamic-batch': { type: 'boolean' }, output: { type: 'string', short: 'o' },
      python: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(exportHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one MODULE.py:FACTORY');
  const factory = positionals[0]!;
  if (!parseFactory(factory)) throw new UsageError(`"${factory}" is not MODULE.py:FACTORY`);
  const shapes = values['input-shape'] ?? [];
  if (shapes.length === 0) throw new UsageError('give --input-shape for each forward() argument, e.g. --input-shape 1,3,224,224');
  for (const s of shapes) {
    if (!/^\d+(,\d+)*(:[a-z0-9]+)?$/i.test(s.trim())) throw new UsageError(`--input-shape ${s}: expected dims like 1,3,224,224 (optionally :int64)`);
  }
  if (!values.output) throw new UsageError('give the output file with -o OUT');
  const to = (values.to ?? (/\.onnx$/i.test(values.output) ? 'onnx' : /\.(pt|pth|zip|ts)$/i.test(values.output) ? 'torchscript' : /\.ptl$/i.test(values.output) ? 'ptl' : undefined)) as ExportFormat | undefined;
  if (to !== 'onnx' && to !== 'torchscript' && to !== 'ptl') throw new UsageError(`--to must be onnx, torchscript or ptl${values.to ? ` (got "${values.to}")` : ' (OUT has no .onnx, .pt or .ptl extension)'}`);
  const method = (values.method ?? 'auto') as ExportMethod;
  if (!['trace', 'script', 'auto'].includes(method)) throw new UsageError(`--method must be trace, script or auto (got "${values.method}")`);
  if (to !== 'onnx' && values.opset) throw new UsageError('--opset is for --to onnx');
  const opset = intFlag(values.opset, 'opset', 7);

  const report = await exportModel({
    factory, inputShapes: shapes.map((s) => s.trim()), to, method, output: values.output,
    ...(opset !== undefined && { opset }), dynamicBatch: values['dynamic-batch'] ?? false,
    python: { python: values.python },
    onProgress: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : exportText(report));
  return report.pass ? 0 : 1;
}

export function exportText(r: ExportReport): string {
  const out: string[] = [];
  const what = r.format === 'onnx'
    ? `ONNX opset ${r.opset}${r.dynamicBatch ? ', dynamic batch' : ''}`
    : r.format === 'ptl' ? 'PyTorch Lite, optimize_for_mobile' : `TorchScript${r.dynamicBatch ? ', dynamic batch' : ''}`;
  out.push(`exported ${r.factory} -> ${r.output} (${what}, ${(r.bytes / 1024).toFixed(1)} KiB) in ${r.timings.total_s!.toFixed(2)} s with torch ${r.torchVersion}`);
  const tensors = (list: ExportReport['inputs']): string => list.map((t) => `${t.name} ${t.dtype} ${shapeText(t.shape)}`).join(', ');
  out.push(`inputs: ${tensors(r.inputs)}; outputs: ${tensors(r.outputs)}`);
  if (r.fallback) out.push(`method: ${r.method} (asked ${r.methodRequested}): ${r.fallback}`);
  else if (r.traceCheck) out.push(`method: trace; trace check: traced == eager on ${r.traceCheck.inputs_checked.length} inputs (${r.traceCheck.inputs_checked.join(', ')})`);
  else out.push(`method: ${r.method}`);
  if (r.traceCheck?.disagreements.length) {
    const worst = new Map<string, number>();
    for (const d of r.traceCheck.disagreements) worst.set(d.input, Math.max(worst.get(d.input) ?? 0, d.max_abs ?? Infinity));
    out.push(`trace check: traced != eager on ${[...worst].map(([k, v]) => `${k} (max abs ${sci(v)})`).join(', ')}`);
  }
  for (const w of r.traceCheck?.tracer_warnings ?? []) out.push(`TracerWarning: ${w}`);
  out.push('');
  out.push(`parity, exported vs eager PyTorch: |diff| <= ${r.atol} + ${r.rtol} * |eager|`);
  const rows = r.parity.map((p) => [
    p.engine, p.inputs.map((i) => `${i.name}${shapeText(i.shape)}`).join(' '), p.output, sci(p.maxAbs), sci(p.maxRel), p.pass ? 'PASS' : 'FAIL',
  ]);
  out.push(table(['engine', 'inputs', 'output', 'max abs', 'max rel', 'result'], rows).trimEnd());
  for (const p of r.parity) if (p.note) out.push(`note: ${p.output} (${p.case}): ${p.note}`);
  const asGiven = r.parity.filter((p) => p.case === 'as given');
  if (asGiven.length > 0 && asGiven.every((p) => p.pass) && r.parity.some((p) => !p.pass)) {
    out.push('note: it matches at the example batch size only: forward() likely reads the batch size as a Python number, which tracing bakes in (see the TracerWarnings)');
  }
  out.push('');
  out.push(r.pass ? `PASS: ${r.output} matches eager PyTorch` : `FAIL: ${r.output} was written but does not match eager PyTorch`);
  return out.join('\n') + '\n';
}
