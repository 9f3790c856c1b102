/** The text and JSON of an ORT-format conversion report. */
import { table } from '../../report/table.js';
import { formatBytes } from '../../onnx/io/serialize.js';
import type { OrtConvertReport } from './convert.js';

export function ortText(r: OrtConvertReport): string {
  const lines = [
    `wrote     ${r.output}  (${formatBytes(r.ortBytes)}; the .onnx is ${formatBytes(r.onnxBytes)})`,
    `          ${r.config}  (for a reduced build: --include_ops_by_config)`,
    ...r.operators.map((o) => `ops       ${o.domain};${o.opset}: ${o.ops.join(', ')}`),
    '',
  ];
  if (r.parity) {
    lines.push(`parity    ${r.output} vs ${r.input} in ONNX Runtime on ${r.parity.trials} random input sets`);
    lines.push(table(['output', 'dims', 'max |diff|', 'max rel', 'cosine', 'result'], r.parity.outputs.map((o) => [
      o.name, `[${o.shape.join(',')}]`, o.stats.maxAbs.toExponential(2), o.stats.maxRel.toExponential(2), o.stats.cosine.toFixed(6), o.stats.pass ? 'PASS' : 'FAIL',
    ])));
    lines.push(r.parity.pass ? 'PASS' : 'FAIL: the .ort computes other outputs than the .onnx');
  } else {
    lines.push('parity    not checked (--no-verify)');
  }
  return `${lines.join('\n')}\n`;
}

export function ortJson(r: OrtConvertReport): Record<string, unknown> {
  return { ...r };
}
