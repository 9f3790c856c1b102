/** Turns a classifier's output row into `{ label, index, score, top }`, the image routes' answer. */
import type { Tensor } from '../tensors/tensor.js';
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
