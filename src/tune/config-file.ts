/**
 * The config `ferry tune` writes: the model's own config file with four knobs set (instance_group
 * count, parameters.intra_op_threads, max_batch_size, dynamic_batching.max_queue_delay_ms) and
 * everything else kept as it was. A YAML file whose knobs all exist is edited in place, value by
 * value, so its comments and layout stay byte for byte; one that lacks a key is rewritten by the
 * yaml library (comments kept, some spacing not). JSON is rewritten with 2-space indents.
 */
import { isScalar, isSeq, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { parseModelConfig } from '../repository/config.js';

/** The values to set; `threads` undefined leaves parameters as they are. */
export interface TunedValues {
  readonly instances: number;
  readonly threads?: number;
  /** 0 = the model takes no batch axis: max_batch_size and dynamic_batching are left alone. */
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
}

export interface ExistingConfig {
  readonly file: string;
  readonly text: string;
}

type Path = Array<string | number>;
interface Edit { readonly path: Path; readonly value: unknown }

/** Lines of the `# ferry tune ...` header; older ones are replaced. */
const HEADER = /^# ferry tune\b.*\n(#  .*\n)*/;

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The edits that set `values` in a config whose parsed form is `raw`. */
function editsFor(raw: Raw, values: TunedValues): Edit[] {
  const edits: Edit[] = [];
  if (values.maxBatchSize > 0) {
    edits.push({ path: ['max_batch_size'], value: values.maxBatchSize });
    const db = raw.dynamic_batching;
    edits.push(isObject(db) && db.max_queue_delay_microseconds !== undefined
      ? { path: ['dynamic_batching', 'max_queue_delay_microseconds'], value: Math.round(values.maxQueueDelayMs * 1000) }
      : { path: ['dynamic_batching', 'max_queue_delay_ms'], value: values.maxQueueDelayMs });
  }
  const ig = raw.instance_group;
  if (isObject(ig)) edits.push({ path: ['instance_group', 'count'], value: values.instances });
  else if (Array.isArray(ig) && ig.length === 1 && isObject(ig[0])) edits.push({ path: ['instance_group', 0, 'count'], value: values.instances });
  else {
    // absent, or several groups (their counts add up): one group of the tuned count
    const first = Array.isArray(ig) && isObject(ig[0]) ? ig[0] : { kind: 'KIND_CPU' };
    edits.push({ path: ['instance_group'], value: [{ ...first, count: values.instances }] });
  }
  if (values.threads !== undefined) {
    const p = raw.parameters;
    const given = isObject(p) ? p.intra_op_threads : undefined;
    // Triton's form, { string_value: "2" }, stays in that form
    edits.push(isObject(given) && 'string_value' in given
      ? { path: ['parameters', 'intra_op_threads', 'string_value'], value: String(values.threads) }
      : { path: ['parameters', 'intra_op_threads'], value: values.threads });
  }
  return edits;
}

/** Sets `edits` in YAML `text`: value by value when each is an existing scalar, else through the yaml library. */
function editYaml(text: string, edits: readonly Edit[]): string {
  const doc: Document = parseDocument(text);
  const spans: Array<[number, number, string]> = [];
  for (const e of edits) {
    const node = doc.getIn(e.path, true);
    const isPlain = (typeof e.value === 'number' || typeof e.value === 'string');
    if (!isPlain || !isScalar(node) || !node.range) {
      spans.length = 0;
      break;
    }
    spans.push([node.range[0], node.range[1], typeof e.value === 'string' ? JSON.stringify(e.value) : String(e.value)]);
  }
  if (spans.length === edits.length) {
    let out = text;
    for (const [from, to, value] of spans.sort((a, b) => b[0] - a[0])) out = out.slice(0, from) + value + out.slice(to);
    return out;
  }
  for (const e of edits) doc.setIn(e.path, doc.createNode(e.value));
  return doc.toString({ flowCollectionPadding: false });
}

function setIn(obj: Raw, path: Path, value: unknown): void {
  let at: Record<string | number, unknown> = obj;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== 'object' || next === null) at[key] = {};
    at = at[key] as Record<string | number, unknown>;
  }
  at[path[path.length - 1]!] = value;
}

/**
 * The config text with `values` set: `existing` edited, or a new config.yaml for model `name`.
 * `header` lines become a `# ferry tune ...` comment at the top of a YAML file (replacing an older
 * one). The result is checked the way the server reads it.
 */
export function tunedConfigText(existing: ExistingConfig | undefined, name: string, values: TunedValues, header: readonly string[] = []): string {
  const file = existing?.file ?? 'config.yaml';
  let text: string;
  if (existing && existing.file.endsWith('.json')) {
    const raw = JSON.parse(existing.text) as Raw;
    for (const e of editsFor(raw, values)) setIn(raw, e.path, e.value);
    text = `${JSON.stringify(raw, null, 2)}\n`;
  } else {
    const base = existing?.text ?? `name: ${name}\n`;
    const raw = (parseDocument(base).toJS() ?? {}) as Raw;
    text = editYaml(base, editsFor(raw, values));
    if (header.length) {
      const comment = header.map((line, i) => `#${i === 0 ? ' ' : '  '}${line}`.trimEnd()).join('\n');
      text = `${comment}\n${text.replace(HEADER, '')}`;
    }
  }
  const raw: unknown = file.endsWith('.json') ? JSON.parse(text) : parseDocument(text).toJS();
  parseModelConfig(raw, file, name);
  return text;
}
