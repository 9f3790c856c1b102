/**
 * A model as a list of byte pieces to write in order, without building the file in memory: the
 * main graph's initializers are not encoded into the protobuf but spliced in as references to
 * their tensors, whose bytes are streamed into the file (or an external data file) by the
 * caller. Protobuf lets a message's fields come in pieces, so this is the file ONNX's own
 * serializer writes, field for field: model fields 1-6, the graph (nodes, name, initializers,
 * the rest), then model fields 8 and up.
 */
import { FerryError } from '../../errors.js';
import { DataType } from '../ir/data-type.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { encodeMessage } from '../proto/codec.js';
import type { GraphProto, ModelProto } from '../proto/types.js';
import type { ExternalPlacement, PlaceTensor, TensorContext } from '../convert/to-proto.js';
import { ProtoWriter, tensorHasRawData } from '../convert/to-proto.js';

/** A protobuf file is at most 2 GiB - 1 bytes (protobuf's limit; ONNX Runtime's too). */
export const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

/** Encoded bytes, or a tensor whose raw bytes (`length` of them) go here. */
export type Piece = Uint8Array | { readonly tensor: Tensor; readonly length: number };

export interface ExternalPlan {
  /** Location written into the model, relative to its directory. */
  readonly location: string;
  /** Tensors at least this large (bytes) go to the external file. */
  readonly sizeThresholdBytes: number;
  /** External offsets are multiples of this. */
  readonly alignBytes: number;
  /** Also place tensor attributes (Constant values) externally. */
  readonly includeAttributes: boolean;
}

export interface SerializedModel {
  /** The model file, in order. */
  readonly pieces: readonly Piece[];
  /** The model file's size in bytes. */
  readonly byteLength: number;
  /** Tensors to write to the external file, at these offsets. */
  readonly external: readonly { readonly tensor: Tensor; readonly offset: number; readonly length: number }[];
  /** The external file's size in bytes. */
  readonly externalByteLength: number;
}

/** Plans the model file (and external data file, with `plan`). Throws ONNX_TOO_LARGE past 2 GiB. */
export function serializeModel(model: Model, plan: ExternalPlan | undefined, target: string): SerializedModel {
  const external: { tensor: Tensor; offset: number; length: number }[] = [];
  const placed = new Map<Tensor, ExternalPlacement>();
  let end = 0;
  const place: PlaceTensor = (tensor: Tensor, context: TensorContext) => {
    // Sparse initializers stay inline, as ONNX's own writer keeps them.
    if (!plan || context === 'sparse' || (context === 'attribute' && !plan.includeAttributes)) return undefined;
    const length = tensor.byteLength;
    if (tensor.dataType === DataType.STRING || length === 0 || length < plan.sizeThresholdBytes) return undefined;
    let p = placed.get(tensor); // a tensor shared by two graphs (clones) is written once
    if (!p) {
      const offset = Math.ceil(end / plan.alignBytes) * plan.alignBytes;
      p = { location: plan.location, offset, length };
      placed.set(tensor, p);
      external.push({ tensor, offset, length });
      end = offset + length;
    }
    return p;
  };
  const w = new ProtoWriter(place);

  const graphProto = w.graph(model.graph, { initializers: false });
  const graphHead = encodeMessage('GraphProto', pick(graphProto, ['node', 'name']));
  const graphTail = encodeMessage('GraphProto', omit(graphProto, ['node', 'name']));
  const initializerPieces: Piece[] = [];
  for (const t of model.graph.initializers.values()) {
    const placement = w.placement(t, 'initializer');
    const { head, tail } = w.tensorParts(t, placement);
    const headBytes = encodeMessage('TensorProto', head);
    const tailBytes = encodeMessage('TensorProto', tail);
    const raw = !placement && tensorHasRawData(t) ? t.byteLength : 0;
    const rawHeader = raw ? concat(varint(9 << 3 | 2), varint(raw)) : undefined;
    const length = headBytes.length + (rawHeader ? rawHeader.length + raw : 0) + tailBytes.length;
    initializerPieces.push(concat(varint(5 << 3 | 2), varint(length)), headBytes);
    if (rawHeader) initializerPieces.push(rawHeader, { tensor: t, length: raw });
    initializerPieces.push(tailBytes);
  }

  const modelProto = w.model(model, { graph: false });
  const modelHead = encodeMessage('ModelProto', pick(modelProto, ['ir_version', 'producer_name', 'producer_version', 'domain', 'model_version', 'doc_string']));
  const modelTail = encodeMessage('ModelProto', omit(modelProto, ['ir_version', 'producer_name', 'producer_version', 'domain', 'model_version', 'doc_string']));

  const graphLength = graphHead.length + size(initializerPieces) + graphTail.length;
  const pieces: Piece[] = [modelHead, concat(varint(7 << 3 | 2), varint(graphLength)), graphHead, ...initializerPieces, graphTail, modelTail];
  const byteLength = size(pieces);
  if (byteLength > MAX_PROTOBUF_BYTES) {
    throw new FerryError('ONNX_TOO_LARGE', `${target} would be ${formatBytes(byteLength)}, over protobuf's 2 GiB limit: save it with external data (ferry: --external-data; API: saveModel(model, path, { externalData: { location } }))`);
  }
  return { pieces, byteLength, external, externalByteLength: end };
}

function size(pieces: readonly Piece[]): number {
  let n = 0;
  for (const p of pieces) n += p.length;
  return n;
}

function pick<T extends object>(o: T, keys: readonly (keyof T)[]): T {
  const out = {} as T;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function omit<T extends GraphProto | ModelProto>(o: T, keys: readonly (keyof T)[]): T {
  const out = { ...o };
  for (const k of keys) delete out[k];
  return out;
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** 1.5 GB, 640 KB, 12 B (decimal units). */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} KB`;
  return `${n} B`;
}
