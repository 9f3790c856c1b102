/**
 * `ferry export`: the Python bridge builds the model, traces or scripts it (with the trace check),
 * writes ONNX or TorchScript and checks the file against eager PyTorch. ferry also runs the file on
 * the engine `ferry serve` uses — onnxruntime-node, or the libtorch engine when it is built — on
 * the same parity inputs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { FerryError } from '../errors.js';
import { readNpz } from '../tensors/npy.js';
import { compareTensors } from '../tensors/metrics.js';
import { fromOrtTensor, toOrtTensor } from '../engines/onnxruntime/tensors.js';
import { createEngine, engineDescriptor } from '../engines/registry.js';
import type { FindPythonOptions } from './python.js';
import { findPython } from './python.js';
import { runBridge } from './bridge.js';

/** ptl: PyTorch Mobile's lite-interpreter format (optimize_for_mobile + _save_for_lite_interpreter). */
export type ExportFormat = 'onnx' | 'torchscript' | 'ptl';
export type ExportMethod = 'trace' | 'script' | 'auto';

export interface ExportOptions {
  /** MODULE.py:FACTORY */
  readonly factory: string;
  /** One per forward() argument: "1,3,224,224", optionally with ":int64" etc. */
  readonly inputShapes: readonly string[];
  readonly to: ExportFormat;
  /** @defaultValue 'auto' */
  readonly method?: ExportMethod;
  /** ONNX opset. @defaultValue 13 */
  readonly opset?: number;
  /** Axis 0 of every input and output is dynamic (ONNX: named "batch"; TorchScript: -1 in its ferry.json). @defaultValue false */
  readonly dynamicBatch?: boolean;
  readonly output: string;
  readonly python?: FindPythonOptions;
  readonly onProgress?: (line: string) => void;
}

export interface ParityRow {
  readonly engine: string;
  /** "as given" or "batch 3". */
  readonly case: string;
  readonly inputs: readonly { name: string; shape: readonly number[] }[];
  readonly output: string;
  readonly maxAbs: number | null;
  readonly maxRel: number | null;
  readonly pass: boolean;
  readonly note?: string;
}

export interface TraceCheck {
  readonly inputs_checked: string[];
  readonly tracer_warnings: string[];
  readonly disagreements: { input: string; output: string; max_abs: number | null; note?: string }[];
}

export interface ExportReport {
  readonly factory: string;
  readonly output: string;
  readonly format: ExportFormat;
  readonly method: 'trace' | 'script';
  readonly methodRequested: ExportMethod;
  /** Why the method differs from the one requested (auto fell back to script). */
  readonly fallback: string | null;
  readonly traceCheck: TraceCheck | null;
  readonly inputs: readonly { name: string; shape: number[]; dtype: string }[];
  readonly outputs: readonly { name: string; shape: number[]; dtype: string }[];
  readonly opset?: number;
  readonly dynamicBatch?: boolean;
  readonly bytes: number;
  readonly parity: readonly ParityRow[];
  readonly atol: number;
  readonly rtol: number;
  /** Written, and every parity row passed. */
  readonly pass: boolean;
  readonly torchVersion: string;
  readonly python: string;
  /** Seconds: load, check (trace/script), export, parity (Python side), total (wall, this process). */
  readonly timings: Record<string, number>;
}

interface BridgeExportResult {
  output_path: string;
  format: ExportFormat;
  method: 'trace' | 'script';
  method_requested: ExportMethod;
  fallback: string | null;
  trace_check: TraceCheck | null;
  inputs: { name: string; shape: number[]; dtype: string }[];
  outputs: { name: string; shape: number[]; dtype: string }[];
  opset?: number;
  dynamic_batch?: boolean;
  parity: { engine: string; case: string; inputs?: { name: string; shape: number[] }[]; output: string; max_abs: number | null; max_rel: number | null; pass: boolean; note?: string }[];
  parity_files: { label: string; inputs: string; expected: string }[];
  parity_atol: number;
  parity_rtol: number;
  timings: Record<string, number>;
  bytes: number;
  torch_version: string;
  python: string;
}

