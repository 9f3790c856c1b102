/**
 * Tensor checks, as onnx.checker's check_tensor: a known element type, data in one field — the one
 * the type says, or raw_data, or an external file — holding as many elements as the dims say, and
 * sparse tensors whose indices fit the dense shape (check_sparse_tensor). An external data file
 * must exist, be a regular file inside the model's folder, neither a symbolic link nor hard-linked
 * elsewhere (onnx refuses those: they let a model read any file), and be long enough.
 */
import { dirname, normalize } from 'node:path';
import { realpathSync } from 'node:fs';
import { DataType, dataTypeInfo, dataTypeName, rawByteLength } from '../ir/data-type.js';
import type { ExternalLocation } from '../ir/external.js';
import type { SparseTensor } from '../ir/sparse-tensor.js';
import type { Tensor } from '../ir/tensor.js';
import { tensorStorage } from '../ir/tensor.js';
import type { SparseTensorProto, TensorProto } from '../proto/types.js';
import { DataLocation } from '../proto/types.js';
import type { CheckContext } from './context.js';

const describe = (t: Tensor) => `${dataTypeName(t.dataType)}${JSON.stringify(t.dims)}`;

/** TensorProto's data fields, in onnx.checker's order. */
const DATA_FIELDS = ['float_data', 'int32_data', 'string_data', 'int64_data', 'raw_data', 'double_data', 'uint64_data'] as const;

/**
 * Checks one tensor at `where`; `what`, when given, names it within that (`attribute "value"`).
 * `proto`, the TensorProto it was decoded from (when read from a file), lets the checks see the
 * fields the IR keeps only one of. Reads no data except a FLOAT6 tensor's last raw byte; external
 * files are only stat'ed.
 */
export function checkTensor(cx: CheckContext, t: Tensor, where: string, what = '', proto?: TensorProto): void {
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
  if (proto && !checkDataFields(cx, t, proto, where, lead)) return;
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
      } else if (info.bits === 6 && (n * 6) % 8 !== 0 && s.bytes[need - 1]! >> ((n * 6) % 8) !== 0) {
        r.error('tensor', where, `${lead}${describe(t)}: the padding bits of its last raw_data byte are not zero (packed FLOAT6 pads with zeros)`);
      }
      return;
    }
    case 'field': {
      const arrayBytes = info.array?.BYTES_PER_ELEMENT ?? 1;
      const need = info.bits === 6 ? n : rawByteLength(t.dataType, n) / arrayBytes;
      if (s.values.length !== need) r.error('tensor', where, `${lead}${describe(t)} needs ${need} values in ${s.field}; it holds ${s.values.length}`);
      else if (info.bits === 6) {
        const bad = (s.values as readonly number[]).findIndex((v) => v < 0 || v > 0x3f);
        if (bad >= 0) r.error('tensor', where, `${lead}${describe(t)}: int32_data[${bad}] is ${String(s.values[bad])}; a FLOAT6 value uses bits 0-5 only (0..63)`);
      }
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
      checkExternalFile(cx, loc, where, lead);
    }
  }
}

/**
 * The TensorProto's fields (check_tensor's first half): one data field at most, none beside
 * external data, none for zero elements, and the right one for the type. Returns false when it
 * reported a problem (the size checks would only repeat it).
 */
function checkDataFields(cx: CheckContext, t: Tensor, p: TensorProto, where: string, lead: string): boolean {
  const r = cx.report;
  const fields = DATA_FIELDS.filter((f) => (p[f]?.length ?? 0) > 0);
  const listed = fields.join(' and ');
  if (p.data_location === DataLocation.EXTERNAL) {
    if (fields.length) r.error('tensor', where, `${lead}its data is EXTERNAL, but it also holds data in ${listed}: an external tensor keeps no data inline`);
    return fields.length === 0;
  }
  const n = t.elementCount;
  if (n === 0 && fields.length) {
    r.error('tensor', where, `${lead}${describe(t)} has no elements but holds data in ${listed}`);
    return false;
  }
  if (fields.length > 1) {
    r.error('tensor', where, `${lead}its data is in ${listed}: a tensor keeps its values in exactly one field`);
    return false;
  }
  const info = dataTypeInfo(t.dataType)!;
  if (fields[0] === 'raw_data' && t.dataType === DataType.STRING) {
    r.error('tensor', where, `${lead}STRING values cannot be in raw_data: they go in string_data, one bytes entry per element`);
    return false;
  }
  if (fields.length === 1 && fields[0] !== 'raw_data' && fields[0] !== info.field) {
    r.error('tensor', where, `${lead}${info.name} values go in ${info.field ?? 'raw_data'}, not in ${fields[0]}`);
    return false;
  }
  return true;
}

