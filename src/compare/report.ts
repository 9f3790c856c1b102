/** Text and JSON forms of a compare report (also the parity table of `ferry export`). */
import type { CompareReport } from './compare.js';
import { sci, shapeText, table } from '../report/table.js';
import { meanAbs } from '../tensors/metrics.js';
import { numpyName } from '../tensors/inputs.js';
import type { OutputStats } from '../tensors/metrics.js';

function top1Cell(s: OutputStats): string {
  return s.top1 ? `${s.top1.agree}/${s.top1.rows}` : '-';
}

export function compareText(r: CompareReport): string {
  const out: string[] = [];
  out.push(`A  ${r.a.model}  ${r.a.engine}  ${r.a.msPerTrial.toFixed(2)} ms/run`);
  out.push(`B  ${r.b.model}  ${r.b.engine}  ${r.b.msPerTrial.toFixed(2)} ms/run`);
  const ins = r.inputs.map((i) => `${i.name} ${numpyName(i.datatype)} ${shapeText(i.shape)}`).join(', ');
  out.push(r.source === 'file' ? `inputs: ${ins} (given)` : `inputs: ${ins}; ${r.trials} random set(s), seed ${r.seed}`);
  out.push(`check: |A - B| <= ${r.atol} + ${r.rtol} * |B| elementwise (numpy.allclose)`);
  out.push('');
  const rows = r.outputs.map((o) => [
    o.name === o.nameB ? o.name : `${o.name} ~ ${o.nameB}`, shapeText(o.shape), sci(o.stats.maxAbs), sci(meanAbs(o.stats)),
    sci(o.stats.maxRel), Number.isNaN(o.stats.cosine) ? '-' : o.stats.cosine.toFixed(6), top1Cell(o.stats),
    `${o.stats.mismatched}/${o.stats.elements}`, o.stats.pass ? 'PASS' : 'FAIL',
  ]);
  out.push(table(['output', 'shape', 'max abs', 'mean abs', 'max rel', 'cosine', 'top-1', 'mismatched', 'result'], rows).trimEnd());
  for (const o of r.outputs) if (o.stats.note) out.push(`note: ${o.name}: ${o.stats.note}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  const failed = r.outputs.filter((o) => !o.stats.pass).length;
  out.push('');
  out.push(r.pass ? `PASS: ${r.outputs.length} output(s) match` : `FAIL: ${failed} of ${r.outputs.length} output(s) differ beyond tolerance${r.notes.length ? ' (see notes)' : ''}`);
  return out.join('\n') + '\n';
}

const num = (n: number): number | null => (Number.isFinite(n) ? n : null);

export function compareJson(r: CompareReport): Record<string, unknown> {
  return {
    pass: r.pass,
    a: r.a,
    b: r.b,
    inputs: r.inputs,
    source: r.source,
    trials: r.trials,
    seed: r.seed,
    atol: r.atol,
    rtol: r.rtol,
    outputs: r.outputs.map((o) => ({
      name: o.name, ...(o.nameB !== o.name && { nameB: o.nameB }), shape: o.shape,
      maxAbs: num(o.stats.maxAbs), meanAbs: num(meanAbs(o.stats)), maxRel: num(o.stats.maxRel), cosine: num(o.stats.cosine),
      top1: o.stats.top1 ?? null, mismatched: o.stats.mismatched, elements: o.stats.elements, pass: o.stats.pass,
      ...(o.stats.note && { note: o.stats.note }),
    })),
    notes: r.notes,
  };
}
