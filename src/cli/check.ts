/**
 * `ferry check MODEL`: is this a valid ONNX model? Structural checks in the spirit of
 * onnx.checker (SSA, topological order, operators of the imported opsets, input/output counts,
 * attributes, type constraints, tensor data sizes, subgraphs and functions). Lists every error and
 * warning; exits 1 when there is an error.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './args.js';
import { resolveModelPath } from './inspect.js';
import { isFerryError } from '../errors.js';
import type { CheckIssue, CheckReport } from '../onnx/check/index.js';
import { checkModelFile } from '../onnx/check/index.js';
import { plural } from '../onnx/check/report.js';
import type { Model } from '../onnx/ir/model.js';

export const checkHelp = `Usage: ferry check MODEL [--json] [--quiet]

Checks that an ONNX model is valid, as onnx.checker does, against the operator schemas of every
ONNX opset: each value produced once and before it is used (nodes in topological order, no
cycles), graph outputs produced, every operator known to the imported opset, its number of inputs
and outputs, its attributes (unknown, missing, wrong type) and the types of its inputs and outputs
where the model records them, tensor data as large as the dims say, If/Loop/Scan bodies and
model-local functions. Custom-domain operators are reported as warnings, not checked.
MODEL is a .onnx file, or a model folder holding model.onnx (or versions 1/, 2/, ...: the newest).

  --json       print the report as JSON
  -q, --quiet  print errors only, not warnings

Exit status: 0 valid (warnings allowed), 1 errors found or the file is not an ONNX model.

Example:
  ferry check examples/fashion/1/model.onnx
`;

export async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(checkHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'give one model' : 'which model? (a .onnx file)');
  const path = resolveModelPath(positionals[0]!);
  const t0 = performance.now();
  let report: CheckReport & { model: Model };
  try {
    report = await checkModelFile(path);
  } catch (err) {
    if (!values.json || !isFerryError(err)) throw err;
    process.stdout.write(`${JSON.stringify({ file: path, ok: false, code: err.code, error: err.message }, null, 2)}\n`);
    return 1;
  }
  const ms = performance.now() - t0;
  const { model, ...rest } = report;
  const opsets = Object.fromEntries([...model.opsetImports].map(([d, v]) => [d || 'ai.onnx', v]));
  const warnings = values.quiet ? [] : rest.warnings;
  if (values.json) {
    const out = { file: path, ok: rest.ok, nodes: rest.nodes, irVersion: model.irVersion, opsets, errors: rest.errors, warnings, schemas: rest.schemas, ms: Math.round(ms) };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(formatReport(path, model, rest, warnings));
  }
  return rest.ok ? 0 : 1;
}

function line(issue: CheckIssue): string {
  return `${issue.severity.padEnd(8)} ${issue.where}: ${issue.message}\n`;
}

/** The human report: what was checked, one line per error then per warning, and the verdict last. */
export function formatReport(path: string, model: Model, report: CheckReport, warnings: readonly CheckIssue[]): string {
  const opsets = [...model.opsetImports].map(([d, v]) => `${d || 'ai.onnx'} ${v}`).join(', ') || 'none';
  let out = `${path}: IR version ${model.irVersion}, opset ${opsets} (schemas of onnx ${report.schemas.onnx})\n`;
  for (const e of report.errors) out += line(e);
  for (const w of warnings) out += line(w);
  const n = report.errors.length;
  out += n ? `${plural(n, 'error')}\n` : `ok: ${plural(report.nodes, 'node')} checked\n`;
  return out;
}
