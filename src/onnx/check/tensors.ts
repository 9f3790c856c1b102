/**
 * Tensor checks: a known element type, data that holds as many elements as the dims say (inline,
 * in a type-specific field, or in an external file that exists and is long enough), and sparse
 * tensors whose indices fit the dense shape (as onnx.checker's check_sparse_tensor).
 */
import { DataType, dataTypeInfo, dataTypeName, rawByteLength } from '../ir/data-type.js';
import type { SparseTensor } from '../ir/sparse-tensor.js';
import type { Tensor } from '../ir/tensor.js';
import { tensorStorage } from '../ir/tensor.js';
import type { CheckContext } from './context.js';

const describe = (t: Tensor) => `${dataTypeName(t.dataType)}${JSON.stringify(t.dims)}`;

/**
 * Checks one tensor at `where`; `what`, when given, names it within that (`attribute "value"`).
 * Reads no data: sizes come from the stored form (external files are only stat'ed).
 */
export function checkTensor(cx: CheckContext, t: Tensor, where: string, what = ''): void {
  const r = cx.report;
  const lead = what ? `${what}: ` : '';
  if (t.dataType === DataType.UNDEFINED) {
    r.error('tensor', where, `${lead}the data type is UNDEFINED`);
    return;
  }
  const info = dataTypeInfo(t.dataType);
  if (!info) {
    r.error('tensor', where, `${lead}data type ${t.dataType} is not one ONNX defines`);
    return;
  }
  const n = t.elementCount;
  const s = tensorStorage(t);
  switch (s.kind) {
    case 'raw': {
      const need = rawByteLength(t.dataType, n);
      const have = s.bytes.byteLength;
      if (Number.isNaN(need)) return; // STRING tensors never have raw storage
      if (have !== need) {
        r.error('tensor', where, have === 0
          ? `${lead}${describe(t)} needs ${need} bytes of data but has none (no raw_data, and nothing in ${info.field}, where ${info.name} values go)`
          : `${lead}${describe(t)} needs ${need} bytes of data; its raw_data holds ${have}`);
      }
      return;
    }
    case 'field': {
      const arrayBytes = info.array?.BYTES_PER_ELEMENT ?? 1;
      const need = info.bits === 6 ? n : rawByteLength(t.dataType, n) / arrayBytes;
      if (s.values.length !== need) r.error('tensor', where, `${lead}${describe(t)} needs ${need} values in ${s.field}; it holds ${s.values.length}`);
      return;
    }
    case 'strings':
      if (s.values.length !== n) r.error('tensor', where, `${lead}${describe(t)} needs ${n} strings; it holds ${s.values.length}`);
      return;
    case 'external': {
      const loc = s.location;
      const need = rawByteLength(t.dataType, n);
      if (!Number.isNaN(need) && loc.length !== need) {
        r.error('tensor', where, `${lead}${describe(t)} needs ${need} bytes; its external data length is ${loc.length}`);
      }
      const size = cx.fileSize(loc.path);
      if (size === undefined) {
        r.error('tensor', where, `${lead}its external data file "${loc.location}" (${loc.path}) is missing or not a regular file`);
      } else if (loc.offset + loc.length > size) {
        r.error('tensor', where, `${lead}bytes ${loc.offset}..${loc.offset + loc.length} of "${loc.location}" are past its end (${size} bytes)`);
      }
    }
  }
}

/** Checks a sparse tensor: values [NNZ], INT64 indices [NNZ] or [NNZ, rank], in range and in order. */
export function checkSparseTensor(cx: CheckContext, s: SparseTensor, where: string, what = ''): void {
  const r = cx.report;
  const before = r.errors.length;
  const lead = what ? `${what}: ` : '';
  checkTensor(cx, s.values, where, `${what ? `${what} ` : ''}values`);
  if (s.values.dims.length !== 1) {
    r.error('sparse-tensor', where, `${lead}values must have rank 1 ([NNZ]); they are ${JSON.stringify(s.values.dims)}`);
    return;
  }
  const nnz = s.values.dims[0]!;
  if (s.dims.length === 0) {
    r.error('sparse-tensor', where, `${lead}the dense shape is empty; a sparse tensor needs rank > 0`);
    return;
  }
  if (s.dims.some((d) => d <= 0)) {
    r.error('sparse-tensor', where, `${lead}dense dims ${JSON.stringify(s.dims)} must all be positive`);
    return;
  }
  const idx = s.indices;
  if (idx.dataType === DataType.UNDEFINED && idx.dims.length === 0 && !idx.name) { // no indices field
    if (nnz !== 0) r.error('sparse-tensor', where, `${lead}${nnz} values but no indices`);
    return;
  }
  checkTensor(cx, idx, where, `${what ? `${what} ` : ''}indices`);
  if (r.errors.length > before) return;
  if (idx.dataType !== DataType.INT64) {
    r.error('sparse-tensor', where, `${lead}indices must be INT64, they are ${dataTypeName(idx.dataType)}`);
    return;
  }
  const rank = s.dims.length;
  if (idx.dims.length === 1) {
    if (idx.dims[0] !== nnz) {
      r.error('sparse-tensor', where, `${lead}${idx.dims[0]} indices for ${nnz} values`);
      return;
    }
  } else if (idx.dims.length === 2) {
    if (idx.dims[0] !== nnz || idx.dims[1] !== rank) {
      r.error('sparse-tensor', where, `${lead}indices are ${JSON.stringify(idx.dims)}; ${nnz} values in a rank-${rank} tensor need [${nnz},${rank}]`);
      return;
    }
  } else {
    r.error('sparse-tensor', where, `${lead}indices must have rank 1 (linear) or 2 (coordinates); they are ${JSON.stringify(idx.dims)}`);
    return;
  }
  let data: BigInt64Array;
  try {
    data = idx.data() as BigInt64Array;
  } catch (err) {
    r.error('sparse-tensor', where, `${lead}cannot read the indices: ${(err as Error).message}`);
    return;
  }
  const dense = s.dims.reduce((a, b) => a * b, 1);
  let prev = -1;
  for (let i = 0; i < nnz; i++) {
    let linear = 0;
    if (idx.dims.length === 1) {
      linear = Number(data[i]);
      if (linear < 0 || linear >= dense) {
        r.error('sparse-tensor', where, `${lead}index ${i} is ${linear}, outside [0, ${dense - 1}] of dense shape ${JSON.stringify(s.dims)}`);
        return;
      }
    } else {
      for (let j = 0; j < rank; j++) {
        const v = Number(data[i * rank + j]);
        if (v < 0 || v >= s.dims[j]!) {
          r.error('sparse-tensor', where, `${lead}index [${i},${j}] is ${v}, outside [0, ${s.dims[j]! - 1}]`);
          return;
        }
        linear = linear * s.dims[j]! + v;
      }
    }
    if (linear <= prev) {
      r.error('sparse-tensor', where, `${lead}index ${i} is not after index ${i - 1}: indices must be sorted and unique`);
      return;
    }
    prev = linear;
  }
}
