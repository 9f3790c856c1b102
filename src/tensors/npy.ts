/**
 * NumPy's .npy and .npz files: the tensors the Python bridge and ferry exchange, and what users
 * hand `ferry compare --inputs`. Reads format versions 1.0–3.0, little- and big-endian, C and
 * Fortran order, every numeric dtype the datatype table has (bool, u1–u8, i1–i8, f2, f4, f8).
 * .npz is a zip: stored and deflated entries are read (zip64 included, as numpy always writes);
 * entries are written stored. FP16 tensors hold raw IEEE half bits (Uint16Array), as everywhere in ferry.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type { Datatype, TypedArray } from './dtype.js';
import { DATATYPES } from './dtype.js';
import type { Tensor } from './tensor.js';
import { elementCount } from './tensor.js';
import { FerryError } from '../errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy type codes (without byte order) <-> ferry datatypes. */
const DESCR_TO_DATATYPE: Readonly<Record<string, Datatype>> = {
  b1: 'BOOL', u1: 'UINT8', u2: 'UINT16', u4: 'UINT32', u8: 'UINT64',
  i1: 'INT8', i2: 'INT16', i4: 'INT32', i8: 'INT64', f2: 'FP16', f4: 'FP32', f8: 'FP64',
};
const DATATYPE_TO_DESCR: Readonly<Record<Datatype, string>> = {
  BOOL: '|b1', UINT8: '|u1', INT8: '|i1', UINT16: '<u2', UINT32: '<u4', UINT64: '<u8',
  INT16: '<i2', INT32: '<i4', INT64: '<i8', FP16: '<f2', FP32: '<f4', FP64: '<f8',
};

function bad(what: string, why: string): FerryError {
  return new FerryError('BAD_NPY', `${what}: ${why}`);
}

/** Parses one .npy file's bytes. `what` names the file in errors. */
export function parseNpy(bytes: Uint8Array, what = 'npy'): Tensor {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad(what, 'not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad(what, 'truncated header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw bad(what, `.npy format version ${major}.${bytes[7]} is not one ferry reads (1.0–3.0)`);
  }
  if (start + headerLen > bytes.length) throw bad(what, 'truncated header');
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + start, headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined) throw bad(what, `header ${header.trim()} has no simple 'descr' (structured arrays are not read)`);
  if (fortran === undefined || shapeText === undefined) throw bad(what, `header ${header.trim()} lacks fortran_order or shape`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(what, `bad shape (${shapeText})`);

  const order = descr[0]!;
  const code = descr.slice(1);
  const datatype = DESCR_TO_DATATYPE[code];
  if (!datatype || !'<>|='.includes(order)) {
    throw bad(what, `dtype '${descr}' is not one ferry reads (bool, int8–64, uint8–64, float16/32/64)`);
  }
  const info = DATATYPES[datatype];
  const count = elementCount(shape, what);
  const dataStart = start + headerLen;
  const byteLength = count * info.bytes;
  if (bytes.length - dataStart < byteLength) {
    throw bad(what, `holds ${bytes.length - dataStart} data bytes, shape (${shape.join(', ')}) of ${descr} needs ${byteLength}`);
  }
  // Copy into a fresh, aligned buffer (the source may sit at any offset inside a zip).
  const raw = new Uint8Array(byteLength); // not bytes.slice: on a Buffer that is a view, not a copy
  raw.set(bytes.subarray(dataStart, dataStart + byteLength));
  if (order === '>' && info.bytes > 1) swapBytes(raw, info.bytes);
  let data = new info.array(raw.buffer, 0, count);
  if (fortran === 'True' && shape.length > 1) data = fortranToC(data, shape);
  return { datatype, shape, data };
}

function swapBytes(raw: Uint8Array, size: number): void {
  for (let i = 0; i < raw.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = raw[a]!;
      raw[a] = raw[b]!;
      raw[b] = t;
    }
  }
}

/** Reorders column-major elements into row-major. */
function fortranToC(src: TypedArray, shape: readonly number[]): TypedArray {
  const Ctor = src.constructor as new (n: number) => TypedArray;
  const out = new Ctor(src.length);
  const rank = shape.length;
  const fStride = new Array<number>(rank);
  let s = 1;
  for (let d = 0; d < rank; d++) {
    fStride[d] = s;
    s *= shape[d]!;
  }
  const idx = new Array<number>(rank).fill(0);
  for (let c = 0; c < src.length; c++) {
    let f = 0;
    for (let d = 0; d < rank; d++) f += idx[d]! * fStride[d]!;
    (out as unknown as number[])[c] = (src as unknown as number[])[f]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Encodes a tensor as a version 1.0 .npy (C order, little-endian), the header padded to 64 bytes as numpy does. */
export function encodeNpy(t: Tensor): Buffer {
  const descr = DATATYPE_TO_DESCR[t.datatype];
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  MAGIC.forEach((b, i) => { prefix[i] = b; });
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const count = elementCount(t.shape, 'tensor');
  if (t.data.length !== count) throw new FerryError('BAD_DATA_LENGTH', `tensor of shape [${t.shape.join(',')}] holds ${t.data.length} elements`);
  const data = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]);
}

