/**
 * A TorchScript file's signature. The file knows forward()'s argument names and return type, but
 * no datatypes or shapes: those come from the model config (Triton's pytorch_libtorch way, with
 * its INPUT__0 / OUTPUT__0 naming) or from the `ferry.json` that `ferry export --to torchscript`
 * records in the archive. Output names are settled against the paths of forward()'s result.
 */
import { basename, extname } from 'node:path';
import type { DeclaredIo, DeclaredTensor } from '../engine.js';
import type { Datatype } from '../../tensors/dtype.js';
import { isDatatype } from '../../tensors/dtype.js';
import type { TensorSpec } from '../../tensors/tensor.js';
import { FerryError } from '../../errors.js';
import type { ModuleInfo } from './binding.js';

/** The extra file in the archive that records the signature. */
export const SIGNATURE_FILE = 'ferry.json';
export const SIGNATURE_FORMAT = 'ferry-torchscript/1';

/** Datatypes a libtorch tensor holds (no unsigned types past uint8 in torch 1.13). */
export const TORCH_DATATYPES: readonly Datatype[] = ['BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64'];

/** How outputs get their names, and what is known of them before a run. */
export interface OutputPlan {
  /** Names in result order (ferry.json, or the config's output order). */
  readonly names?: readonly string[];
  /** Triton's `<name>__<i>` naming: result position -> name. */
  readonly byIndex?: ReadonlyMap<number, string>;
  /** Datatype and full dims where known, by name. */
  readonly known: ReadonlyMap<string, { datatype?: Datatype; dims?: readonly number[] }>;
  /** Where the names came from, for messages. */
  readonly from: string;
}

export interface Signature {
  /** forward()'s inputs in argument order; full dims, -1 = any size (the batch axis included). */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: OutputPlan;
  /** The first axis of every input is the batch axis. */
  readonly batched: boolean;
  /** 'ferry.json' or the config file: where the datatypes and dims came from. */
  readonly from: string;
}

const TRITON_INDEX = /^(.+)__(\d+)$/;

/** A TorchScript file with no recorded signature and none declared: the caller may declare one and retry. */
export class NoSignatureError extends FerryError {}

export interface SignatureContext {
  readonly modelPath: string;
  /** The config file, or the model file itself when there is no config. */
  readonly source: string;
  readonly declared: DeclaredIo | undefined;
}

function forwardText(info: ModuleInfo): string {
  return `forward(${info.arguments.map((a) => `${a.name}: ${a.type}`).join(', ')}) -> ${info.returns || 'None'}`;
}

/** What to write in a config for this module, e.g. `input: [{name: x, data_type: TYPE_FP32, dims: [...]}]`. */
function declareHint(info: ModuleInfo): string {
  const items = info.arguments.filter((a) => !a.hasDefault).map((a) => `{name: ${a.name}, data_type: TYPE_FP32, dims: [...]}`);
  return `input: [${items.join(', ')}] with max_batch_size (0: dims are the whole tensor; N: dims are one sample's)`;
}

export function resolveSignature(info: ModuleInfo, ctx: SignatureContext): Signature {
  const recorded = info.extraFiles[SIGNATURE_FILE];
  if (recorded !== undefined) return fromRecorded(info, recorded, ctx);
  if (ctx.declared?.inputs?.length) return fromDeclared(info, ctx);
  const hasConfig = ctx.source !== ctx.modelPath;
  const records = `a TorchScript file records no input datatypes or shapes (${forwardText(info)})`;
  const orExport = 'or make the file with ferry export --to torchscript, which records them';
  if (hasConfig) {
    throw new NoSignatureError('CONFIG_INVALID', `${ctx.source}: ${ctx.modelPath} is TorchScript, and ${records}: declare ${declareHint(info)}, ${orExport}`);
  }
  const name = basename(ctx.modelPath, extname(ctx.modelPath));
  throw new NoSignatureError('MODEL_LOAD_FAILED',
    `${ctx.modelPath}: ${records}: serve it from a model folder (${name}/config.yaml, ${name}/1/model.pt) whose config declares ${declareHint(info)}, ${orExport}`);
}

