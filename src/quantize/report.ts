/** The quantization report as text (for people) and as JSON (`--json`, NaN as null). */
import { sci, table } from '../report/table.js';
import { formatBytes } from '../onnx/io/serialize.js';
import type { QuantizeReport } from './quantize.js';
import { weightLabel } from './cpu.js';
import { isIntegerOp } from './fusion.js';

const counts = (r: Record<string, number>): string => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
const modeLabel: Record<QuantizeReport['mode'], string> = { fp16: 'float16', 'int8-static': 'int8, static QDQ', 'int8-dynamic': 'int8, dynamic' };

export function quantizeText(r: QuantizeReport): string {
  const out: string[] = [];
  const conv = r.mode === 'fp16' ? 'fp16' : 'int8';
  out.push(`quantized ${r.input} -> ${r.output} (${modeLabel[r.mode]}) in ${(r.ms / 1000).toFixed(1)} s`);
  out.push('');
  const rows: string[][] = [['size', `${formatBytes(r.size.beforeBytes)} -> ${formatBytes(r.size.afterBytes)} (${r.size.ratio.toFixed(2)}x smaller)`]];
  if (r.int8Scheme) rows.push(['target cpu', `${r.int8Scheme.target}: ${r.int8Scheme.why}`]);
  if (r.static) {
    const total = Object.values(r.static.nodes).reduce((a, b) => a + b, 0);
    rows.push(['quantized', `${counts(r.static.nodes)} (${total} nodes); ${r.static.quantizedTensors} activations (${r.settings.activationType}), ${r.static.weights} weights (${r.int8Scheme ? weightLabel(r.int8Scheme.weightRange, r.int8Scheme.weightType) : 'int8'}${r.settings.perChannel ? ', per channel' : ''}), ${r.static.removedActivations} Relu/Clip folded${r.static.domain ? `; Q/DQ in ${r.static.domain} (opset < 13)` : ''}`]);
    if (r.static.autoExclude) {
      const a = r.static.autoExclude;
      rows.push(['auto-exclude', `pooled cosine on 16 calibration samples: ${a.rounds.map((x) => `${x.cosine.toFixed(4)} (${x.floatTensors} tensors float)`).join(' -> ')}`]);
    }
    if (r.static.skipped.length) rows.push(['left float', r.static.skipped.slice(0, 6).map((s) => `${s.opType} "${s.node}" (${s.reason})`).join('; ') + (r.static.skipped.length > 6 ? `; ... ${r.static.skipped.length - 6} more` : '')]);
  }
  if (r.dynamic) {
    rows.push(['quantized', `${counts(r.dynamic.nodes)}; ${r.dynamic.weights} weights ${r.int8Scheme ? weightLabel(r.int8Scheme.weightRange, r.int8Scheme.weightType) : 'int8'}${r.settings.perChannel ? ', per column' : ''}, activations uint8 per input at run time`]);
    if (r.dynamic.skipped.length) rows.push(['left float', r.dynamic.skipped.slice(0, 6).map((s) => `${s.opType} "${s.node}" (${s.reason})`).join('; ')]);
  }
  if (r.fp16) {
    rows.push(['converted', `${r.fp16.initializers} initializers to float16 (${r.fp16.clamped} values clamped into range), ${r.fp16.casts} Casts inserted`]);
    const flow = ['If', 'Loop', 'Scan'].filter((op) => r.fp16!.blockedOps[op]);
    rows.push(['kept fp32', `${r.fp16.blockedNodes ? counts(r.fp16.blockedOps) : 'none'}${flow.length ? ` (control flow: their subgraphs run in float32; float16 values they read are cast back)` : ''}`]);
  }
  if (r.calibration) rows.push(['calibration', `${r.calibration.data}; ${r.calibration.method}${r.calibration.percentile !== undefined ? ` ${r.calibration.percentile}` : ''}; ${r.calibration.tensors} tensors; ${(r.calibration.ms / 1000).toFixed(1)} s`]);
  if (r.fusion) rows.push(['onnxruntime', `${r.fusion.integerOps} integer kernels (${counts(Object.fromEntries(Object.entries(r.fusion.ops).filter(([op]) => isIntegerOp(op))))}); ${r.fusion.unfusedQdq} Q/DQ left unfused; ${r.fusion.floatHeavyOps} Conv/Gemm/MatMul left in float`]);
  const w = Math.max(...rows.map((x) => x[0]!.length));
  for (const [k, v] of rows) out.push(`${k!.padEnd(w)}  ${v}`);
  if (r.throughput?.length) {
    out.push('');
    out.push('throughput, in process on onnxruntime-node (inferences/s, best of alternating timed loops):');
    out.push(table(['batch', 'float', conv, 'speedup'], r.throughput.map((t) => [String(t.batch), t.before.toFixed(1), t.after.toFixed(1), `${t.speedup.toFixed(2)}x`])).trimEnd());
  }
  if (r.accuracy) {
    out.push('');
    out.push(`accuracy on ${r.accuracy.data} (output ${r.accuracy.output}): top-1 ${pct(r.accuracy.before)} float -> ${pct(r.accuracy.after)} ${conv} (${r.accuracy.dropPoints >= 0 ? '-' : '+'}${Math.abs(r.accuracy.dropPoints).toFixed(2)} points)`);
  }
  if (r.agreement) {
    out.push('');
    out.push(`agreement with float on ${r.agreement.data}${r.agreement.heldOut ? '' : ' (calibration samples: none held out)'}, cosine per sample:`);
    out.push(table(['output', 'min cosine', 'mean cosine', 'pooled cosine', 'worst sample', 'top-1 agreement', 'max abs', 'mean abs'], r.agreement.outputs.map((o) => [
      o.name, o.cosine.toFixed(5), o.meanCosine.toFixed(5), o.pooledCosine.toFixed(5), String(o.worstSample), o.top1Agreement === undefined ? '-' : pct(o.top1Agreement), sci(o.maxAbs), sci(o.meanAbs),
    ])).trimEnd());
  }
  out.push('');
  out.push(r.verdict.pays ? `verdict: ${conv} pays on this machine` : `verdict: ${conv} DOES NOT PAY on this machine`);
  for (const m of r.verdict.messages) out.push(`  - ${m}`);
  return `${out.join('\n')}\n`;
}

/** JSON-safe: non-finite numbers become null. */
export function quantizeJson(r: QuantizeReport): unknown {
  return JSON.parse(JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}
