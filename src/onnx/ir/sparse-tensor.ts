/** A sparse tensor (SparseTensorProto): sparse initializers and sparse_tensor attributes, kept as read. */
import type { Tensor } from './tensor.js';

export interface SparseTensor {
  /** The non-default values, shape [NNZ]; its name names the sparse initializer. */
  readonly values: Tensor;
  /** INT64 indices: shape [NNZ] (linearized) or [NNZ, rank]. */
  readonly indices: Tensor;
  /** The dense shape. */
  readonly dims: readonly number[];
}
