/**
 * Prometheus metrics (GET /metrics): requests by model and outcome, queue and compute time, batch
 * sizes, queue depth. Made to be summed across replicas: latencies are histograms with the same
 * fixed buckets on every replica (a summary's quantiles cannot be added up; buckets can:
 * `histogram_quantile(0.99, sum by (le) (rate(ferry_request_duration_seconds_bucket[1m])))`), and
 * `ferry_queue_depth{model}` is the per-replica load an autoscaler reads.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelObserver } from '../repository/model-version.js';

/** Upper bounds (s) of every latency histogram's buckets: fixed, the same on every replica. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  readonly registry = new Registry();
  /** Requests answered with success, in all (what the refusal budget reads). */
  completed = 0;
  readonly requests = new Counter({ name: 'ferry_requests_total', help: 'Inference requests by model and outcome (success, fail, rejected, cancelled).', labelNames: ['model', 'outcome'], registers: [this.registry] });
  readonly requestSeconds = new Histogram({ name: 'ferry_request_duration_seconds', help: 'Time from a request reaching the model to its result.', labelNames: ['model'], buckets: [...LATENCY_BUCKETS_SECONDS], registers: [this.registry] });
  readonly queueSeconds = new Histogram({ name: 'ferry_queue_duration_seconds', help: 'Time requests waited in the batch queue.', labelNames: ['model'], buckets: [...LATENCY_BUCKETS_SECONDS], registers: [this.registry] });
  readonly computeSeconds = new Histogram({ name: 'ferry_compute_duration_seconds', help: 'Engine time per batch.', labelNames: ['model'], buckets: [...LATENCY_BUCKETS_SECONDS], registers: [this.registry] });
  readonly batchSize = new Histogram({ name: 'ferry_batch_size', help: 'Samples per executed batch.', labelNames: ['model'], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [this.registry] });
  readonly imagePasses = new Counter({ name: 'ferry_image_passes_total', help: 'Passes of raw /predict pixels to the model\'s size (the object pass, or a plain fit), by where they ran: thread="event_loop", or thread="preprocessing" (a thread of their own, used while other image requests are in flight).', labelNames: ['thread'], registers: [this.registry] });
  readonly errors = new Counter({ name: 'ferry_http_errors_total', help: 'Error answers by error code.', labelNames: ['code'], registers: [this.registry] });
  readonly queueDepth: Gauge;
  readonly inFlight: Gauge;

  /** @param load reads each model's queue depth and batches in flight when scraped. */
  constructor(load: () => Array<{ model: string; queued: number; inFlight: number }>) {
    const depth = new Gauge({
      name: 'ferry_queue_depth', help: 'Requests waiting in each model queue, read when scraped (the autoscaling signal: above 0 for long, the replicas are saturated).', labelNames: ['model'], registers: [this.registry],
      collect() {
        depth.reset();
        for (const l of load()) depth.inc({ model: l.model }, l.queued);
      },
    });
    const running = new Gauge({
      name: 'ferry_inflight_batches', help: 'Batches running on each model now.', labelNames: ['model'], registers: [this.registry],
      collect() {
        running.reset();
        for (const l of load()) running.inc({ model: l.model }, l.inFlight);
      },
    });
    this.queueDepth = depth;
    this.inFlight = running;
    collectDefaultMetrics({ register: this.registry, prefix: 'ferry_' });
  }

  /** Registers ferry_refusals_paced_total, read from `count` when scraped. */
  pacedRefusals(count: () => number): void {
    if (this.registry.getSingleMetric('ferry_refusals_paced_total')) this.registry.removeSingleMetric('ferry_refusals_paced_total');
    const c = new Counter({
      name: 'ferry_refusals_paced_total', help: 'Refusals (503 QUEUE_FULL) that waited for the refusal-rate budget before being answered (--max-refusal-rate).', registers: [this.registry],
      collect() {
        c.reset();
        c.inc(count());
      },
    });
  }

  /** The hooks model versions report to. */
  observer(): ModelObserver {
    return {
      request: (model, outcome, ms) => {
        this.requests.inc({ model, outcome });
        if (outcome === 'success') this.completed++;
        if (outcome === 'success') this.requestSeconds.observe({ model }, ms / 1000);
      },
      batch: (model, size, computeMs) => {
        this.batchSize.observe({ model }, size);
        this.computeSeconds.observe({ model }, computeMs / 1000);
      },
      queued: (model, ms) => this.queueSeconds.observe({ model }, ms / 1000),
    };
  }
}
