/**
 * int8 as ncnn2table + ncnn2int8 make it. Calibration: the simplified float model runs on ONNX
 * Runtime over the data (images preprocessed as the model's config says, or ready tensors), and
 * the input blob of every Convolution, ConvolutionDepthWise and InnerProduct gets an |x|
 * histogram; its scale is 127 / threshold (KL divergence by default; the network input itself
 * keeps its whole range, which its preprocessing bounds). Weights: per output
 * channel (per group for depthwise) 127 / absmax, 31 / absmax for 3x3 stride-1 convolutions
 * (ncnn's int8 Winograd F43 takes 6-bit weights), rounded half away from zero and clamped to
 * [-127, 127]. The layer then holds int8 weights, int8_scale_term (2, depthwise 1), and its
 * weight and input scales after the bias, where ncnn's load_model reads them.
 */
import type { NamedTensors } from '../../../tensors/inputs.js';
import { encodeModel } from '../../../onnx/io/save.js';
import { ValueInfo } from '../../../onnx/ir/value-info.js';
import { DataType } from '../../../onnx/ir/data-type.js';
import type { Dataset } from '../../../quantize/data.js';
import { openDataset } from '../../../quantize/data.js';
import { modelInputs, openSession, runDataset } from '../../../quantize/session.js';
import type { BuiltNet } from '../build.js';
import type { Layer } from '../net.js';
import { floatWeight, p } from '../net.js';
import type { NcnnCalibrationMethod } from './abs-histogram.js';
import { AbsHistogram } from './abs-histogram.js';
import type { LayerScales } from './table.js';
import { FerryError } from '../../../errors.js';

export interface Int8Options {
  /** Calibration data: a folder of images, an .npz or an .npy (as `ferry quantize --calibrate`). */
  readonly data: string;
  /** The config whose `image:` block preprocesses images. @defaultValue the model repository's config */
  readonly config?: string;
  /** @defaultValue 'kl' */
  readonly method?: NcnnCalibrationMethod;
  /** Percentile of |x| kept, for 'percentile'. @defaultValue 99.99 */
  readonly percentile?: number;
  /** Calibrate on at most this many samples. @defaultValue all */
  readonly limit?: number;
  readonly onProgress?: (line: string) => void;
}

export interface Int8Report {
  readonly method: NcnnCalibrationMethod;
  readonly samples: number;
  readonly description: string;
  /** Layers made int8, and float layers of those types left float (no calibrated input). */
  readonly quantized: number;
  readonly skipped: readonly string[];
  readonly scales: readonly LayerScales[];
  /** A few calibration samples, batch 1: the parity check's inputs. */
  readonly evalTrials: readonly NamedTensors[];
  readonly ms: number;
}

const QUANTIZABLE = new Set(['Convolution', 'ConvolutionDepthWise', 'InnerProduct']);

export async function quantizeNet(built: BuiltNet, modelPath: string, options: Int8Options): Promise<Int8Report> {
  const t0 = performance.now();
  const { net, model } = built;
  const method = options.method ?? 'kl';
  const targets: { layer: Layer; value: string }[] = [];
  const skipped: string[] = [];
  for (const l of net.layers) {
    if (!QUANTIZABLE.has(l.type) || l.weights[0]?.kind !== 'float') continue;
    const value = net.sources.get(l.bottoms[0]!);
    if (value) targets.push({ layer: l, value });
    else skipped.push(l.name);
  }
  if (targets.length === 0) throw new FerryError('QUANTIZE_FAILED', 'the ncnn net has no Convolution, ConvolutionDepthWise or InnerProduct to make int8');
  const inputs = modelInputs(model);
  const data = await openDataset(options.data, { inputs, modelPath, ...(options.config && { configPath: options.config }) });
  const stats = await collect(model, data, [...new Set(targets.map((t) => t.value))], options);
  const scales: LayerScales[] = [];
  const graphInputs = new Set(inputs.map((i) => i.name));
  for (const { layer, value } of targets) {
    // The network input is bounded by its preprocessing: its whole range is kept (KL would
    // clip the bright end of a normalized image whose background is one large spike).
    const t = stats.get(value)!.threshold(graphInputs.has(value) ? 'minmax' : method, options.percentile);
    const bottomScale = t > 0 ? 127 / t : 1;
    scales.push({ layer: layer.name, weightScales: quantizeLayer(layer, bottomScale), bottomScale });
  }
  const evalTrials: NamedTensors[] = [];
  for (let i = 0; i < Math.min(8, data.size); i++) evalTrials.push(await data.batch(i, 1));
  return { method, samples: Math.min(data.size, options.limit ?? Infinity), description: data.description, quantized: targets.length, skipped, scales, evalTrials, ms: performance.now() - t0 };
}

