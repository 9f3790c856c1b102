/**
 * The InnerProduct both Gemm and MatMul-by-a-constant become: y = x W^T + b over the last axis.
 * ncnn's InnerProduct flattens a 1-D, 3-D or 4-D input and maps a 2-D one row by row, so a
 * value with more than two ncnn dims goes through Reshapes to [rows, K] and back.
 */
import type { Node } from '../../../onnx/ir/node.js';
import type { ConvertContext } from '../context.js';
import { ncnnDims, reshapeParams } from '../context.js';
import { floatWeight, p } from '../net.js';

/** Adds InnerProduct layers for `node`: `weight` is [n, k] row-major (one row per output). */
export function innerProduct(node: Node, ctx: ConvertContext, weight: Float32Array, n: number, bias: Float32Array | undefined): void {
  const x = ctx.layout(node.inputs[0]!, node);
  const k = x.shape[x.shape.length - 1]!;
  if (weight.length !== n * k) throw ctx.unsupported(node, `has a weight of ${weight.length} values for ${k} inputs and ${n} outputs`);
  const keep = [...x.keep];
  keep[keep.length - 1] = true;
  let bottom = ctx.input(node, 0, keep);
  const dims = ncnnDims({ shape: x.shape, keep });
  const name = ctx.nodeLayerName(node);
  const params = [[0, p.int(n)], [1, p.int(bias ? 1 : 0)], [2, p.int(weight.length)]] as const;
  const weights = [floatWeight(weight, true), ...(bias ? [floatWeight(bias, false)] : [])];
  if (dims.length <= 2) {
    const top = ctx.top(node, 0, keep);
    ctx.add({ type: 'InnerProduct', name, bottoms: [bottom], tops: [top], params, weights });
    return;
  }
  const rows = dims.slice(0, -1).reduce((a, b) => a * b, 1);
  const flat = ctx.blobName(`${bottom}_rows`);
  ctx.add({ type: 'Reshape', name: ctx.layerName(`${name}_rows`), bottoms: [bottom], tops: [flat], params: reshapeParams([rows, k]) });
  ctx.net.sources.set(flat, node.inputs[0]!);
  bottom = flat;
  const mid = ctx.blobName(`${name}_ip`);
  ctx.add({ type: 'InnerProduct', name, bottoms: [bottom], tops: [mid], params, weights });
  const top = ctx.top(node, 0, keep);
  ctx.add({ type: 'Reshape', name: ctx.layerName(`${name}_unrows`), bottoms: [mid], tops: [top], params: reshapeParams([...dims.slice(0, -1), n]) });
}

/** `w` [rows, cols] row-major, transposed. */
export function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}
