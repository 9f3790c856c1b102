/**
 * Conv (or ConvTranspose) followed by Mul by a constant per-channel scale ([C, 1, 1], [1, C, 1, 1],
 * a scalar ...): the scale goes into the weights and bias (W[c] * s[c], b[c] * s[c]) and the Mul
 * goes (PaddleOCR's learnable affine blocks, SE-free scaled branches). Needs the convolution's
 * output read by the Mul only and the scale to broadcast along the channel axis alone.
 */
import type { Pass } from './pass.js';
import { isChannelBias } from './fuse-add-into-conv.js';
import { allowInitializers, constantTensor, fromFloat64, isFloatTensor, isOp, scaleOutputChannels, setConstantInput, soleConsumer, toFloat64 } from './util.js';

export const fuseMulIntoConv: Pass = {
  name: 'fuse-mul-into-conv',
  description: 'fold Mul by a constant per-channel scale into the Conv before it',
  run(model) {
    const g = model.graph;
    let changes = 0;
    for (const mul of g.nodes) {
      if (!isOp(mul, 'Mul') || !mul.graph || mul.inputs.length !== 2) continue;
      for (const side of [0, 1]) {
        const x = mul.inputs[side]!;
        const conv = g.producer(x);
        if (!conv || !isOp(conv, 'Conv', 'ConvTranspose') || conv.outputs.length !== 1 || !soleConsumer(g, x, mul)) continue;
        const s = constantTensor(g, mul.inputs[1 - side]!);
        const w = constantTensor(g, conv.inputs[1] ?? '');
        if (!s || !w || !isFloatTensor(s) || s.dataType !== w.dataType || w.dims.length < 3) continue;
        const transpose = conv.opType === 'ConvTranspose';
        const group = conv.getInt('group', 1);
        const channels = transpose ? w.dims[1]! * group : w.dims[0]!;
        if (!isChannelBias(s.dims, w.dims.length, channels)) continue;
        const bias = conv.inputs[2] ? constantTensor(g, conv.inputs[2]) : undefined;
        if (conv.inputs[2] && (!bias || bias.elementCount !== channels || bias.dataType !== w.dataType)) continue;
        const scale = toFloat64(s);
        const stem = conv.name || conv.outputs[0]!;
        setConstantInput(g, conv, 1, scaleOutputChannels(w, scale, transpose, group), `${stem}.weight_mul`);
        if (bias) {
          const b = toFloat64(bias);
          for (let o = 0; o < channels; o++) b[o] = b[o]! * scale[scale.length === 1 ? 0 : o]!;
          setConstantInput(g, conv, 2, fromFloat64(w, [channels], b), `${stem}.bias_mul`);
        }
        const y = mul.outputs[0]!;
        g.removeNode(mul);
        conv.setOutputs([y]);
        changes++;
        break;
      }
    }
    if (changes) allowInitializers(model);
    return changes;
  },
};
