/**
 * Writing models: saveModel() streams a model to a file (and its large tensors to an external
 * data file), encodeModel() makes the bytes in memory. Neither builds the file by concatenating
 * protobuf messages: tensor bytes are copied once, from where they are to where they go, and
 * tensors in external files are copied in 16 MiB chunks, so no Buffer grows past the largest
 * inline tensor, whatever the model's size. Files are written under temporary names and renamed
 * into place, so a failed save leaves the old files untouched.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { FerryError } from '../../errors.js';
import type { Model } from '../ir/model.js';
import { tensorStorage } from '../ir/tensor.js';
import { DEFAULT_CHUNK_BYTES } from '../ir/external.js';
import type { Piece, SerializedModel } from './serialize.js';
import { serializeModel } from './serialize.js';

export interface ExternalDataOptions {
  /**
   * The data file, relative to the model's directory (e.g. 'model.onnx.data'); it is written
   * into the model as each tensor's location.
   */
  location: string;
  /** Tensors of at least this many bytes go to the data file; smaller ones stay inline. @defaultValue 1024 */
  sizeThresholdBytes?: number;
  /**
   * Each tensor's offset in the data file is a multiple of this many bytes, so a runtime can
   * mmap it (the gaps are sparse). 1 packs tensors back to back. @defaultValue 4096
   */
  alignBytes?: number;
  /** Also move tensor attributes (Constant node values) to the data file. @defaultValue false */
  includeAttributes?: boolean;
}

export interface SaveOptions {
  /**
   * Write tensors to an external data file instead of inside the .onnx (data_location=EXTERNAL).
   * Needed when the model is over 2 GiB. @defaultValue undefined: everything inline
   */
  externalData?: ExternalDataOptions;
}

export interface SaveResult {
  /** The model file (absolute path) and its size in bytes. */
  path: string;
  bytes: number;
  /** The external data file written, if any: its absolute path, size in bytes and tensor count. */
  externalData?: { path: string; bytes: number; tensors: number };
}

/**
 * Writes `model` to `path`. Tensors read from external files are copied from them (those files
 * may be the ones being replaced). Throws ONNX_TOO_LARGE when the .onnx would pass 2 GiB, and
 * ONNX_WRITE_FAILED (naming the file) when a file cannot be written.
 */
export async function saveModel(model: Model, path: string, options: SaveOptions = {}): Promise<SaveResult> {
  const target = resolve(path);
  const ext = options.externalData;
  let dataPath: string | undefined;
  if (ext) {
    const dir = dirname(target);
    dataPath = resolve(dir, ext.location);
    const rel = relative(dir, dataPath);
    if (!ext.location || isAbsolute(ext.location) || rel.startsWith('..') || isAbsolute(rel) || dataPath === target) {
      throw new RangeError(`externalData.location "${ext.location}" must be a file name relative to the model's directory (${dir}), other than the model itself`);
    }
  }
  // Open every external file the model reads now, so writing over one of them cannot change what is read.
  for (const { tensor } of model.tensors()) {
    const s = tensorStorage(tensor);
    if (s.kind === 'external') s.file.open();
  }
  const plan = ext && {
    location: ext.location,
    sizeThresholdBytes: ext.sizeThresholdBytes ?? 1024,
    alignBytes: Math.max(1, Math.floor(ext.alignBytes ?? 4096)),
    includeAttributes: ext.includeAttributes ?? false,
  };
  const s = serializeModel(model, plan, target);

  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const written: string[] = [];
  try {
    if (dataPath) {
      mkdirSync(dirname(dataPath), { recursive: true }); // a location may name a subfolder
      written.push(dataPath + suffix);
      writeExternal(dataPath + suffix, s);
    }
    written.push(target + suffix);
    writePieces(target + suffix, s.pieces);
    if (dataPath) renameSync(dataPath + suffix, dataPath);
    renameSync(target + suffix, target);
  } catch (err) {
    for (const p of written) rmSync(p, { force: true });
    if (err instanceof FerryError || err instanceof RangeError) throw err;
    throw new FerryError('ONNX_WRITE_FAILED', `cannot write ${written.at(-1) ?? target}: ${(err as Error).message}`, { cause: err });
  }
  return {
    path: target,
    bytes: s.byteLength,
    ...(dataPath ? { externalData: { path: dataPath, bytes: s.externalByteLength, tensors: s.external.length } } : {}),
  };
}

/**
 * The model file's bytes, everything inline (external tensors are read in). Throws
 * ONNX_TOO_LARGE past 2 GiB: save such models with external data.
 */
export function encodeModel(model: Model): Uint8Array {
  const s = serializeModel(model, undefined, 'the model');
  const out = Buffer.allocUnsafe(s.byteLength);
  let pos = 0;
  for (const p of s.pieces) {
    if (p instanceof Uint8Array) {
      out.set(p, pos);
      pos += p.length;
    } else {
      for (const chunk of p.tensor.chunks()) {
        out.set(chunk, pos);
        pos += chunk.length;
      }
    }
  }
  return out;
}

/** Writes the pieces in order, small ones gathered into 1 MiB writes. */
function writePieces(path: string, pieces: readonly Piece[]): void {
  const fd = openSync(path, 'w');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let used = 0;
    let pos = 0;
    const flush = () => {
      if (used) pos += writeAll(fd, buf.subarray(0, used), pos);
      used = 0;
    };
    const put = (bytes: Uint8Array) => {
      if (bytes.length >= buf.length / 2) {
        flush();
        pos += writeAll(fd, bytes, pos); // large: straight from where it is, no copy
      } else {
        if (bytes.length > buf.length - used) flush();
        buf.set(bytes, used);
        used += bytes.length;
      }
    };
    for (const p of pieces) {
      if (p instanceof Uint8Array) put(p);
      else for (const chunk of p.tensor.chunks()) put(chunk);
    }
    flush();
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes each tensor at its offset. Chunks of zeros are skipped (left as holes, which read as
 * zeros), so zero-filled weights cost no disk writes.
 */
function writeExternal(path: string, s: SerializedModel): void {
  const fd = openSync(path, 'w');
  try {
    const zeros = Buffer.alloc(DEFAULT_CHUNK_BYTES);
    for (const { tensor, offset } of s.external) {
      let pos = offset;
      for (const chunk of tensor.chunks(DEFAULT_CHUNK_BYTES)) {
        if (Buffer.compare(chunk, zeros.subarray(0, chunk.length)) !== 0) writeAll(fd, chunk, pos);
        pos += chunk.length;
      }
    }
    ftruncateSync(fd, s.externalByteLength);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): number {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  return done;
}
