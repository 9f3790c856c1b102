/**
 * `low_confidence` for the image routes: the top score is low, or the picture is unlike what the
 * model was trained on. A cheap, declared signal — not an out-of-distribution detector: it catches
 * blank pictures, pictures of the wrong polarity or exposure, and undecided answers.
 */
import type { LowConfidenceConfig } from '../preprocess/image-config.js';

export interface ConfidenceInput {
  /** The top class's score (a probability when the route applies softmax). */
  readonly topScore: number;
  /** |mean| of the normalized input, in the training data's standard deviations. */
  readonly inputShift: number;
  /** False when trimming found nothing that stands out from the background. */
  readonly objectFound?: boolean;
}

export interface Confidence {
  readonly low: boolean;
  /** Why it is low, one clause each; empty when it is not. */
  readonly reasons: readonly string[];
}

export function judgeConfidence(c: ConfidenceInput, cfg: LowConfidenceConfig): Confidence {
  const reasons: string[] = [];
  if (c.objectFound === false) reasons.push('nothing in the picture stands out from its background');
  if (c.topScore < cfg.minScore) reasons.push(`the top score ${c.topScore.toFixed(3)} is below ${cfg.minScore}`);
  if (c.inputShift > cfg.maxInputShift) {
    reasons.push(`the picture's mean is ${c.inputShift.toFixed(2)} standard deviations from the training data's (more than ${cfg.maxInputShift})`);
  }
  return { low: reasons.length > 0, reasons };
}
