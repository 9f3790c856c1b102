/**
 * An op converter: turns one ONNX node into ncnn layers through the context (which knows the
 * constants, the dims and layout of every value, and the net being built). Each file in this
 * folder converts one kind of op; registry.ts lists them.
 */
import type { Node } from '../../../onnx/ir/node.js';
import type { ConvertContext } from '../context.js';

export interface OpConverter {
  /** The ONNX op types (default domain) it converts. */
  readonly ops: readonly string[];
  /** Adds the layers for `node` and declares its outputs (ctx.top / ctx.alias). */
  convert(node: Node, ctx: ConvertContext): void;
}
