/** `ferry tune`'s defaults, apart from the sweep so that the command line reads them without loading it. */
import type { Objective } from './search.js';

export const TUNE_DEFAULTS = {
  /** Clients of the closed loop. */
  concurrency: 16,
  /** Measured seconds per point. */
  durationS: 5,
  /** Seconds of load before each point's window. */
  warmupS: 2,
  /** A request slower than this counts as an error, ms. */
  timeoutMs: 30_000,
  objective: 'throughput' as Objective,
} as const;
