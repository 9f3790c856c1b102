/** The net passes, in the order they run (activations fuse last, after the patterns that make them). */
import type { NetPass } from './pass.js';
import { fuseShuffleChannel } from './fuse-shuffle-channel.js';
import { fuseCropsIntoSlice } from './fuse-crops-into-slice.js';
import { fuseHardSwish } from './fuse-hardswish.js';
import { fuseSwish } from './fuse-swish.js';
import { fuseInnerProductBias } from './fuse-innerproduct-bias.js';
import { reductionToPooling } from './reduction-to-pooling.js';
import { eliminateFlatten } from './eliminate-flatten.js';
import { fuseActivation } from './fuse-activation.js';

export const NET_PASSES: readonly NetPass[] = Object.freeze([
  fuseShuffleChannel, fuseCropsIntoSlice, fuseHardSwish, fuseSwish, fuseInnerProductBias, reductionToPooling, eliminateFlatten, fuseActivation,
]);

export type { NetPass } from './pass.js';