export async function exportModel(options: ExportOptions): Promise<ExportReport> {
  const t0 = performance.now();
  const python = await findPython(options.python);
  // The libtorch engine checks TorchScript in process when it is built; ONNX Runtime always can. A
  // lite-interpreter file (.ptl) runs on neither: the bridge checks it with torch.jit.mobile.
  const nodeEngine = options.to === 'onnx' || (options.to === 'torchscript' && engineDescriptor('pytorch').unavailable() === undefined);
  const dir = nodeEngine ? await mkdtemp(join(tmpdir(), 'ferry-export-')) : undefined;
  try {
    const args = [options.factory];
    for (const s of options.inputShapes) args.push('--input-shape', s);
    args.push('--to', options.to, '--method', options.method ?? 'auto', '-o', options.output);
    if (options.dynamicBatch) args.push('--dynamic-batch');
    if (options.to === 'onnx') args.push('--opset', String(options.opset ?? 13));
    if (dir) args.push('--parity-dir', dir);
    const r = await runBridge<BridgeExportResult>('export', args, { python, ...(options.onProgress && { onProgress: options.onProgress }) });
    const tol = { atol: r.parity_atol, rtol: r.parity_rtol };
    const parity: ParityRow[] = r.parity.map((p) => ({
      engine: p.engine, case: p.case, inputs: p.inputs ?? [], output: p.output, maxAbs: p.max_abs, maxRel: p.max_rel, pass: p.pass,
      ...(p.note && { note: p.note }),
    }));
    if (options.to === 'onnx') parity.push(...(await onnxParity(r, tol)));
    else if (dir) parity.push(...(await torchscriptParity(r, tol)));
    return {
      factory: options.factory, output: r.output_path, format: r.format, method: r.method, methodRequested: r.method_requested,
      fallback: r.fallback, traceCheck: r.trace_check, inputs: r.inputs, outputs: r.outputs,
      ...(r.opset !== undefined && { opset: r.opset }), ...(r.dynamic_batch !== undefined && { dynamicBatch: r.dynamic_batch }),
      bytes: r.bytes, parity, atol: tol.atol, rtol: tol.rtol, pass: parity.length > 0 && parity.every((p) => p.pass),
      torchVersion: r.torch_version, python: r.python,
      timings: { ...r.timings, total_s: (performance.now() - t0) / 1000 },
    };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the exported TorchScript on ferry's libtorch engine with the bridge's parity inputs; compares to eager's outputs. */
async function torchscriptParity(r: BridgeExportResult, tol: { atol: number; rtol: number }): Promise<ParityRow[]> {
  const engine = await createEngine('pytorch', { modelPath: r.output_path, warmup: false });
  const label = `ferry ${(engine as { runtime?: string }).runtime ?? 'libtorch'}`;
  const rows: ParityRow[] = [];
  try {
    for (const file of r.parity_files) {
      const inputs = await readNpz(file.inputs);
      const expected = await readNpz(file.expected);
      const shapes = [...inputs].map(([name, t]) => ({ name, shape: [...t.shape] }));
      let result;
      try {
        result = await engine.run(Object.fromEntries(inputs));
      } catch (err) {
        rows.push({ engine: label, case: file.label, inputs: shapes, output: '*', maxAbs: null, maxRel: null, pass: false,
          note: `the libtorch engine failed: ${(err as Error).message}` });
        continue;
      }
      for (const [name, want] of expected) {
        const got = result.outputs[name];
        if (!got) {
          rows.push({ engine: label, case: file.label, inputs: shapes, output: name, maxAbs: null, maxRel: null, pass: false, note: 'the engine has no such output' });
          continue;
        }
        const s = compareTensors(got, want, tol);
        rows.push({ engine: label, case: file.label, inputs: shapes, output: name, maxAbs: Number.isNaN(s.maxAbs) ? null : s.maxAbs,
          maxRel: Number.isNaN(s.maxRel) ? null : s.maxRel, pass: s.pass, ...(s.note && { note: s.note }) });
      }
    }
  } finally {
    await engine.dispose();
  }
  return rows;
}

/** Runs the exported ONNX on onnxruntime-node with the bridge's parity inputs; compares to eager's outputs. */
async function onnxParity(r: BridgeExportResult, tol: { atol: number; rtol: number }): Promise<ParityRow[]> {
  const engine = `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(r.output_path);
  } catch (err) {
    throw new FerryError('MODEL_LOAD_FAILED', `the exported ${r.output_path} does not load in onnxruntime-node: ${(err as Error).message}`, { cause: err });
  }
  const rows: ParityRow[] = [];
  try {
    for (const file of r.parity_files) {
      const inputs = await readNpz(file.inputs);
      const expected = await readNpz(file.expected);
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of session.inputNames) {
        const t = inputs.get(name);
        if (!t) throw new FerryError('MISSING_INPUT', `the exported model takes input "${name}", which forward() does not name`);
        feeds[name] = toOrtTensor(t);
      }
      const shapes = [...inputs].map(([name, t]) => ({ name, shape: [...t.shape] }));
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await session.run(feeds);
      } catch (err) {
        rows.push({ engine, case: file.label, inputs: shapes, output: '*', maxAbs: null, maxRel: null, pass: false,
          note: `onnxruntime-node failed: ${(err as Error).message.split('\n')[0]}` });
        continue;
      }
      const names = [...expected.keys()];
      session.outputNames.forEach((name, i) => {
        const want = expected.get(name) ?? expected.get(names[i]!);
        if (!want) return;
        const s = compareTensors(fromOrtTensor(name, result[name]!), want, tol);
        rows.push({ engine, case: file.label, inputs: shapes, output: name, maxAbs: Number.isNaN(s.maxAbs) ? null : s.maxAbs,
          maxRel: Number.isNaN(s.maxRel) ? null : s.maxRel, pass: s.pass, ...(s.note && { note: s.note }) });
      });
      if (session.outputNames.length !== expected.size) {
        rows.push({ engine, case: file.label, inputs: shapes, output: '*', maxAbs: null, maxRel: null, pass: false,
          note: `${session.outputNames.length} ONNX outputs vs ${expected.size} eager outputs` });
      }
    }
  } finally {
    await session.release();
  }
  return rows;
}
