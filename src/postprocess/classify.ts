/** Turns a classifier's output row into `{ label, index, score, top }`, the image routes' answer. */
import type { Tensor } from '../tensors/tensor.js';
import type { StringTensor } from '../tensors/v2-codec.js';
import { tensorToJsonData } from '../tensors/v2-codec.js';

export interface ClassScore {
  readonly index: number;
  readonly label: string;
  readonly score: number;
}

export interface Classification extends ClassScore {
  readonly top: readonly ClassScore[];
}

/** Scores of the first row of `t` (softmax applied when asked), best `k` first. */
export function classify(t: Tensor, labels: readonly string[] | undefined, k: number, softmax: boolean): Classification {
  let scores = (tensorToJsonData(t) as number[]).slice(0, t.shape.length > 1 ? t.shape[t.shape.length - 1] : undefined);
  if (softmax) {
    const max = Math.max(...scores);
    const exps = scores.map((s) => Math.exp(s - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    scores = exps.map((e) => e / sum);
  }
  const ranked = scores.map((score, index) => ({ index, label: labels?.[index] ?? String(index), score }))
    .sort((a, b) => b.score - a.score)
    .slice(0, Math.max(1, k));
  const best = ranked[0]!;
  return { label: best.label, index: best.index, score: best.score, top: ranked };
}

/**
 * Triton's classification extension: each row's top `k` as "score:index" or "score:index:label"
 * strings (score printed as C's %f), shape [rows, k] for batched outputs, [k] otherwise.
 */
export function classificationStrings(t: Tensor, k: number, labels: readonly string[] | undefined, batched: boolean): StringTensor {
  const values = tensorToJsonData(t) as number[];
  const rows = batched ? t.shape[0] ?? 1 : 1;
  const per = rows === 0 ? 0 : values.length / rows;
  const top = Math.min(k, per);
  const strings: string[] = [];
  for (let r = 0; r < rows; r++) {
    const row = values.slice(r * per, (r + 1) * per).map((score, index) => ({ score, index }));
    row.sort((a, b) => b.score - a.score);
    for (const { score, index } of row.slice(0, top)) {
      const label = labels?.[index];
      strings.push(`${score.toFixed(6)}:${index}${label !== undefined ? `:${label}` : ''}`);
    }
  }
  return { datatype: 'BYTES', shape: batched ? [rows, top] : [top], strings };
}
