/**
 * Serving settings for a model whose config leaves them out, chosen from the model and the machine
 * rather than fixed: one measured inference (the engine's warm-up, at batch 1 on one thread) and
 * the cores. What `ferry tune` finds by sweeping, in the two cases that matter on a small machine:
 *
 * - a light model (an inference well under a millisecond, like the bundled Fashion CNN): one
 *   instance on one thread — a second thread or instance only spins against the event loop — and
 *   max batch 32: batches form from whatever queues while one runs, with no delay;
 * - a heavy one (ResNet-18: ~30-40 ms here): one single-threaded instance per core, which keeps
 *   every core computing while the event loop assembles the next batches (two instances x one
 *   thread beat one x two by 10-15 % on 2 cores), max batch 8, and a queue delay of half an
 *   inference, so that what arrives while one batch runs joins the next rather than going alone.
 */
export interface AutoDefaults {
  readonly instances: number;
  readonly intraOpThreads: number;
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  /** One line for the log: what was measured and chosen. */
  readonly why: string;
}

/** Above this (ms per inference at batch 1 on one thread) a model counts as heavy. */
export const HEAVY_MS = 2;

export function chooseDefaults(warmupMs: number, cores: number): AutoDefaults {
  const measured = `one inference takes ${warmupMs.toFixed(warmupMs < 1 ? 2 : 1)} ms on one thread, ${cores} core${cores === 1 ? '' : 's'}`;
  if (warmupMs < HEAVY_MS || cores <= 1) {
    return { instances: 1, intraOpThreads: 1, maxBatchSize: 32, maxQueueDelayMs: 0, why: `${measured}: 1 instance x 1 thread, max batch 32, no queue delay` };
  }
  const maxQueueDelayMs = Math.min(20, Math.round(warmupMs / 2));
  return { instances: cores, intraOpThreads: 1, maxBatchSize: 8, maxQueueDelayMs, why: `${measured}: ${cores} instances x 1 thread, max batch 8, queue delay ${maxQueueDelayMs} ms` };
}