function checkArguments(info: ModuleInfo, fed: number, ctx: SignatureContext, from: string): void {
  const fail = (msg: string): never => { throw new FerryError('MODEL_LOAD_FAILED', `${ctx.modelPath}: ${msg}`); };
  for (const a of info.arguments.slice(0, fed)) {
    if (a.type !== 'Tensor') fail(`forward() argument "${a.name}" is ${a.type}; ferry feeds Tensor arguments only (${forwardText(info)})`);
  }
  const missing = info.arguments.slice(fed).filter((a) => !a.hasDefault);
  if (missing.length) fail(`${from} gives ${fed} input${fed === 1 ? '' : 's'} but ${forwardText(info)} also needs ${missing.map((a) => `"${a.name}"`).join(', ')}`);
}

function fromRecorded(info: ModuleInfo, text: string, ctx: SignatureContext): Signature {
  const fail = (msg: string): never => { throw new FerryError('MODEL_LOAD_FAILED', `${ctx.modelPath}: its ${SIGNATURE_FILE} ${msg}`); };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`is not JSON (${(err as Error).message})`);
  }
  const o = raw as { format?: unknown; inputs?: unknown; outputs?: unknown };
  if (typeof o !== 'object' || o === null || o.format !== SIGNATURE_FORMAT) fail(`is not format ${SIGNATURE_FORMAT}`);
  const list = (v: unknown, key: string): TensorSpec[] => {
    if (!Array.isArray(v)) return fail(`has no ${key} list`);
    return v.map((t: { name?: unknown; datatype?: unknown; dims?: unknown }, i) => {
      if (typeof t?.name !== 'string' || !isDatatype(t.datatype) || !Array.isArray(t.dims) || !t.dims.every((d) => Number.isInteger(d) && d >= -1)) {
        return fail(`${key}[${i}] is not {name, datatype, dims}`);
      }
      return { name: t.name, datatype: t.datatype, dims: t.dims as number[] };
    });
  };
  const inputs = list(o.inputs, 'inputs');
  const outputs = list(o.outputs, 'outputs');
  checkArguments(info, inputs.length, ctx, SIGNATURE_FILE);
  for (const i of inputs) {
    if (!TORCH_DATATYPES.includes(i.datatype)) fail(`gives input "${i.name}" datatype ${i.datatype}, which libtorch tensors do not hold`);
  }
  const batched = inputs.length > 0 && inputs.every((i) => i.dims[0] === -1);
  return {
    inputs,
    batched,
    from: SIGNATURE_FILE,
    outputs: { names: outputs.map((t) => t.name), known: new Map(outputs.map((t) => [t.name, { datatype: t.datatype, dims: t.dims }])), from: SIGNATURE_FILE },
  };
}

