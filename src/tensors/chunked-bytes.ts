/**
 * A request body kept as the chunks node:http read it (~64 KiB each), never concatenated: a binary
 * v2 tensor goes from these chunks straight into the batch buffer. Concatenating first would cost
 * one more copy and one more body-sized allocation per request — and V8 answers allocations
 * outside its heap with full mark-compact collections (ResNet-18 at 16 clients: 600 KB bodies,
 * several a second), whose helper threads take CPU from the model.
 */
export class ChunkedBytes {
  readonly chunks: readonly Uint8Array[];
  readonly length: number;

  constructor(chunks: readonly Uint8Array[], length = chunks.reduce((n, c) => n + c.length, 0)) {
    this.chunks = chunks;
    this.length = length;
  }

  static of(bytes: Uint8Array): ChunkedBytes {
    return new ChunkedBytes([bytes], bytes.length);
  }

  /** Bytes [start, end) as a ChunkedBytes of views (no copy). */
  subarray(start: number, end: number = this.length): ChunkedBytes {
    if (start < 0 || end > this.length || start > end) throw new RangeError(`subarray(${start}, ${end}) of ${this.length} bytes`);
    const out: Uint8Array[] = [];
    let at = 0;
    for (const c of this.chunks) {
      const next = at + c.length;
      if (next > start && at < end) out.push(c.subarray(Math.max(0, start - at), Math.min(c.length, end - at)));
      if (next >= end) break;
      at = next;
    }
    return new ChunkedBytes(out, end - start);
  }

  /** Copies all bytes into `dst` from byte `dstOffset`. */
  copyTo(dst: Uint8Array, dstOffset = 0): void {
    if (dstOffset + this.length > dst.length) throw new RangeError(`${this.length} bytes do not fit at ${dstOffset} of ${dst.length}`);
    let at = dstOffset;
    for (const c of this.chunks) {
      dst.set(c, at);
      at += c.length;
    }
  }

  /** The bytes as one Buffer: a view when there is one chunk, a copy otherwise. */
  toBuffer(): Buffer {
    if (this.chunks.length === 1) {
      const c = this.chunks[0]!;
      return Buffer.from(c.buffer, c.byteOffset, c.length);
    }
    return Buffer.concat(this.chunks, this.length);
  }

  /** Decodes bytes [start, end) as text (whole, so a character split across chunks stays intact). */
  toString(encoding: BufferEncoding = 'utf8', start = 0, end = this.length): string {
    return this.subarray(start, end).toBuffer().toString(encoding);
  }
}
