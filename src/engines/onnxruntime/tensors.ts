/** ferry tensors to and from onnxruntime-node's: views over the same memory, nothing copied. */
import ort from 'onnxruntime-node';
import { DATATYPES, fromOrtType } from '../../tensors/dtype.js';
import type { Tensor } from '../../tensors/tensor.js';
import { FerryError } from '../../errors.js';

export function toOrtTensor(t: Tensor): ort.Tensor {
  return new ort.Tensor(DATATYPES[t.datatype].ort as 'float32', t.data as Float32Array, [...t.shape]);
}

export function fromOrtTensor(name: string, t: ort.Tensor): Tensor {
  const info = fromOrtType(t.type);
  if (!info) throw new FerryError('INFERENCE_FAILED', `output "${name}" has type ${t.type}, which ferry does not read`);
  return { datatype: info.v2, shape: [...t.dims], data: t.data as Float32Array };
}

/** "onnxruntime-node 1.30.0" */
export function ortVersion(): string {
  return `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`;
}