/** Runs the float model over the data and fills one histogram per value. */
async function collect(model: BuiltNet['model'], data: Dataset, values: readonly string[], options: Int8Options): Promise<Map<string, AbsHistogram>> {
  const augmented = model.clone();
  const g = augmented.graph;
  const inputNames = new Set(g.inputs.map((v) => v.name));
  const fetched = values.filter((v) => !inputNames.has(v));
  g.outputs = [...g.outputs, ...fetched.filter((v) => !g.isOutput(v)).map((v) => ValueInfo.tensor(v, DataType.FLOAT))];
  const session = await openSession(encodeModel(augmented), 'the calibration model (the simplified float model with extra outputs)', { optimization: 'basic' }, 'QUANTIZE_FAILED');
  const hist = new Map(values.map((v) => [v, new AbsHistogram()]));
  const total = Math.min(data.size, options.limit ?? Infinity);
  let last = 0;
  try {
    await runDataset(session, data, {
      batchSize: 1, limit: total, fetches: fetched, what: 'calibration',
      async onBatch(out, start, count) {
        for (const v of fetched) hist.get(v)!.add(out[v]!.data as Float32Array);
        const ins = values.filter((v) => inputNames.has(v));
        if (ins.length) {
          const feeds = await data.batch(start, count);
          for (const v of ins) hist.get(v)!.add(feeds.get(v)!.data as Float32Array);
        }
        const done = start + count;
        if (options.onProgress && (done - last >= Math.max(1, Math.floor(total / 10)) || done === total)) {
          last = done;
          options.onProgress(`calibration ${done}/${total}`);
        }
      },
    });
  } finally {
    await session.release();
  }
  return hist;
}

/** ncnn's float2int8: round half away from zero, clamp to [-127, 127]. */
export function float2int8(v: number): number {
  const r = Math.sign(v) * Math.round(Math.abs(v));
  return r > 127 ? 127 : r < -127 ? -127 : r;
}

/** Makes one layer int8 in place; returns its weight scales. */
function quantizeLayer(l: Layer, bottomScale: number): Float32Array {
  const w = l.weights[0]!;
  if (w.kind !== 'float') throw new Error(`layer ${l.name} is already int8`);
  const num = (id: number, fallback: number): number => Number(l.params.get(id)?.value ?? fallback);
  const depthwise = l.type === 'ConvolutionDepthWise';
  const channels = depthwise ? num(7, 1) : num(0, 0);
  const per = w.data.length / channels;
  const kw = num(1, 0);
  const sixBit = l.type === 'Convolution' && kw === 3 && num(11, kw) === 3 && num(2, 1) === 1 && num(12, num(2, 1)) === 1 && num(3, 1) === 1 && num(13, num(3, 1)) === 1;
  const scales = new Float32Array(channels);
  const q = new Int8Array(w.data.length);
  for (let c = 0; c < channels; c++) {
    let absmax = 0;
    for (let k = 0; k < per; k++) absmax = Math.max(absmax, Math.abs(w.data[c * per + k]!));
    const s = absmax === 0 ? 1 : (sixBit ? 31 : 127) / absmax;
    scales[c] = s;
    const sf = Math.fround(s);
    for (let k = 0; k < per; k++) q[c * per + k] = float2int8(Math.fround(w.data[c * per + k]! * sf));
  }
  const bias = l.weights.slice(1);
  l.weights = [{ kind: 'int8', data: q }, ...bias, floatWeight(scales, false), floatWeight(Float32Array.of(bottomScale), false)];
  l.params.set(8, p.int(depthwise ? 1 : 2));
  return scales;
}
