/**
 * The inputs both models of `ferry compare` receive: read from an .npz or a directory of .npy
 * files, or generated from a seed (standard normal for floats, integers in [0, 10) for integer
 * types, 0/1 for bool) with shapes from the ONNX model's metadata and --input-shape.
 */
import { stat } from 'node:fs/promises';
import type { Datatype } from './dtype.js';
import { DATATYPES, isDatatype, toHalfBits } from './dtype.js';
import type { Tensor } from './tensor.js';
import { allocate, elementCount } from './tensor.js';
import { readNpyDir, readNpz } from './npy.js';
import { seededRandom } from './random.js';
import { FerryError } from '../errors.js';

/** Named tensors in input (or output) order. */
export type NamedTensors = Map<string, Tensor>;

/** One model input as declared: dims are numbers, or strings / -1 for dynamic ones. */
export interface DeclaredInput {
  readonly name: string;
  readonly datatype: Datatype;
  readonly dims: readonly (number | string)[];
}

export interface InputSpec {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
}

/** One --input-shape: `name:1,3,224,224`, `name:1,16:int64`, or unnamed `1,3,224,224`. */
export interface ShapeOverride {
  readonly name?: string;
  readonly shape: readonly number[];
  readonly datatype?: Datatype;
}

const NUMPY_NAMES: Readonly<Record<string, Datatype>> = {
  bool: 'BOOL', uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64', int8: 'INT8', int16: 'INT16',
  int32: 'INT32', int64: 'INT64', float16: 'FP16', float32: 'FP32', float64: 'FP64',
};

/** A dtype given as numpy ('float32') or v2 ('FP32') name. */
export function parseDatatype(text: string): Datatype | undefined {
  return NUMPY_NAMES[text.toLowerCase()] ?? (isDatatype(text.toUpperCase()) ? (text.toUpperCase() as Datatype) : undefined);
}

export function numpyName(dt: Datatype): string {
  return Object.entries(NUMPY_NAMES).find(([, d]) => d === dt)![0];
}

/** Parses --input-shape values; throws Error (the CLI turns it into a usage error). */
export function parseShapeOverrides(values: readonly string[]): ShapeOverride[] {
  return values.map((v) => {
    const parts = v.split(':');
    let name: string | undefined;
    let datatype: Datatype | undefined;
    if (parts.length > 1 && !/^[\d,\s]*$/.test(parts[0]!)) name = parts.shift();
    if (parts.length > 1) {
      const dt = parseDatatype(parts[parts.length - 1]!);
      if (!dt) throw new Error(`--input-shape ${v}: unknown dtype "${parts[parts.length - 1]}"`);
      datatype = dt;
      parts.pop();
    }
    if (parts.length !== 1) throw new Error(`--input-shape ${v}: expected NAME:D1,D2,... (optionally :DTYPE)`);
    const shape = parts[0]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
    if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`--input-shape ${v}: dims must be integers >= 0`);
    return { ...(name !== undefined && { name }), shape, ...(datatype && { datatype }) };
  });
}

/**
 * Concrete shapes for a model's declared inputs: --input-shape wins; a dynamic first dim (the
 * batch) defaults to 1; any other dynamic dim is an error asking for --input-shape.
 */
export function resolveSpecs(declared: readonly DeclaredInput[], overrides: readonly ShapeOverride[], what: string): InputSpec[] {
  const byName = new Map(overrides.filter((o) => o.name !== undefined).map((o) => [o.name!, o]));
  for (const name of byName.keys()) {
    if (!declared.some((d) => d.name === name)) {
      throw new FerryError('UNKNOWN_INPUT', `--input-shape names "${name}", but ${what} has inputs ${declared.map((d) => d.name).join(', ')}`);
    }
  }
  const unnamed = overrides.filter((o) => o.name === undefined);
  return declared.map((d, i) => {
    const o = byName.get(d.name) ?? unnamed[i];
    if (o) {
      if (o.shape.length !== d.dims.length) {
        throw new FerryError('BAD_SHAPE', `--input-shape for "${d.name}" has rank ${o.shape.length}, ${what} declares [${d.dims.join(',')}]`);
      }
      d.dims.forEach((want, k) => {
        if (typeof want === 'number' && want >= 0 && o.shape[k] !== want) {
          throw new FerryError('BAD_SHAPE', `--input-shape ${d.name}:${o.shape.join(',')} does not fit ${what}'s [${d.dims.join(',')}]`);
        }
      });
      return { name: d.name, datatype: o.datatype ?? d.datatype, shape: [...o.shape] };
    }
    const shape = d.dims.map((dim, k) => {
      if (typeof dim === 'number' && dim >= 0) return dim;
      if (k === 0) return 1;
      throw new FerryError('BAD_SHAPE', `input "${d.name}" of ${what} has dynamic dim ${k} (${JSON.stringify(dim)}) in [${d.dims.join(',')}]: give its size with --input-shape ${d.name}:${d.dims.map((x, j) => (typeof x === 'number' && x >= 0 ? x : j === 0 ? 1 : 'N')).join(',')}`);
    });
    return { name: d.name, datatype: d.datatype, shape };
  });
}

/** Specs straight from --input-shape, for two PyTorch-side models (float32 unless a dtype is given). */
export function specsFromOverrides(overrides: readonly ShapeOverride[]): InputSpec[] {
  return overrides.map((o, i) => ({ name: o.name ?? `input_${i}`, datatype: o.datatype ?? 'FP32', shape: [...o.shape] }));
}


/** Seeded random tensors for one trial; trial t of seed s is the same on every run. */
export function randomInputs(specs: readonly InputSpec[], seed: number, trial: number): NamedTensors {
  const out: NamedTensors = new Map();
  specs.forEach((spec, i) => {
    const rand = seededRandom(Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(trial + 1, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35));
    const n = elementCount(spec.shape, `input "${spec.name}"`);
    const data = allocate(spec.datatype, n);
    const info = DATATYPES[spec.datatype];
    const normal = (): number => {
      const u = 1 - rand();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
    };
    for (let k = 0; k < n; k++) {
      if (spec.datatype === 'FP32' || spec.datatype === 'FP64') (data as Float32Array)[k] = normal();
      else if (spec.datatype === 'FP16') (data as Uint16Array)[k] = toHalfBits(normal());
      else if (spec.datatype === 'BOOL') (data as Uint8Array)[k] = rand() < 0.5 ? 0 : 1;
      else if (info.big) (data as BigInt64Array)[k] = BigInt(Math.floor(rand() * 10));
      else (data as Int32Array)[k] = Math.floor(rand() * 10);
    }
    out.set(spec.name, { datatype: spec.datatype, shape: [...spec.shape], data });
  });
  return out;
}

/** --inputs: an .npz, or a directory of NAME.npy files. */
export async function loadInputs(path: string): Promise<NamedTensors> {
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw new FerryError('BAD_NPY', `--inputs ${path}: no such file or directory`);
  }
  return isDir ? readNpyDir(path) : readNpz(path);
}

/** Orders (and checks) given inputs against a model's declared ones. */
export function matchInputs(given: NamedTensors, declared: readonly DeclaredInput[], what: string): NamedTensors {
  const out: NamedTensors = new Map();
  for (const d of declared) {
    const t = given.get(d.name);
    if (!t) throw new FerryError('MISSING_INPUT', `${what} needs input "${d.name}", the inputs hold ${[...given.keys()].join(', ') || 'nothing'}`);
    out.set(d.name, t);
  }
  return out;
}
