/**
 * The passes of `ferry simplify`, in the order they run (the order matters: Constants become
 * initializers before anything looks for constants; Identity goes before folding so that weights
 * shared through Identity are not copied; dead nodes and initializers go last). Each pass is one
 * file; `--skip NAME` leaves one out.
 */
import type { Pass } from './pass.js';
import { constantToInitializer } from './constant-to-initializer.js';
import { eliminateIdentity } from './eliminate-identity.js';
import { eliminateDropout } from './eliminate-dropout.js';
import { eliminateNoopCast } from './eliminate-noop-cast.js';
import { eliminateNoopTranspose } from './eliminate-noop-transpose.js';
import { fuseTransposes } from './fuse-transposes.js';
import { foldShapes } from './fold-shapes.js';
import { foldConstants } from './fold-constants.js';
import { fuseReshapes } from './fuse-reshapes.js';
import { eliminateNoopReshape } from './eliminate-noop-reshape.js';
import { eliminateCommonSubexpressions } from './eliminate-common-subexpressions.js';
import { eliminateNoopArithmetic } from './eliminate-noop-arithmetic.js';
import { fuseBnIntoConv } from './fuse-bn-into-conv.js';
import { fuseMulIntoConv } from './fuse-mul-into-conv.js';
import { fuseAddIntoConv } from './fuse-add-into-conv.js';
import { fuseMatmulAddIntoGemm } from './fuse-matmul-add-into-gemm.js';
import { eliminateDeadNodes } from './eliminate-dead-nodes.js';
import { eliminateUnusedInitializers } from './eliminate-unused-initializers.js';
import { eliminateDuplicateInitializers } from './eliminate-duplicate-initializers.js';

export const PASSES: readonly Pass[] = Object.freeze([
  constantToInitializer,
  eliminateIdentity,
  eliminateDropout,
  eliminateNoopCast,
  eliminateNoopTranspose,
  fuseTransposes,
  eliminateCommonSubexpressions,
  foldShapes,
  foldConstants,
  fuseReshapes,
  eliminateNoopReshape,
  eliminateNoopArithmetic,
  fuseBnIntoConv,
  fuseMulIntoConv,
  fuseAddIntoConv,
  fuseMatmulAddIntoGemm,
  eliminateDeadNodes,
  eliminateUnusedInitializers,
  eliminateDuplicateInitializers,
]);

/** The pass of that name; undefined if there is none. */
export function findPass(name: string): Pass | undefined {
  return PASSES.find((p) => p.name === name);
}

export type { Pass, PassContext } from './pass.js';
export { createPassContext } from './pass.js';
