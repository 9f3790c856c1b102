/**
 * Conv (or ConvTranspose) followed by Add of a constant per-channel bias ([C, 1, 1], [1, C, 1, 1],
 * a scalar ...): the constant goes into the convolution's bias input and the Add goes. Needs the
 * convolution's output read by the Add only, and the constant to broadcast along the channel
 * axis alone (else the Add changes the shape, or is not a bias).
 */
import type { Pass } from './pass.js';
import { allowInitializers, constantTensor, fromFloat64, isFloatTensor, isOp, setConstantInput, soleConsumer, toFloat64 } from './util.js';

export const fuseAddIntoConv: Pass = {
  name: 'fuse-add-into-conv',
  description: 'fold Add of a constant per-channel bias into the Conv before it',
  run(model) {
    const g = model.graph;
    let changes = 0;
    for (const add of g.nodes) {
      if (!isOp(add, 'Add') || !add.graph || add.inputs.length !== 2) continue;
      for (const side of [0, 1]) {
        const x = add.inputs[side]!;
        const conv = g.producer(x);
        if (!conv || !isOp(conv, 'Conv', 'ConvTranspose') || conv.outputs.length !== 1 || !soleConsumer(g, x, add)) continue;
        const c = constantTensor(g, add.inputs[1 - side]!);
        const w = constantTensor(g, conv.inputs[1] ?? '');
        if (!c || !w || !isFloatTensor(c) || c.dataType !== w.dataType || w.dims.length < 3) continue;
        const channels = conv.opType === 'ConvTranspose' ? w.dims[1]! * conv.getInt('group', 1) : w.dims[0]!;
        if (!isChannelBias(c.dims, w.dims.length, channels)) continue;
        const bias = conv.inputs[2] ? constantTensor(g, conv.inputs[2]) : undefined;
        if (conv.inputs[2] && (!bias || bias.elementCount !== channels || bias.dataType !== w.dataType)) continue;
        const b = bias ? toFloat64(bias) : new Float64Array(channels);
        const v = toFloat64(c);
        for (let o = 0; o < channels; o++) b[o] = b[o]! + v[v.length === 1 ? 0 : o]!;
        setConstantInput(g, conv, 2, fromFloat64(w, [channels], b), `${conv.name || conv.outputs[0]}.bias_add`);
        const y = add.outputs[0]!;
        g.removeNode(add);
        conv.setOutputs([y]);
        changes++;
        break;
      }
    }
    if (changes) allowInitializers(model);
    return changes;
  },
};

/** True when a constant of `dims` added to a [N, C, ...] tensor of `rank` dims adds one value per channel. */
export function isChannelBias(dims: readonly number[], rank: number, channels: number): boolean {
  if (dims.length > rank) return false;
  const aligned = [...Array.from({ length: rank - dims.length }, () => 1), ...dims];
  return aligned.every((d, i) => d === 1 || (i === 1 && d === channels));
}
