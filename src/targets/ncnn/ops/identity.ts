/** Identity, Dropout (inference) and float-to-float Cast: no layer, the output is the input's blob. */
import { DataType } from '../../../onnx/ir/data-type.js';
import type { OpConverter } from './op.js';

export const identity: OpConverter = {
  ops: ['Identity', 'Dropout', 'Cast'],
  convert(node, ctx) {
    if (node.opType === 'Cast' && node.getInt('to') !== DataType.FLOAT) throw ctx.unsupported(node, 'casts to a type other than float; ncnn blobs are float');
    if (node.opType === 'Dropout' && node.outputs[1]) throw ctx.unsupported(node, 'has a mask output');
    ctx.alias(node, 0, 0);
  },
};
