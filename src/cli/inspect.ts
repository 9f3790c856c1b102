/**
 * `ferry inspect MODEL`: what an ONNX model is — versions, inputs and outputs with their dims,
 * an operator histogram, parameters, the largest initializers and external data files — as
 * aligned tables, or JSON with --json. Reads no weights (external data files are only stat'ed).
 */
import { parseArgs } from 'node:util';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, intFlag } from './args.js';
import { table } from '../bench/report.js';
import { loadModel } from '../onnx/io/load.js';
import { formatBytes } from '../onnx/io/serialize.js';
import type { ModelSummary, ValueSummary } from '../onnx/summary.js';
import { summarizeModel } from '../onnx/summary.js';

export const inspectHelp = `Usage: ferry inspect MODEL [--json] [--top N]

Describes an ONNX model without running it: IR and opset versions, producer, inputs and
outputs with their dims (symbolic dims by name, e.g. batch), the count of each operator,
parameter count and bytes, the largest initializers, and external data files.
MODEL is a .onnx file, or a model folder holding model.onnx (or versions 1/, 2/, ...: the newest).

  --json     print the report as JSON
  --top N    list the N largest initializers (default 10)

Example:
  ferry inspect examples/fashion/1/model.onnx
`;

export async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, top: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(inspectHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'give one model' : 'which model? (a .onnx file)');
  const path = resolveModelPath(positionals[0]!);
  const top = intFlag(values.top, 'top') ?? 10;
  const model = await loadModel(path, { verifyExternalData: false });
  const summary = summarizeModel(model, { top });
  const fileBytes = statSync(path).size;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ file: path, fileBytes, ...summary }, null, 2)}\n`);
  } else {
    process.stdout.write(formatSummary(path, fileBytes, summary));
  }
  return 0;
}

/** A .onnx path as given, or the model.onnx in a model folder (in its newest numbered version folder). */
export function resolveModelPath(path: string): string {
  let info;
  try {
    info = statSync(path);
  } catch {
    return path; // loadModel reports the missing file with its code
  }
  if (!info.isDirectory()) return path;
  const direct = join(path, 'model.onnx');
  if (isFile(direct)) return direct;
  const versions = readdirSync(path).filter((d) => /^\d+$/.test(d) && isFile(join(path, d, 'model.onnx'))).sort((a, b) => Number(b) - Number(a));
  if (versions[0]) return join(path, versions[0], 'model.onnx');
  throw new UsageError(`${path} is a folder without model.onnx (or version folders holding one)`);
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

const int = (n: number) => n.toLocaleString('en-US');
const shape = (s: readonly unknown[] | null) => (s ? `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : 'unknown rank');

/** The human report: a few key lines, then one aligned table per section. */
export function formatSummary(path: string, fileBytes: number, s: ModelSummary): string {
  const opsets = s.opsets.map((o) => `${o.domain} ${o.version}`).join(', ') || 'none';
  const producer = [s.producer.name, s.producer.version].filter(Boolean).join(' ') || 'unknown';
  const lines = [
    `model       ${path} (${formatBytes(fileBytes)})`,
    `format      ONNX IR version ${s.irVersion}, opset ${opsets}`,
    `producer    ${producer}`,
    `graph       ${s.graphName || '(unnamed)'}: ${int(s.nodeCount)} nodes, ${int(s.parameters.initializers)} initializers`,
    `parameters  ${int(s.parameters.count)} (${formatBytes(s.parameters.bytes)})`,
  ];
  for (const [k, v] of Object.entries(s.metadata)) lines.push(`metadata    ${k} = ${v}`);
  const values = (list: readonly ValueSummary[]) => (list.length ? table(['name', 'dtype', 'shape'], list.map((v) => [v.name, v.dtype, shape(v.shape)])) : 'none\n');
  const sections = [
    lines.join('\n') + '\n',
    `inputs\n${values(s.inputs)}`,
    `outputs\n${values(s.outputs)}`,
    `operators (${s.operators.length} types, ${int(s.nodeCount)} nodes)\n${s.operators.length ? table(['op', 'count'], s.operators.map((o) => [o.op, String(o.count)])) : 'none\n'}`,
  ];
  if (s.functions.length) {
    sections.push(`functions\n${table(['name', 'domain', 'nodes'], s.functions.map((f) => [f.name, f.domain, String(f.nodes)]))}`);
  }
  if (s.largestInitializers.length) {
    sections.push(`largest initializers\n${table(['name', 'dtype', 'shape', 'bytes', 'where'], s.largestInitializers.map((t) => [
      t.name, t.dtype, shape(t.shape), int(t.bytes), t.external ? 'external' : 'inline',
    ]))}`);
  }
  sections.push(s.externalData.length
    ? `external data\n${table(['file', 'tensors', 'bytes', 'status'], s.externalData.map((e) => [
      e.location, String(e.tensors), int(e.bytes), e.exists ? `${int(e.fileBytes!)} bytes on disk` : 'MISSING',
    ]))}`
    : 'external data  none\n');
  return sections.join('\n');
}
