/** The `image:` block of a model config: how the image routes turn a picture into the model's input. */

export type ImageColor = 'gray' | 'rgb' | 'bgr';

/** Preprocessing of the image routes, declared per model: pixel → (pixel * scale - mean) / std. */
export interface ImageConfig {
  /** Model input that takes the image; default the first. */
  readonly input?: string;
  readonly width: number;
  readonly height: number;
  readonly color: ImageColor;
  /** Multiplies each 0..255 pixel first. @defaultValue 1/255 */
  readonly scale: number;
  /** Per channel (or one for all). @defaultValue [0] */
  readonly mean: readonly number[];
  /** Per channel (or one for all). @defaultValue [1] */
  readonly std: readonly number[];
  readonly layout: 'NCHW' | 'NHWC';
  /** Apply softmax to the classifier output before scoring. @defaultValue false */
  readonly softmax: boolean;
  /** Classes listed in `top`. @defaultValue 5 */
  readonly topK: number;
  /** Resize fit: 'fill' stretches, 'cover' crops the centre, 'contain' keeps the aspect and pads with `background`. @defaultValue 'fill' */
  readonly fit: 'fill' | 'cover' | 'contain';
  /** Colour `contain` pads with: 'auto' is the image's own background (the median of its border), else 0..255 per channel. @defaultValue 'auto' */
  readonly background: 'auto' | readonly number[];
  /**
   * Invert pixels (255 - p) before anything else: 'auto' inverts when the border is lighter than the
   * centre — a dark object on a light ground, for models trained light-on-dark (Fashion-MNIST, MNIST).
   * @defaultValue false
   */
  readonly invert: 'auto' | boolean;
  /**
   * Crop to the object first: the box of pixels that differ from the background by more than
   * `threshold` (0..255, default 16), widened by `margin` (a share of its size, default 0). As
   * Fashion-MNIST was made: trimmed, then the longest side fitted. Undefined = no crop.
   */
  readonly trim?: { readonly threshold: number; readonly margin: number };
  /** When the `/image` answer says `low_confidence: true`. Undefined = never. */
  readonly lowConfidence?: LowConfidenceConfig;
}

/**
 * The signals behind `low_confidence`: a low top score, or an input unlike the training data
 * (a blank image; or normalized pixels whose mean strays from the training data's, which the
 * config's mean/std describe: a model normalized to mean 0 sees images with mean near 0).
 */
export interface LowConfidenceConfig {
  /** Top score (softmax probability when `softmax`) below which the answer is low confidence. @defaultValue 0.5 */
  readonly minScore: number;
  /** Largest |mean| of the normalized input, in training standard deviations. @defaultValue 1.5 */
  readonly maxInputShift: number;
}
