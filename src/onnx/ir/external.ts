/**
 * External tensor data: the file a tensor's bytes live in (TensorProto data_location=EXTERNAL)
 * and positioned reads from it. Nothing is read until a tensor's data is asked for, and then
 * only that tensor's byte range, with pread — never the whole file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FerryError } from '../../errors.js';

/** Where an external tensor's bytes are. */
export interface ExternalLocation {
  /** The path as the model writes it, relative to the model's directory (e.g. "model.onnx.data"). */
  readonly location: string;
  /** The absolute path of that file. */
  readonly path: string;
  /** Byte offset of the tensor's first byte in the file. */
  readonly offset: number;
  /** Bytes the tensor takes in the file. */
  readonly length: number;
  /** The SHA-1 the model records for the file, if it does (not verified). */
  readonly checksum?: string;
}

/** The largest Buffer ferry makes for one tensor (2 GiB - 1); larger tensors are read in chunks. */
export const MAX_TENSOR_BUFFER_BYTES = 2 ** 31 - 1;

/** Bytes per read when streaming external data (16 MiB). */
export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

const closer = new FinalizationRegistry<{ fd: number }>((held) => {
  if (held.fd >= 0) {
    try { closeSync(held.fd); } catch { /* already closed */ }
  }
});

/**
 * One external data file, shared by the tensors stored in it. The descriptor is opened on first
 * read and stays open while any tensor refers to the file (it is closed when this object is
 * garbage-collected), so saving a model over its own data file cannot pull the bytes from under it.
 */
export class ExternalFile {
  /** The absolute path. */
  readonly path: string;
  readonly #held = { fd: -1 };

  constructor(path: string) {
    this.path = path;
    closer.register(this, this.#held);
  }

  #fd(): number {
    if (this.#held.fd < 0) {
      try {
        this.#held.fd = openSync(this.path, 'r');
      } catch (err) {
        throw new FerryError('ONNX_EXTERNAL_DATA', `cannot open external data file ${this.path}: ${(err as Error).message}`, { cause: err });
      }
    }
    return this.#held.fd;
  }

  /** Opens the file now (if it is not open yet), pinning its current contents for later reads. */
  open(): void {
    this.#fd();
  }

  /** The file's size in bytes. */
  size(): number {
    return fstatSync(this.#fd()).size;
  }

  /** Reads `length` bytes at `offset` into a new Buffer (at most {@link MAX_TENSOR_BUFFER_BYTES}). */
  read(offset: number, length: number, what: string): Buffer {
    if (length > MAX_TENSOR_BUFFER_BYTES) {
      throw new RangeError(`${what} is ${length} bytes, more than one Buffer holds (${MAX_TENSOR_BUFFER_BYTES}); read it with chunks()`);
    }
    const buf = Buffer.allocUnsafe(length);
    this.#readInto(buf, length, offset, what);
    return buf;
  }

  /**
   * Yields the `length` bytes at `offset` in pieces of at most `chunkBytes`. The same buffer is
   * reused for every piece (no allocation per chunk): use or copy each before asking for the next.
   */
  *chunks(offset: number, length: number, chunkBytes: number, what: string): Generator<Uint8Array> {
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunkBytes, length)));
    for (let done = 0; done < length;) {
      const n = Math.min(buf.length, length - done);
      this.#readInto(buf, n, offset + done, what);
      yield buf.subarray(0, n);
      done += n;
    }
  }

  #readInto(buf: Uint8Array, length: number, position: number, what: string): void {
    const fd = this.#fd();
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, position + got);
      if (n === 0) {
        throw new FerryError('ONNX_EXTERNAL_DATA', `${what}: external data file ${this.path} ends at byte ${position + got}, before the tensor's ${length} bytes at offset ${position} do`);
      }
      got += n;
    }
  }
}
