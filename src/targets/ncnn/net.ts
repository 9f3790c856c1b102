/**
 * An ncnn network as ferry builds it before writing: layers in order, each reading and writing
 * named blobs, with its `k=v` params (typed: ncnn tells an int from a float by its spelling) and
 * its weights in the order the layer's load_model reads them.
 *
 * Weights are `tagged` when the layer loads them with `mb.load(n, 0)` (a 4-byte storage tag
 * precedes the data: fp32 0, fp16 0x01306B47, int8 0x000D4B38) and raw fp32 otherwise
 * (`mb.load(n, 1)`: biases, BatchNorm statistics, int8 scales, MemoryData).
 */

export type Param =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'string'; readonly value: string };

/** Param constructors: `params.set(0, p.int(64))`. */
export const p = {
  int: (value: number): Param => {
    if (!Number.isInteger(value)) throw new RangeError(`ncnn int param ${value} is not an integer`);
    return { type: 'int', value };
  },
  float: (value: number): Param => ({ type: 'float', value }),
  ints: (value: readonly number[]): Param => ({ type: 'ints', value: Object.freeze([...value]) }),
  floats: (value: readonly number[]): Param => ({ type: 'floats', value: Object.freeze([...value]) }),
} as const;

export type Weight =
  /** fp32 values; `tagged`: written with a storage tag (and stored fp16 under --fp16). */
  | { readonly kind: 'float'; readonly data: Float32Array; readonly tagged: boolean }
  /** int8 values, always tagged 0x000D4B38 (quantized Convolution / InnerProduct weights). */
  | { readonly kind: 'int8'; readonly data: Int8Array };

export interface Layer {
  /** ncnn layer type: Convolution, ReLU, ... */
  type: string;
  /** Unique among layers. */
  name: string;
  bottoms: string[];
  tops: string[];
  readonly params: Map<number, Param>;
  weights: Weight[];
}

export interface LayerInit {
  type: string;
  name: string;
  bottoms?: readonly string[];
  tops?: readonly string[];
  params?: Iterable<readonly [number, Param]>;
  weights?: readonly Weight[];
}

export function layer(init: LayerInit): Layer {
  return {
    type: init.type, name: init.name, bottoms: [...(init.bottoms ?? [])], tops: [...(init.tops ?? [])],
    params: new Map(init.params ?? []), weights: [...(init.weights ?? [])],
  };
}

export function floatWeight(data: Float32Array, tagged: boolean): Weight {
  return { kind: 'float', data, tagged };
}

/** The network: layers in execution order; blob shapes (ncnn dims, outer to inner: [c, h, w]) where known. */
export class Net {
  layers: Layer[] = [];
  /** ncnn shape of each blob, without the batch axis (for reports and the int8 pass). */
  readonly shapes = new Map<string, readonly number[]>();
  /** The ONNX value each blob holds the elements of (a reshape or split of it counts): for calibration. */
  readonly sources = new Map<string, string>();

  /** The layer writing `blob`. */
  producer(blob: string): Layer | undefined {
    for (const l of this.layers) if (l.tops.includes(blob)) return l;
    return undefined;
  }

  /** The layers reading `blob`, in order. */
  consumers(blob: string): Layer[] {
    return this.layers.filter((l) => l.bottoms.includes(blob));
  }

  /** Removes `l` and makes every reader of its first top read `replacement` instead. */
  bypass(l: Layer, replacement: string): void {
    const top = l.tops[0]!;
    this.layers = this.layers.filter((x) => x !== l);
    for (const c of this.layers) c.bottoms = c.bottoms.map((b) => (b === top ? replacement : b));
  }

  /** Every blob name: inputs of Input layers and every top. */
  blobs(): Set<string> {
    const out = new Set<string>();
    for (const l of this.layers) {
      for (const b of l.bottoms) out.add(b);
      for (const t of l.tops) out.add(t);
    }
    return out;
  }
}