/**
 * The external data file (onnx.checker's resolve_external_data_location): a regular file inside
 * the model's folder, reached without symbolic links and with no other hard link, holding the
 * tensor's byte range.
 */
function checkExternalFile(cx: CheckContext, loc: ExternalLocation, where: string, lead: string): void {
  const r = cx.report;
  const file = `external data file "${loc.location}"`;
  if (loc.location.startsWith('#')) return; // onnx's in-memory locations: no file to look at
  if (normalize(loc.location).includes('..')) {
    r.error('tensor', where, `${lead}its ${file} has ".." in its path; onnx.checker refuses any location with ".." (rename the file)`);
    return;
  }
  const info = cx.file(loc.path);
  if (info.symlink) {
    r.error('tensor', where, `${lead}its ${file} (${loc.path}) is a symbolic link; onnx.checker refuses links (they can point outside the model's folder): copy the file in`);
    return;
  }
  if (info.size === undefined) {
    r.error('tensor', where, `${lead}its ${file} (${loc.path}) is missing or not a regular file`);
    return;
  }
  if (info.links > 1) {
    r.error('tensor', where, `${lead}its ${file} (${loc.path}) has ${info.links} hard links; onnx.checker refuses hard-linked data (it can be a file from outside the model's folder): copy it`);
    return;
  }
  const base = modelDir(loc);
  if (base !== undefined) {
    let real: string;
    try {
      real = realpathSync(loc.path);
    } catch {
      real = loc.path;
    }
    const realBase = safeRealpath(base);
    if (real !== realBase && !real.startsWith(realBase.endsWith('/') ? realBase : `${realBase}/`)) {
      r.error('tensor', where, `${lead}its ${file} resolves to ${real}, outside the model's folder ${realBase} (a folder on its path is a link)`);
      return;
    }
  }
  if (loc.offset + loc.length > info.size) {
    r.error('tensor', where, `${lead}bytes ${loc.offset}..${loc.offset + loc.length} of "${loc.location}" are past its end (${info.size} bytes)`);
  }
}

/** The folder the model was read from: the external file's path less its location's components. */
function modelDir(loc: ExternalLocation): string | undefined {
  const parts = normalize(loc.location).split('/').filter((p) => p && p !== '.').length;
  let dir = loc.path;
  for (let i = 0; i < parts; i++) dir = dirname(dir);
  return parts ? dir : undefined;
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Checks a sparse tensor: values [NNZ], INT64 indices [NNZ] or [NNZ, rank], in range and in order. */
export function checkSparseTensor(cx: CheckContext, s: SparseTensor, where: string, what = '', proto?: SparseTensorProto): void {
  const r = cx.report;
  const before = r.errors.length;
  const lead = what ? `${what}: ` : '';
  checkTensor(cx, s.values, where, `${what ? `${what} ` : ''}values`, proto?.values ?? undefined);
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
  const noIndices = proto ? !proto.indices : idx.dataType === DataType.UNDEFINED && idx.dims.length === 0 && !idx.name;
  if (noIndices) {
    if (nnz !== 0) r.error('sparse-tensor', where, `${lead}${nnz} values but no indices`);
    return;
  }
  checkTensor(cx, idx, where, `${what ? `${what} ` : ''}indices`, proto?.indices ?? undefined);
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
