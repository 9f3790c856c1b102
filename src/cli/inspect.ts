/**
 * `ferry inspect MODEL`: what an ONNX model is — versions, inputs and outputs with their dims,
 * an operator histogram, parameters, the largest initializers and external data files — as
 * aligned tables, or JSON with --json. Reads no weights (external data files are only stat'ed).
 */
import { parseArgs } from 'node:util';
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, intFlag } from './args.js';
import { table } from '../report/table.js';
import { loadModel } from '../onnx/io/load.js';
import { formatBytes } from '../onnx/io/serialize.js';
import type { ModelSummary, ValueSummary } from '../onnx/summary.js';
import { summarizeModel } from '../onnx/summary.js';
import { findPython } from '../bridge/python.js';
import { runBridge } from '../bridge/bridge.js';

export const inspectHelp = `Usage: ferry inspect MODEL [--json] [--top N] [--python P]

Describes an ONNX model without running it: IR and opset versions, producer, inputs and
outputs with their dims (symbolic dims by name, e.g. batch), the count of each operator,
parameter count and bytes, the largest initializers, and external data files.
MODEL is a .onnx file, or a model folder holding model.onnx (or versions 1/, 2/, ...: the newest).
A TorchScript file (.pt/.zip, from torch.jit.save or ferry export --to torchscript) is described
through the PyTorch bridge: forward()'s signature, submodules, parameters, and its code (what
torch.jit.trace recorded, or torch.jit.script compiled).

  --json       print the report as JSON
  --top N      list the N largest initializers (default 10)
  --python P   interpreter with torch, for TorchScript (default: FERRY_PYTHON, python3, /usr/bin/python3)

Example:
  ferry inspect examples/fashion/1/model.onnx
`;

export async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, top: { type: 'string' }, python: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(inspectHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'give one model' : 'which model? (a .onnx file)');
  const path = resolveModelPath(positionals[0]!);
  if (isZip(path)) return inspectTorchScript(path, values.python, values.json === true);
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

/** TorchScript files are ZIP archives (PK\x03\x04); ONNX files are protobuf. */
function isZip(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(4);
      return readSync(fd, head, 0, 4, 0) === 4 && head.toString('latin1') === 'PK\x03\x04';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

interface TorchScriptSummary {
  originalName: string;
  inputs: { name: string; type: string }[];
  outputs: { name: string; type: string }[];
  parameters: number;
  parameterBytes: number;
  buffers: number;
  submodules: { name: string; type: string }[];
  code: string;
  torch_version: string;
}

async function inspectTorchScript(path: string, python: string | undefined, json: boolean): Promise<number> {
  const found = await findPython({ python });
  // No progress to show; a failure's last line comes back in the error.
  const s = await runBridge<TorchScriptSummary>('inspect', [path], { python: found });
  if (json) {
    process.stdout.write(`${JSON.stringify({ file: path, fileBytes: statSync(path).size, format: 'torchscript', ...s }, null, 2)}\n`);
    return 0;
  }
  const sig = (list: { name: string; type: string }[]) => (list.length ? table(['name', 'type'], list.map((v) => [v.name, v.type])) : 'none\n');
  const lines = [
    `model       ${path} (${formatBytes(statSync(path).size)})`,
    `format      TorchScript (torch ${s.torch_version}), module ${s.originalName}`,
    `parameters  ${int(s.parameters)} (${formatBytes(s.parameterBytes)}), ${int(s.buffers)} buffer elements`,
  ];
  const sections = [
    lines.join('\n') + '\n',
    `inputs\n${sig(s.inputs)}`,
    `outputs\n${sig(s.outputs)}`,
  ];
  if (s.submodules.length) sections.push(`submodules\n${table(['name', 'type'], s.submodules.map((m) => [m.name, m.type]))}`);
  sections.push(`code\n${s.code.trimEnd()}\n`);
  process.stdout.write(sections.join('\n'));
  return 0;
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