function fromDeclared(info: ModuleInfo, ctx: SignatureContext): Signature {
  const declared = ctx.declared!;
  const file = ctx.source;
  const fail = (msg: string): never => { throw new FerryError('CONFIG_INVALID', `${file}: ${msg}`); };
  const argNames = info.arguments.map((a) => a.name);
  // Each declared input to a forward() argument: by name, else by Triton's INPUT__<i> index.
  const placed = new Map<number, DeclaredTensor>();
  for (const d of declared.inputs!) {
    let at = argNames.indexOf(d.name);
    if (at < 0) {
      const m = TRITON_INDEX.exec(d.name);
      at = m ? Number(m[2]) : -1;
      if (at < 0 || at >= argNames.length) {
        fail(`input "${d.name}" is not an argument of the TorchScript module's ${forwardText(info)}: name inputs after forward()'s arguments, or INPUT__0, INPUT__1... by position`);
      }
    }
    if (placed.has(at)) fail(`inputs "${placed.get(at)!.name}" and "${d.name}" both name forward() argument ${at} ("${argNames[at]}")`);
    if (!d.datatype || !d.dims) fail(`input "${d.name}" needs data_type and dims: a TorchScript file does not record them`);
    if (!TORCH_DATATYPES.includes(d.datatype!)) fail(`input "${d.name}" is TYPE_${d.datatype}, which libtorch tensors do not hold (${TORCH_DATATYPES.map((t) => `TYPE_${t}`).join(', ')})`);
    placed.set(at, d);
  }
  const fed = placed.size;
  for (let i = 0; i < fed; i++) {
    if (!placed.has(i)) fail(`inputs must be forward()'s first ${fed} arguments, but "${argNames[i]}" (argument ${i}) is not declared`);
  }
  checkArguments(info, fed, ctx, file);
  const ordered = [...placed.entries()].sort((a, b) => a[0] - b[0]).map(([, d]) => d);
  let maxBatchSize = declared.maxBatchSize;
  if (maxBatchSize === undefined) {
    // Triton's default is 0; but dims that all start at -1 read as a batch axis too. Ask.
    if (ordered.every((d) => d.dims![0] === -1)) {
      const d = ordered[0]!;
      fail(`input "${d.name}" has dims [${d.dims!.join(',')}] but max_batch_size is not set: set max_batch_size: 0 to take dims as the whole tensor, or max_batch_size: N with dims of one sample ([${d.dims!.slice(1).join(',')}])`);
    }
    maxBatchSize = 0;
  }
  const batched = maxBatchSize > 0;
  const full = (dims: readonly number[]): number[] => (batched ? [-1, ...dims] : [...dims]);
  const inputs = ordered.map((d) => ({ name: d.name, datatype: d.datatype!, dims: full(d.dims!) }));
  const outs = declared.outputs ?? [];
  const known = new Map(outs.map((o) => [o.name, { ...(o.datatype && { datatype: o.datatype }), ...(o.dims && { dims: full(o.dims) }) }]));
  let outputs: OutputPlan;
  if (outs.length > 0 && outs.every((o) => TRITON_INDEX.test(o.name))) {
    const byIndex = new Map<number, string>();
    for (const o of outs) {
      const i = Number(TRITON_INDEX.exec(o.name)![2]);
      if (byIndex.has(i)) fail(`outputs "${byIndex.get(i)}" and "${o.name}" both name result ${i}`);
      byIndex.set(i, o.name);
    }
    outputs = { byIndex, known, from: file };
  } else {
    outputs = { ...(outs.length > 0 && { names: outs.map((o) => o.name) }), known, from: file };
  }
  return { inputs, batched, from: file, outputs };
}

/** A path of forward()'s result that is a dict key (not a tuple/list position). */
const isKeyPath = (p: string): boolean => p !== '' && !/^\d/.test(p);

/**
 * Names for the tensors of one result, by their paths ('' alone, '0', '1.2', or dict keys):
 * dict keys are names; otherwise the recorded or declared names by position (Triton's
 * `__<i>` suffix by index); otherwise OUTPUT__0, OUTPUT__1... (Triton's names).
 */
export function nameOutputs(paths: readonly string[], plan: OutputPlan, modelPath: string): string[] {
  const fail = (msg: string): never => { throw new FerryError('INFERENCE_FAILED', `${modelPath}: ${msg}`); };
  if (paths.length > 0 && paths.every(isKeyPath)) {
    const named = plan.names ?? [...(plan.byIndex?.values() ?? [])];
    const unknown = named.filter((n) => !paths.includes(n));
    if (named.length && unknown.length) fail(`forward() returned a dict with keys ${paths.map((p) => `"${p}"`).join(', ')}, but ${plan.from} names outputs ${unknown.map((n) => `"${n}"`).join(', ')}`);
    return [...paths];
  }
  if (plan.byIndex) return paths.map((_, i) => plan.byIndex!.get(i) ?? `OUTPUT__${i}`);
  if (plan.names) {
    if (plan.names.length !== paths.length) fail(`forward() returned ${paths.length} tensor${paths.length === 1 ? '' : 's'}, but ${plan.from} names ${plan.names.length} output${plan.names.length === 1 ? '' : 's'} (${plan.names.join(', ')})`);
    return [...plan.names];
  }
  return paths.map((_, i) => `OUTPUT__${i}`);
}
