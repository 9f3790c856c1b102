/**
 * protobufjs over the embedded onnx-ml.proto: decode a ModelProto, encode any ONNX message. The
 * schema is parsed once, on first use (about 10 ms). Decoding keeps `bytes` fields (raw_data,
 * string attributes) as views into the input buffer: nothing is copied.
 */
import protobuf from 'protobufjs';
import { ONNX_PROTO } from './schema.js';
import type { ModelProto } from './types.js';

/** Messages ferry encodes piecewise (see ../io/model-writer.ts); the rest go through these. */
export type MessageName = 'ModelProto' | 'GraphProto' | 'TensorProto' | 'NodeProto' | 'FunctionProto';

let root: protobuf.Root | undefined;
const types = new Map<MessageName, protobuf.Type>();

function type(name: MessageName): protobuf.Type {
  let t = types.get(name);
  if (!t) {
    root ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
    t = root.lookupType(`onnx.${name}`);
    types.set(name, t);
  }
  return t;
}

/** Decodes a serialized ModelProto. Throws protobufjs's Error/RangeError on malformed input. */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return type('ModelProto').decode(bytes) as unknown as ModelProto;
}

/** Serializes one message (a plain object with the .proto's field names). */
export function encodeMessage(name: MessageName, message: object): Uint8Array {
  return type(name).encode(message as Record<string, unknown>).finish();
}
