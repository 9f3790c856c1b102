/**
 * The pass interface: a named rewrite of a model, run in place. `ferry simplify` runs the
 * registered passes (registry.ts) in order, repeatedly, until none changes anything.
 */
import type { Model } from '../ir/model.js';
import type { ShapeTable } from '../shape-inference.js';
import { inferShapes } from '../shape-inference.js';

export interface PassContext {
  /**
   * What is known about the main graph's values (types, shapes, small constant values) for the
   * model as it is now: inferred on first use after a change, shared by the passes until the
   * next pass that changes something. A pass that rewrites the graph must not trust facts about
   * values it has just rewritten.
   */
  facts(): ShapeTable;
  /**
   * Constant folding leaves a node unfolded when one of its outputs is over this many bytes and
   * over twice its inputs' bytes (onnxsim's guard against folding `Expand` into a huge tensor).
   * @defaultValue 1 MiB
   */
  readonly foldSizeLimitBytes: number;
}

export interface Pass {
  /** kebab-case, unique: what `--skip` takes. */
  readonly name: string;
  /** One line for `ferry simplify --help`. */
  readonly description: string;
  /** Rewrites the model in place; returns how many rewrites it made (0: nothing to do). */
  run(model: Model, context: PassContext): number | Promise<number>;
}

export interface PassContextOptions {
  /** @defaultValue 1 MiB */
  foldSizeLimitBytes?: number;
}

/** A context over `model`; call `invalidate()` after changing the model outside a pass. */
export function createPassContext(model: Model, options: PassContextOptions = {}): PassContext & { invalidate(): void } {
  let cached: ShapeTable | undefined;
  return {
    facts: () => (cached ??= inferShapes(model.graph)),
    invalidate: () => { cached = undefined; },
    foldSizeLimitBytes: options.foldSizeLimitBytes ?? 2 ** 20,
  };
}
