/**
 * How two runs of "the same" model differ, output by output (Polygraphy's `--check` metrics):
 * max and mean absolute error, max relative error, cosine similarity, top-1 agreement for
 * [batch, classes] outputs, and PASS when every element satisfies numpy.allclose's
 * `|a - b| <= atol + rtol * |b|` (b is the reference, the second model).
 */
import type { Tensor } from './tensor.js';
import { fromHalfBits } from './dtype.js';

export interface Tolerance {
  /** Absolute tolerance. */
  readonly atol: number;
  /** Relative tolerance, times |b|. */
  readonly rtol: number;
}

/** Differences of one output over one or more trials. */
export interface OutputStats {
  readonly elements: number;
  readonly maxAbs: number;
  /** Sum of |a - b| (mean = sumAbs / elements); kept so trials merge exactly. */
  readonly sumAbs: number;
  readonly maxRel: number;
  /** Smallest cosine similarity over the trials (1 = same direction). */
  readonly cosine: number;
  /** Elements outside the tolerance (NaN anywhere counts). */
  readonly mismatched: number;
  /** Rows whose argmax agrees, for [batch, classes] outputs. */
  readonly top1?: { readonly agree: number; readonly rows: number };
  readonly pass: boolean;
  readonly note?: string;
}

/** A tensor's elements as float64 (half bits decoded, 64-bit integers converted). */
export function toFloat64(t: Tensor): Float64Array {
  const n = t.data.length;
  const out = new Float64Array(n);
  if (t.datatype === 'FP16') {
    for (let i = 0; i < n; i++) out[i] = fromHalfBits(t.data[i] as number);
  } else if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = Number(t.data[i]);
  } else {
    out.set(t.data as ArrayLike<number>);
  }
  return out;
}

const REL_FLOOR = 1e-12;

/** Compares `a` against the reference `b`. */
export function compareTensors(a: Tensor, b: Tensor, tol: Tolerance): OutputStats {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    return { elements: 0, maxAbs: NaN, sumAbs: 0, maxRel: NaN, cosine: NaN, mismatched: 0, pass: false,
      note: `shapes differ: [${a.shape.join(',')}] vs [${b.shape.join(',')}]` };
  }
  const x = toFloat64(a);
  const y = toFloat64(b);
  let maxAbs = 0;
  let sumAbs = 0;
  let maxRel = 0;
  let dot = 0;
  let nx = 0;
  let ny = 0;
  let mismatched = 0;
  let nan = 0;
  for (let i = 0; i < x.length; i++) {
    const u = x[i]!;
    const v = y[i]!;
    if (u === v) { // also equal infinities, which numpy.isclose accepts
      if (Number.isFinite(u)) { dot += u * v; nx += u * u; ny += v * v; }
      continue;
    }
    const err = Math.abs(u - v);
    if (Number.isNaN(err)) {
      nan++;
      mismatched++;
      continue;
    }
    if (err > maxAbs) maxAbs = err;
    sumAbs += err;
    const rel = err / Math.max(Math.abs(v), REL_FLOOR);
    if (rel > maxRel) maxRel = rel;
    if (!(err <= tol.atol + tol.rtol * Math.abs(v))) mismatched++;
    if (Number.isFinite(u) && Number.isFinite(v)) { dot += u * v; nx += u * u; ny += v * v; }
  }
  const cosine = nx === 0 && ny === 0 ? 1 : nx === 0 || ny === 0 ? 0 : dot / Math.sqrt(nx * ny);
  const stats: OutputStats = {
    elements: x.length, maxAbs, sumAbs, maxRel, cosine: Math.min(1, Math.max(-1, cosine)), mismatched,
    pass: mismatched === 0,
    ...(a.shape.length === 2 && a.shape[1]! >= 2 && { top1: top1(x, y, a.shape[0]!, a.shape[1]!) }),
    ...(nan > 0 && { note: `${nan} element(s) NaN in one model only` }),
  };
  return stats;
}

function top1(x: Float64Array, y: Float64Array, rows: number, cols: number): { agree: number; rows: number } {
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    let ax = 0;
    let ay = 0;
    for (let c = 1; c < cols; c++) {
      if (x[r * cols + c]! > x[r * cols + ax]!) ax = c;
      if (y[r * cols + c]! > y[r * cols + ay]!) ay = c;
    }
    if (ax === ay) agree++;
  }
  return { agree, rows };
}

/** Merges one output's stats over trials: maxima of maxima, pooled mean, worst cosine, summed counts. */
export function mergeStats(list: readonly OutputStats[]): OutputStats {
  if (list.length === 1) return list[0]!;
  const notes = [...new Set(list.map((s) => s.note).filter(Boolean))];
  const tops = list.map((s) => s.top1).filter((t) => t !== undefined);
  const max = (f: (s: OutputStats) => number): number => list.reduce((m, s) => (Number.isNaN(f(s)) || Number.isNaN(m) ? NaN : Math.max(m, f(s))), 0);
  return {
    elements: list.reduce((n, s) => n + s.elements, 0),
    maxAbs: max((s) => s.maxAbs),
    sumAbs: list.reduce((n, s) => n + s.sumAbs, 0),
    maxRel: max((s) => s.maxRel),
    cosine: list.reduce((m, s) => (Number.isNaN(s.cosine) || Number.isNaN(m) ? NaN : Math.min(m, s.cosine)), 1),
    mismatched: list.reduce((n, s) => n + s.mismatched, 0),
    pass: list.every((s) => s.pass),
    ...(tops.length === list.length && { top1: { agree: tops.reduce((n, t) => n + t.agree, 0), rows: tops.reduce((n, t) => n + t.rows, 0) } }),
    ...(notes.length > 0 && { note: notes.join('; ') }),
  };
}

export function meanAbs(s: OutputStats): number {
  return s.elements === 0 ? NaN : s.sumAbs / s.elements;
}
