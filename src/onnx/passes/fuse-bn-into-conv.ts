/**
 * BatchNormalization (inference mode) right after a Conv, ConvTranspose or Gemm is folded into its
 * weights: with s = scale / sqrt(var + epsilon) per output channel,
 *
 *   W'[c, ...] = W[c, ...] * s[c]        b'[c] = (b[c] - mean[c]) * s[c] + B[c]
 *
 * (ConvTranspose: output channel c of group g is W[g * Cin/group + i, c - g * Cout/group, ...];
 * Gemm: the columns of B, or rows with transB, and C, with alpha and beta folded in).
 * Needs the producer's output read by the BatchNormalization only, every parameter constant and
 * FLOAT or DOUBLE, and the BatchNormalization's mean/var outputs unused. Arithmetic in float64.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import { attr } from '../ir/attribute.js';
import type { Pass } from './pass.js';
import { allowInitializers, constantTensor, fromFloat64, isFloatTensor, isOp, onlyFirstOutputUsed, scaleOutputChannels, setConstantInput, soleConsumer, toFloat64 } from './util.js';

interface BatchNorm {
  /** Per-channel multiplier s and offset (B - mean * s). */
  readonly scale: Float64Array;
  readonly shift: Float64Array;
}

export const fuseBnIntoConv: Pass = {
  name: 'fuse-bn-into-conv',
  description: 'fold BatchNormalization into the Conv, ConvTranspose or Gemm before it',
  run(model) {
    const g = model.graph;
    let changes = 0;
    for (const bn of g.nodes) {
      if (!isOp(bn, 'BatchNormalization') || !bn.graph) continue;
      const x = bn.inputs[0] ?? '';
      const p = g.producer(x);
      if (!p || !isOp(p, 'Conv', 'ConvTranspose', 'Gemm') || !soleConsumer(g, x, bn) || p.outputs.length !== 1) continue;
      if (!onlyFirstOutputUsed(g, bn) || bn.getInt('training_mode', 0) !== 0 || bn.getInt('spatial', 1) !== 1) continue;
      if (bn.attribute('is_test') && bn.getInt('is_test') === 0) continue;
      const params = readBatchNorm(g, bn);
      if (!params) continue;
      // Gemm broadcasts a [N] bias only from opset 7 (before, it needs broadcast=1).
      const ok = p.opType === 'Gemm' ? (model.opset('') ?? 0) >= 7 && foldIntoGemm(g, p, params) : foldIntoConv(g, p, params);
      if (!ok) continue;
      const y = bn.outputs[0]!;
      g.removeNode(bn);
      p.setOutputs([y]);
      changes++;
    }
    if (changes) allowInitializers(model);
    return changes;
  },
};

function readBatchNorm(g: Graph, bn: Node): BatchNorm | undefined {
  const ts = [1, 2, 3, 4].map((i) => constantTensor(g, bn.inputs[i] ?? ''));
  if (ts.some((t) => !t || !isFloatTensor(t) || t.dims.length !== 1)) return undefined;
  const [gamma, beta, mean, variance] = ts.map((t) => toFloat64(t!)) as [Float64Array, Float64Array, Float64Array, Float64Array];
  const c = gamma.length;
  if (beta.length !== c || mean.length !== c || variance.length !== c) return undefined;
  const eps = bn.getFloat('epsilon', 1e-5);
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    // ONNX Runtime computes in float: epsilon is a float attribute, stored rounded.
    scale[i] = gamma[i]! / Math.sqrt(variance[i]! + Math.fround(eps));
    shift[i] = beta[i]! - mean[i]! * scale[i]!;
  }
  return { scale, shift };
}

function foldIntoConv(g: Graph, conv: Node, bn: BatchNorm): boolean {
  const w = constantTensor(g, conv.inputs[1] ?? '');
  if (!w || !isFloatTensor(w) || w.dims.length < 3) return false;
  const c = bn.scale.length;
  const transpose = conv.opType === 'ConvTranspose';
  const group = conv.getInt('group', 1);
  const outChannels = transpose ? w.dims[1]! * group : w.dims[0]!;
  if (outChannels !== c) return false;
  const bias = conv.inputs[2] ? constantTensor(g, conv.inputs[2]) : undefined;
  if (conv.inputs[2] && (!bias || bias.elementCount !== c || bias.dataType !== w.dataType)) return false;

  const b = bias ? toFloat64(bias) : new Float64Array(c);
  for (let o = 0; o < c; o++) b[o] = b[o]! * bn.scale[o]! + bn.shift[o]!;
  const stem = conv.name || conv.outputs[0]!;
  setConstantInput(g, conv, 1, scaleOutputChannels(w, bn.scale, transpose, group), `${stem}.weight_bn`);
  setConstantInput(g, conv, 2, fromFloat64(w, [c], b), `${stem}.bias_bn`);
  return true;
}

function foldIntoGemm(g: Graph, gemm: Node, bn: BatchNorm): boolean {
  const bT = constantTensor(g, gemm.inputs[1] ?? '');
  if (!bT || !isFloatTensor(bT) || bT.dims.length !== 2) return false;
  const n = bn.scale.length;
  const transB = gemm.getInt('transB', 0) === 1;
  const [rows, cols] = bT.dims as [number, number];
  if ((transB ? rows : cols) !== n) return false;
  const alpha = gemm.getFloat('alpha', 1);
  const beta = gemm.getFloat('beta', 1);
  const cName = gemm.inputs[2] ?? '';
  const cT = cName ? constantTensor(g, cName) : undefined;
  if (cName && (!cT || !isFloatTensor(cT))) return false;
  // C broadcasts to [M, N]: allowed here as a scalar, [N], [1, N], or [M, N] (kept as is).
  const cDims = cT?.dims ?? [];
  const perColumn = cT === undefined || cT.elementCount === 1 || cDims[cDims.length - 1] === n;
  if (!perColumn || cDims.length > 2) return false;

  const w = toFloat64(bT);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < cols; k++) w[r * cols + k]! *= alpha * bn.scale[transB ? r : k]!;
  }
  let cOut: Tensor;
  if (cT === undefined || cT.elementCount === 1) {
    const c0 = cT ? toFloat64(cT)[0]! * beta : 0;
    const v = new Float64Array(n);
    for (let j = 0; j < n; j++) v[j] = c0 * bn.scale[j]! + bn.shift[j]!;
    cOut = fromFloat64(bT, [n], v);
  } else {
    const v = toFloat64(cT);
    for (let i = 0; i < v.length; i++) v[i] = v[i]! * beta * bn.scale[i % n]! + bn.shift[i % n]!;
    cOut = fromFloat64(bT, cDims, v);
  }
  const stem = gemm.name || gemm.outputs[0]!;
  setConstantInput(g, gemm, 1, fromFloat64(bT, bT.dims, w), `${stem}.weight_bn`);
  setConstantInput(g, gemm, 2, cOut, `${stem}.bias_bn`);
  gemm.setAttribute('alpha', attr.float(1));
  gemm.setAttribute('beta', attr.float(1));
  return true;
}
