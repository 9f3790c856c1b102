import type { Datatype, TypedArray } from './dtype.js';
import { DATATYPES } from './dtype.js';
import { FerryError } from '../errors.js';

/** A tensor as engines take and return it: a typed array over its elements, row-major. */
export interface Tensor {
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

/** The name, datatype and dims a model declares for one input or output. -1 = any size. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype;
  /** Dims of one sample (without the batch axis when the model batches). */
  readonly dims: readonly number[];
}

/** Largest element count a request tensor may claim before its data is even looked at. */
export const MAX_ELEMENTS = 2 ** 32;

/** Product of dims; throws BAD_SHAPE for dims that are not non-negative integers or whose product is absurd. */
export function elementCount(shape: readonly unknown[], what: string): number {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new FerryError('BAD_SHAPE', `${what}: shape ${JSON.stringify(shape)} has ${JSON.stringify(d)}; dims must be non-negative integers`);
    }
    n *= d;
    if (n > MAX_ELEMENTS) throw new FerryError('BAD_SHAPE', `${what}: shape ${JSON.stringify(shape)} is absurdly large (over ${MAX_ELEMENTS} elements)`);
  }
  return n;
}

/** A zero-copy view of `count` elements starting at element `start`. */
export function viewElements(data: TypedArray, start: number, count: number): TypedArray {
  const Ctor = data.constructor as new (b: ArrayBufferLike, o: number, l: number) => TypedArray;
  return new Ctor(data.buffer, data.byteOffset + start * data.BYTES_PER_ELEMENT, count);
}

/** Allocates a typed array for `count` elements of a datatype on a fresh or given ArrayBuffer. */
export function allocate(datatype: Datatype, count: number, buffer?: ArrayBuffer): TypedArray {
  const info = DATATYPES[datatype];
  return new info.array(buffer ?? new ArrayBuffer(count * info.bytes), 0, count);
}

/** Does `shape` (a request's, with the batch axis first when `batched`) fit the spec dims? */
export function shapeMismatch(spec: TensorSpec, shape: readonly number[], batched: boolean): string | undefined {
  const dims = shape.slice(batched ? 1 : 0);
  const expected = batched ? `[-1,${spec.dims.join(',')}]` : `[${spec.dims.join(',')}]`;
  if (dims.length !== spec.dims.length) return `input "${spec.name}": shape [${shape.join(',')}] has rank ${shape.length}, the model takes ${expected}`;
  for (let i = 0; i < dims.length; i++) {
    const want = spec.dims[i]!;
    if (want >= 0 && dims[i] !== want) return `input "${spec.name}": shape [${shape.join(',')}] does not match the model's ${expected}`;
  }
  return undefined;
}
