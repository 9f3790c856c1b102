/**
 * Calibration: the float model runs on ONNX Runtime in process over the calibration data, with
 * every tensor to quantize added as an extra graph output; each batch's values feed a range
 * collector per tensor (min/max, and a histogram for entropy and percentile).
 */
import type { Model } from '../onnx/ir/model.js';
import { ValueInfo } from '../onnx/ir/value-info.js';
import { DataType } from '../onnx/ir/data-type.js';
import { encodeModel } from '../onnx/io/save.js';
import type { Dataset } from './data.js';
import type { CalibrationMethod } from './histogram.js';
import { RangeCollector } from './histogram.js';
import type { Range } from './qparams.js';
import { openSession, runDataset } from './session.js';

export interface CalibrateOptions {
  /** @defaultValue 'minmax' */
  readonly method?: CalibrationMethod;
  /** Percentile of |x| kept, for 'percentile'. @defaultValue 99.99 */
  readonly percentile?: number;
  /** Samples per run. @defaultValue 8 */
  readonly batchSize?: number;
  /** Called after each batch with samples done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface CalibrationResult {
  /** The range of each tensor, including 0. */
  readonly ranges: Map<string, Range>;
  readonly samples: number;
  readonly method: CalibrationMethod;
  readonly ms: number;
}

/** Measures the ranges of `tensors` (value names of `model`) over `data`. */
export async function calibrate(model: Model, tensors: readonly string[], data: Dataset, options: CalibrateOptions = {}): Promise<CalibrationResult> {
  const t0 = performance.now();
  const method = options.method ?? 'minmax';
  const augmented = model.clone();
  const g = augmented.graph;
  const extra = tensors.filter((t) => !g.isOutput(t));
  g.outputs = [...g.outputs, ...extra.map((t) => ValueInfo.tensor(t, DataType.FLOAT))];
  const session = await openSession(encodeModel(augmented), 'the calibration model (the float model with extra outputs)', { optimization: 'basic' }, 'QUANTIZE_FAILED');
  const collectors = new Map(tensors.map((t) => [t, new RangeCollector(method !== 'minmax')]));
  try {
    await runDataset(session, data, {
      batchSize: options.batchSize ?? 8,
      fetches: tensors,
      what: 'calibration',
      onBatch(out, start, count) {
        for (const [name, c] of collectors) {
          const v = out[name];
          if (v && v.type === 'float32') c.add(v.data as Float32Array);
        }
        options.onProgress?.(start + count, data.size);
      },
    });
  } finally {
    await session.release();
  }
  const percentile = options.percentile ?? 99.99;
  const ranges = new Map<string, Range>();
  for (const [name, c] of collectors) ranges.set(name, c.range(method, percentile));
  return { ranges, samples: data.size, method, ms: performance.now() - t0 };
}
