/**
 * Batch assembly and splitting. Each request's input is written once, straight into the batch
 * buffer; buffers come from a pool keyed by size (they travel to the engine thread and back), and
 * each request's outputs are views into the batch outputs, not copies.
 */
import type { InputSource } from '../tensors/source.js';
import type { Tensor, TensorSpec } from '../tensors/tensor.js';
import { allocate, viewElements } from '../tensors/tensor.js';
import { DATATYPES } from '../tensors/dtype.js';
import { FerryError } from '../errors.js';

/** ArrayBuffers by byte length, reused across batches of the same size. */
export class BufferPool {
  #free = new Map<number, ArrayBuffer[]>();
  readonly #perSize: number;

  /** @param perSize buffers kept per byte length (more are left to the GC). */
  constructor(perSize = 4) {
    this.#perSize = perSize;
  }

  take(byteLength: number): ArrayBuffer {
    return this.#free.get(byteLength)?.pop() ?? new ArrayBuffer(byteLength);
  }

  give(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) {
      if (b.byteLength === 0) continue; // detached
      let list = this.#free.get(b.byteLength);
      if (!list) this.#free.set(b.byteLength, (list = []));
      if (list.length < this.#perSize) list.push(b);
    }
  }
}

/**
 * Concatenates requests along the batch axis. `requests[j][i]` is request j's source for `specs[i]`;
 * `batched` = the model takes a batch axis (otherwise exactly one request, passed as is).
 */
export function assembleBatch(specs: readonly TensorSpec[], requests: readonly (readonly InputSource[])[], batched: boolean, pool: BufferPool): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const first = requests[0]![i]!;
    let shape: number[];
    if (batched) {
      let rows = 0;
      for (const r of requests) rows += r[i]!.shape[0]!;
      shape = [rows, ...first.shape.slice(1)];
    } else {
      shape = [...first.shape];
    }
    const count = shape.reduce((a, b) => a * b, 1);
    const data = allocate(spec.datatype, count, pool.take(count * DATATYPES[spec.datatype].bytes));
    let offset = 0;
    for (const r of requests) {
      const src = r[i]!;
      src.writeInto(data, offset);
      offset += src.count;
    }
    feeds[spec.name] = { datatype: spec.datatype, shape, data };
  }
  return feeds;
}

/** Request j's rows [start, start + rows) of each batch output, as views. */
export function sliceOutputs(outputs: Readonly<Record<string, Tensor>>, start: number, rows: number, total: number, batched: boolean): Record<string, Tensor> {
  if (!batched) return { ...outputs };
  const result: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(outputs)) {
    if (t.shape[0] !== total) {
      throw new FerryError('INFERENCE_FAILED', `output "${name}" has shape [${t.shape.join(',')}], whose first axis is not the batch of ${total}`);
    }
    const per = t.shape.length > 1 ? t.data.length / total : 1;
    result[name] = { datatype: t.datatype, shape: [rows, ...t.shape.slice(1)], data: viewElements(t.data, start * per, rows * per) };
  }
  return result;
}