// ---- zip (.npz) ----

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (the zip/PNG polynomial). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface ZipEntry { name: string; method: number; flags: number; crc: number; compressedSize: number; size: number; localOffset: number }

function centralDirectory(buf: Buffer, what: string): ZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad(what, 'not a zip (.npz) file: no end-of-central-directory record');
  let count = buf.readUInt16LE(eocd + 10);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || buf.readUInt32LE(locator) !== 0x07064b50) throw bad(what, 'zip64 end record missing');
    const z64 = Number(buf.readBigUInt64LE(locator + 8));
    if (buf.readUInt32LE(z64) !== 0x06064b50) throw bad(what, 'bad zip64 end record');
    count = Number(buf.readBigUInt64LE(z64 + 32));
    cdOffset = Number(buf.readBigUInt64LE(z64 + 48));
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw bad(what, `bad central directory entry ${i}`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
    // zip64 extra field: the 64-bit values of whichever 32-bit fields are 0xffffffff, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) { size = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (localOffset === 0xffffffff) { localOffset = Number(buf.readBigUInt64LE(q)); q += 8; }
      }
      e += 4 + len;
    }
    entries.push({ name, method, flags, crc, compressedSize, size, localOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

function entryBytes(buf: Buffer, entry: ZipEntry, what: string): Buffer {
  const where = `${what}:${entry.name}`;
  if (entry.flags & 1) throw bad(where, 'encrypted zip entries are not read');
  const p = entry.localOffset;
  if (p + 30 > buf.length || buf.readUInt32LE(p) !== 0x04034b50) throw bad(where, 'bad local header');
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const stored = buf.subarray(start, start + entry.compressedSize);
  if (stored.length !== entry.compressedSize) throw bad(where, 'truncated entry');
  let data: Buffer;
  if (entry.method === 0) data = stored;
  else if (entry.method === 8) {
    try {
      data = inflateRawSync(stored);
    } catch (err) {
      throw new FerryError('BAD_NPY', `${where}: cannot inflate: ${(err as Error).message}`, { cause: err });
    }
  } else throw bad(where, `zip compression method ${entry.method} is not read (stored and deflated are)`);
  if (data.length !== entry.size) throw bad(where, `inflated to ${data.length} bytes, the directory says ${entry.size}`);
  if (crc32(data) !== entry.crc) throw bad(where, 'CRC-32 mismatch: the file is corrupt');
  return data;
}

/** Parses an .npz; keys are entry names without `.npy`, in the archive's order. */
export function parseNpz(bytes: Uint8Array, what = 'npz'): Map<string, Tensor> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, Tensor>();
  for (const entry of centralDirectory(buf, what)) {
    if (entry.name.endsWith('/')) continue;
    const key = entry.name.endsWith('.npy') ? entry.name.slice(0, -4) : entry.name;
    out.set(key, parseNpy(entryBytes(buf, entry, what), `${what}:${entry.name}`));
  }
  return out;
}

/** Encodes tensors as an .npz of stored (uncompressed) entries, `NAME.npy` each, in the given order. */
export function encodeNpz(tensors: Iterable<readonly [string, Tensor]>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  let count = 0;
  for (const [key, tensor] of tensors) {
    const name = Buffer.from(`${key}.npy`, 'utf8');
    const data = encodeNpy(tensor);
    if (data.length >= 0xffffffff || offset >= 0xffffffff) throw new FerryError('BAD_NPY', `npz entry ${key}: over 4 GiB, which ferry does not write`);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // date 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4); // version made by
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x800, 8);
    cd.writeUInt16LE(0, 10);
    cd.writeUInt16LE(0, 12);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    parts.push(local, name, data);
    offset += local.length + name.length + data.length;
    count++;
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, eocd]);
}

export async function readNpy(path: string): Promise<Tensor> {
  return parseNpy(await readFileOr(path), path);
}

export async function writeNpy(path: string, tensor: Tensor): Promise<void> {
  await writeFile(path, encodeNpy(tensor));
}

export async function readNpz(path: string): Promise<Map<string, Tensor>> {
  return parseNpz(await readFileOr(path), path);
}

export async function writeNpz(path: string, tensors: Iterable<readonly [string, Tensor]>): Promise<void> {
  await writeFile(path, encodeNpz(tensors));
}

/** Every NAME.npy in a directory, keyed by NAME, sorted by name. */
export async function readNpyDir(dir: string): Promise<Map<string, Tensor>> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.npy')).sort();
  if (names.length === 0) throw bad(dir, 'holds no .npy files');
  const out = new Map<string, Tensor>();
  for (const n of names) out.set(basename(n, '.npy'), await readNpy(join(dir, n)));
  return out;
}

async function readFileOr(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new FerryError('BAD_NPY', `${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
}
