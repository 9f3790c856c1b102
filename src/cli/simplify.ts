/**
 * `ferry simplify IN OUT`: onnx-simplifier's and onnxoptimizer's passes (constant folding, shape
 * folding, BatchNormalization folding, no-op removal ...), then a check on ONNX Runtime that the
 * result computes what IN does. Exit 0 only when OUT was written.
 */
import { parseArgs } from 'node:util';
import { UsageError, intFlag, listFlag, numFlag } from './args.js';
import { resolveModelPath } from './inspect.js';
import { parseShapeOverrides } from '../tensors/inputs.js';
import { sci, table } from '../report/table.js';
import { meanAbs } from '../tensors/metrics.js';
import { FerryError } from '../errors.js';
import { formatBytes } from '../onnx/io/serialize.js';
import { PASSES } from '../onnx/passes/registry.js';
import type { InputShape, SimplifyFileReport } from '../onnx/simplify.js';
import { simplifyFile } from '../onnx/simplify.js';

const passList = PASSES.map((p) => `  ${p.name.padEnd(30)} ${p.description}`).join('\n');

export const simplifyHelp = `Usage: ferry simplify IN OUT [options]

Simplifies an ONNX model for serving: the passes below, in order, repeated until none changes
anything (at most 10 rounds). Then IN and the result run on onnxruntime-node (graph optimizations
off) on the same random inputs, and OUT is written only if every output agrees:
|simplified - original| <= atol + rtol * |original| elementwise. Exit status 0 only when OUT was written.

  --input-shape N:DIMS   fix input N's dims, e.g. x:1,3,224,224 (repeatable; unnamed DIMS go to the
                         inputs in order). OUT declares these dims and is only valid for them; shape
                         arithmetic on them (Shape -> Gather -> Concat -> Reshape) folds to constants.
                         The check feeds these dims; other symbolic dims get 1
  --skip P1,P2           passes not to run (names below)
  --n N                  random input sets for the check (default 3): normal floats, ints in 0..9
  --seed N               seed of the random inputs (default 0)
  --rtol F               relative tolerance (default 1e-4)
  --atol F               absolute tolerance (default 1e-5)
  --max-rounds N         rounds of passes at most (default 10)
  --json                 print the report as JSON on stdout

Passes:
${passList}

Examples:
  ferry simplify resnet18.onnx resnet18.sim.onnx
  ferry simplify det.onnx det.sim.onnx --input-shape x:1,3,640,640 --skip fuse-matmul-add-into-gemm
`;

export async function simplify(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'input-shape': { type: 'string', multiple: true }, skip: { type: 'string', multiple: true }, n: { type: 'string' },
      seed: { type: 'string' }, rtol: { type: 'string' }, atol: { type: 'string' }, 'max-rounds': { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(simplifyHelp);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('give the model to read and the file to write: ferry simplify IN OUT');
  const [input, output] = [resolveModelPath(positionals[0]!), positionals[1]!];
  let inputShapes: InputShape[];
  try {
    inputShapes = parseShapeOverrides(values['input-shape'] ?? []).map((o) => {
      if (o.datatype) throw new Error(`--input-shape ${o.name ?? ''}: ferry simplify takes dims only (the model declares the dtype)`);
      return { ...(o.name !== undefined && { name: o.name }), shape: o.shape };
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const skip = (values.skip ?? []).flatMap((s) => listFlag(s) ?? []);
  for (const name of skip) {
    if (!PASSES.some((p) => p.name === name)) throw new UsageError(`--skip ${name}: no such pass; the passes are ${PASSES.map((p) => p.name).join(', ')}`);
  }
  const report = await simplifyFile(input, output, {
    inputShapes, skip,
    trials: intFlag(values.n, 'n', 1) ?? 3,
    seed: intFlag(values.seed, 'seed') ?? 0,
    rtol: numFlag(values.rtol, 'rtol') ?? 1e-4,
    atol: numFlag(values.atol, 'atol') ?? 1e-5,
    maxRounds: intFlag(values['max-rounds'], 'max-rounds', 1) ?? 10,
  });
  process.stdout.write(values.json ? `${JSON.stringify(simplifyJson(report), null, 2)}\n` : simplifyText(report));
  if (!report.written) throw new FerryError('SIMPLIFY_MISMATCH', report.failure!);
  return 0;
}

const int = (n: number) => n.toLocaleString('en-US');

export function simplifyText(r: SimplifyFileReport): string {
  const out: string[] = [];
  const s = r.simplify;
  out.push(`${r.written ? 'simplified' : 'NOT written:'} ${r.input} -> ${r.output} in ${(r.timings.totalMs / 1000).toFixed(2)} s (passes ${(r.timings.passesMs / 1000).toFixed(2)} s, ${s.rounds} round${s.rounds === 1 ? '' : 's'}${s.converged ? '' : ', stopped before a fixed point'}; check ${(r.timings.checkMs / 1000).toFixed(2)} s)`);
  out.push('');
  out.push(table(['', 'nodes', 'initializers', 'bytes'], [
    ['before', int(r.before.nodes), int(r.before.initializers), formatBytes(r.before.bytes)],
    ['after', int(r.after.nodes), int(r.after.initializers), formatBytes(r.after.bytes)],
  ]).trimEnd());
  out.push('');
  out.push(table(['pass', 'runs', 'changes', 'nodes removed', 'ms'], s.passes.map((p) => [
    p.name, String(p.runs), int(p.changes), int(p.nodesRemoved), p.ms.toFixed(1),
  ])).trimEnd());
  out.push('');
  const c = r.check;
  out.push(`check: ${c.trials} random input set(s) (${c.inputs.map((i) => `${i.name}[${i.shape.join(',')}]`).join(', ')}, seed ${c.seed}), |simplified - original| <= ${c.atol} + ${c.rtol} * |original|`);
  out.push(table(['output', 'shape', 'max abs', 'mean abs', 'max rel', 'mismatched', 'result'], c.outputs.map((o) => [
    o.name, `[${o.shape.join(',')}]`, sci(o.stats.maxAbs), sci(meanAbs(o.stats)), sci(o.stats.maxRel), `${o.stats.mismatched}/${o.stats.elements}`, o.stats.pass ? 'PASS' : 'FAIL',
  ])).trimEnd());
  for (const o of c.outputs) if (o.stats.note) out.push(`note: ${o.name}: ${o.stats.note}`);
  out.push('');
  out.push(r.written ? `PASS: wrote ${r.output}` : `FAIL: ${r.failure}`);
  return `${out.join('\n')}\n`;
}

const num = (n: number): number | null => (Number.isFinite(n) ? n : null);

export function simplifyJson(r: SimplifyFileReport): Record<string, unknown> {
  return {
    ...r,
    check: {
      ...r.check,
      outputs: r.check.outputs.map((o) => ({
        name: o.name, shape: o.shape, maxAbs: num(o.stats.maxAbs), meanAbs: num(meanAbs(o.stats)), maxRel: num(o.stats.maxRel),
        mismatched: o.stats.mismatched, elements: o.stats.elements, pass: o.stats.pass, ...(o.stats.note && { note: o.stats.note }),
      })),
    },
  };
}
