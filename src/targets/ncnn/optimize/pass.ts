/**
 * A rewrite of the ncnn net, as ncnnoptimize's passes are: fusing an activation into the
 * convolution before it, a bias Add into an InnerProduct, op sequences into the one ncnn layer
 * that computes them. `outputs` are the blobs the user reads: never fused away.
 */
import type { Net } from '../net.js';

export interface NetPass {
  readonly name: string;
  readonly description: string;
  /** Rewrites `net` in place; returns the number of rewrites. */
  run(net: Net, outputs: ReadonlySet<string>): number;
}
