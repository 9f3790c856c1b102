/**
 * Reading models: loadModel() reads a .onnx file (tensor data stays where it is: raw data as
 * views of the file buffer, external data on disk until asked for), decodeModel() decodes bytes.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FerryError } from '../../errors.js';
import type { Model } from '../ir/model.js';
import { decodeModelProto } from '../proto/codec.js';
import type { ModelProto } from '../proto/types.js';
import { modelFromProto } from '../convert/from-proto.js';
import { formatBytes, MAX_PROTOBUF_BYTES } from './serialize.js';

export interface LoadOptions {
  /**
   * Check that external data files exist and hold every external tensor's byte range (a stat
   * per file; nothing is read). Off, a missing file shows only when a tensor's data is read.
   * @defaultValue true
   */
  verifyExternalData?: boolean;
}

export interface DecodeOptions extends LoadOptions {
  /** The directory external data locations are relative to. @defaultValue undefined: a model with external data fails */
  baseDir?: string;
  /** What to call the model in error messages. @defaultValue 'the model' */
  source?: string;
}

/**
 * Reads an ONNX model file. Throws ONNX_INVALID (the file is missing, not ONNX, truncated or
 * corrupt: the message names the file and what failed) and ONNX_EXTERNAL_DATA (an external
 * data file is missing, too short, or outside the model's directory).
 */
export async function loadModel(path: string, options: LoadOptions = {}): Promise<Model> {
  const bytes = await readModelBytes(path);
  return decodeModel(bytes, { ...options, baseDir: dirname(resolve(path)), source: path });
}

/** The bytes of a .onnx file; ONNX_INVALID when it is missing, a directory or over protobuf's 2 GiB. */
export async function readModelBytes(path: string): Promise<Buffer> {
  const file = resolve(path);
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new Error('it is a directory');
    if (info.size > MAX_PROTOBUF_BYTES) throw new Error(`it is ${formatBytes(info.size)}, over protobuf's 2 GiB limit for one message, so it cannot be an ONNX protobuf`);
    return await readFile(file);
  } catch (err) {
    throw new FerryError('ONNX_INVALID', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Decodes a serialized ModelProto. Errors as loadModel's. */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): Model {
  const source = options.source ?? 'the model';
  const sniffed = sniff(bytes);
  if (sniffed) throw new FerryError('ONNX_INVALID', `${source} is not an ONNX model: it is ${sniffed}`);
  let proto: ModelProto;
  try {
    proto = decodeModelProto(bytes);
  } catch (err) {
    throw new FerryError('ONNX_INVALID', `${source} is not a valid ONNX model: protobuf decoding failed (${(err as Error).message}); the file is truncated, corrupt or not ONNX`, { cause: err });
  }
  if (!proto.graph || !proto.ir_version) {
    throw new FerryError('ONNX_INVALID', `${source} is not an ONNX model: it decodes as protobuf but has no ${proto.graph ? 'IR version' : 'graph'}`);
  }
  return modelFromProto(proto, { baseDir: options.baseDir, verifyExternalData: options.verifyExternalData ?? true, source });
}

/** Recognizes files people mistake for ONNX models, from their first bytes. */
function sniff(b: Uint8Array): string | undefined {
  const ascii = (start: number, end: number) => String.fromCharCode(...b.subarray(start, end));
  if (b.length === 0) return 'an empty file';
  if (ascii(0, 4) === 'PK\x03\x04') return 'a ZIP archive (a TorchScript module or a PyTorch checkpoint?)';
  if (b[0] === 0x80 && b[1]! >= 2 && b[1]! <= 5) return 'a Python pickle (a PyTorch checkpoint?)';
  if (ascii(1, 4) === 'HDF') return 'an HDF5 file (a Keras model?)';
  if (ascii(4, 8) === 'ORTM') return 'an ONNX Runtime .ort model (FlatBuffers), not the ONNX protobuf';
  if (ascii(0, 5) === 'GGUF' || ascii(0, 4) === 'GGUF') return 'a GGUF file';
  if (b.length > 8 && b[8] === 0x7b && b[5] === 0 && b[6] === 0 && b[7] === 0) return 'a safetensors file';
  if (b[0] === 0x7b /* { */ || b[0] === 0x3c /* < */) return 'a text file (JSON or markup?)';
  return undefined;
}
