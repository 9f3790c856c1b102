/** The text and JSON of an ncnn conversion report. */
import { table } from '../../report/table.js';
import { formatBytes } from '../../onnx/io/serialize.js';
import type { NcnnConvertReport } from './convert.js';

/** The fp32 bar an ncnn model must clear against ONNX Runtime (the issue's zoo targets). */
export const FP32_BAR = { cosine: 0.9999, relRange: 1e-3 } as const;
/** fp16 weights. */
export const FP16_BAR = { cosine: 0.999, relRange: Infinity } as const;
/** int8 weights and inputs: what a calibrated network keeps (cosine), on calibration samples. */
export const INT8_BAR = { cosine: 0.99, relRange: Infinity } as const;

export function parityBar(r: Pick<NcnnConvertReport, 'storage'>): { cosine: number; relRange: number } {
  return r.storage === 'int8' ? INT8_BAR : r.storage === 'fp16' ? FP16_BAR : FP32_BAR;
}

/** True when the parity check ran and met the bar of the storage type. */
export function parityPasses(r: NcnnConvertReport): boolean | undefined {
  if (!r.parity) return undefined;
  const bar = parityBar(r);
  return r.parity.minCosine >= bar.cosine && r.parity.maxRelRange <= bar.relRange;
}

export function ncnnText(r: NcnnConvertReport): string {
  const lines: string[] = [];
  lines.push(`wrote     ${r.param}  (${r.layers} layers, ${r.blobs} blobs)`);
  lines.push(`          ${r.bin}  (${formatBytes(r.binBytes)}, ${r.storage} weights)`);
  if (r.table) lines.push(`          ${r.table}  (ncnn2table format: feeds ncnn2int8 too)`);
  lines.push(`from      ${r.input}: ${r.nodes} ONNX nodes after simplification`);
  lines.push(`layers    ${r.layerTypes.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  const fused = Object.entries(r.passes).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  if (fused.length) lines.push(`fused     ${fused.join(', ')}`);
  lines.push('');
  lines.push(table(['blob', 'role', 'onnx dims', 'ncnn dims'], [
    ...r.inputs.map((b) => [b.blob, 'input', `[${b.shape.join(',')}]`, `[${b.ncnnShape.join(',')}]`]),
    ...r.outputs.map((b) => [b.blob, 'output', `[${b.shape.join(',')}]`, `[${b.ncnnShape.join(',')}]`]),
  ]));
  if (r.int8) {
    lines.push('');
    lines.push(`int8      ${r.int8.quantized} layers calibrated (${r.int8.method}) on ${r.int8.description}${r.int8.skipped.length ? `; left float: ${r.int8.skipped.join(', ')}` : ''}`);
  }
  lines.push('');
  if (r.parity) {
    const bar = parityBar(r);
    lines.push(`parity    ncnn ${r.parity.ncnnVersion} vs ONNX Runtime on ${r.parity.trials} ${r.parity.source} (${r.parity.ncnnMs.toFixed(2)} ms/run in ncnn, 1 thread)`);
    lines.push(table(['output', 'dims', 'min cosine', 'max |diff|', 'max |diff| / range', 'top-1 agree'], r.parity.outputs.map((o) => [
      o.name, `[${o.shape.join(',')}]`, o.cosine.toFixed(6), o.maxAbs.toExponential(2), o.maxRelRange.toExponential(2), `${o.top1Agree}/${r.parity!.trials}`,
    ])));
    const ok = parityPasses(r);
    lines.push(`${ok ? 'PASS' : 'FAIL'}: cosine >= ${bar.cosine}${Number.isFinite(bar.relRange) ? ` and max |diff| <= ${bar.relRange} of the output range` : ''} (${r.storage} weights)`);
  } else {
    lines.push(`parity    ${r.parityNote ?? 'not checked (--no-verify)'}`);
  }
  return `${lines.join('\n')}\n`;
}

export function ncnnJson(r: NcnnConvertReport): Record<string, unknown> {
  const { int8, ...rest } = r;
  return {
    ...rest, layerTypes: Object.fromEntries(r.layerTypes),
    ...(int8 && { int8: { method: int8.method, samples: int8.samples, description: int8.description, quantized: int8.quantized, skipped: int8.skipped, ms: int8.ms } }),
    ...(r.parity && { pass: parityPasses(r) }),
  };
}
