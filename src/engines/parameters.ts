/**
 * Engine parameters (a model config's `parameters:`), read by each engine against its own table:
 * plain YAML values, or Triton's `{ string_value: "..." }` (what `GET .../config` answers).
 */
import { FerryError } from '../errors.js';

export type ParameterKind = 'int' | 'bool' | 'list' | 'string';

export interface ParameterSpec {
  readonly kind: ParameterKind;
  /** Least value of an int. @defaultValue 0 */
  readonly min?: number;
  /** Allowed values of a string or list item. */
  readonly oneOf?: readonly string[];
  /** One line for `--help` and messages. */
  readonly doc: string;
}

export type ParameterTable = Readonly<Record<string, ParameterSpec>>;
export type ParameterValue = number | boolean | string | readonly string[];

function unwrap(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'string_value' in v && Object.keys(v).length === 1) {
    return (v as { string_value: unknown }).string_value;
  }
  return v;
}

/**
 * Checks `raw` against `table`; returns the values by key. `backend` and `source` name the engine
 * and the config file in messages: `models/m/config.yaml: parameters.intra_op_thread is not a
 * known parameter of backend onnxruntime (known: ...)`.
 */
export function readParameters(table: ParameterTable, raw: Readonly<Record<string, unknown>> | undefined, backend: string, source = 'the model config'): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const [key, given] of Object.entries(raw ?? {})) {
    const spec = table[key];
    const fail = (problem: string): never => { throw new FerryError('CONFIG_INVALID', `${source}: parameters.${key} ${problem}`); };
    if (!spec) {
      const known = Object.keys(table);
      fail(`is not a known parameter of backend ${backend} (known: ${known.length ? known.join(', ') : 'none'})`);
      continue;
    }
    const v = unwrap(given);
    switch (spec.kind) {
      case 'int': {
        const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
        const min = spec.min ?? 0;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < min) fail(`must be an integer >= ${min} (got ${JSON.stringify(given)})`);
        out[key] = n as number;
        break;
      }
      case 'bool': {
        const b = v === 'true' ? true : v === 'false' ? false : v;
        if (typeof b !== 'boolean') fail(`must be true or false (got ${JSON.stringify(given)})`);
        out[key] = b as boolean;
        break;
      }
      case 'string': {
        if (typeof v === 'boolean' && spec.oneOf?.includes(String(v))) { out[key] = String(v); break; } // inline: true in YAML
        if (typeof v !== 'string' || v === '') fail(`must be a non-empty string (got ${JSON.stringify(given)})`);
        if (spec.oneOf && !spec.oneOf.includes(v as string)) fail(`must be one of ${spec.oneOf.join(', ')} (got ${JSON.stringify(given)})`);
        out[key] = v as string;
        break;
      }
      case 'list': {
        const items = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
        if (!Array.isArray(items) || items.some((s) => typeof s !== 'string' || s === '')) fail(`must be a list of names (got ${JSON.stringify(given)})`);
        for (const s of items as string[]) {
          if (spec.oneOf && !spec.oneOf.includes(s)) fail(`has "${s}", which is not one of ${spec.oneOf.join(', ')}`);
        }
        out[key] = items as string[];
        break;
      }
    }
  }
  return out;
}

/** Triton's form of parameters for `GET .../config`: every value as `{ string_value }`. */
export function parametersJson(raw: Readonly<Record<string, unknown>>): Record<string, { string_value: string }> {
  const out: Record<string, { string_value: string }> = {};
  for (const [k, given] of Object.entries(raw)) {
    const v = unwrap(given);
    out[k] = { string_value: Array.isArray(v) ? v.join(',') : String(v) };
  }
  return out;
}
