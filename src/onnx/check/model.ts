/**
 * Model-level checks, as onnx.checker's check_model: an IR version this checker knows, metadata
 * keys given once, opset imports where the IR version needs them (versions that fit an int32),
 * and imported opsets the schema table covers.
 */
import type { CheckContext } from './context.js';
import { canonicalImports } from './context.js';

const INT32_MAX = 2 ** 31 - 1;

/** The newest IR version this checker knows: onnx 1.23 (the schema table's) writes 14; 1.16: 10; 1.14: 9; 1.10-1.13: 8. */
export const KNOWN_IR_VERSION = 14;

/** Checks the model header; returns the opsets in force in the main graph (canonical domains). */
export function checkModelHeader(cx: CheckContext): Map<string, number> {
  const r = cx.report;
  const { irVersion, opsetImports } = cx.model;
  if (!Number.isInteger(irVersion) || irVersion < 1) {
    r.error('ir-version', 'model', `ir_version is ${irVersion || 'missing'}: a model must say which ONNX IR version it follows`);
  } else if (irVersion > KNOWN_IR_VERSION) {
    r.error('ir-version', 'model', `ir_version ${irVersion} is newer than the IR this checker knows (${KNOWN_IR_VERSION}, onnx ${cx.schemas.onnxVersion}), as onnx.checker refuses it: save the model with ir_version ${KNOWN_IR_VERSION} or lower if it uses nothing newer`);
  }
  const keys = (cx.proto?.metadata_props ?? []).map((e) => e.key ?? '');
  for (const key of new Set(keys.filter((k, i) => keys.indexOf(k) !== i))) {
    r.error('metadata', 'model', `metadata_props has the key "${key}" ${keys.filter((k) => k === key).length} times: each key once`);
  }
  const imports = canonicalImports(opsetImports);
  if (irVersion >= 3 && imports.size === 0) {
    r.error('opset-import', 'model', `opset_import is empty: a model of IR version ${irVersion} must import the opsets it uses (e.g. ai.onnx)`);
  } else if (irVersion < 3) {
    if (imports.size) r.error('opset-import', 'model', `a model of IR version ${irVersion} cannot have opset_import (IR 3 introduced it)`);
    else imports.set('ai.onnx', 1);
  }
  if (opsetImports.has('') && opsetImports.has('ai.onnx') && opsetImports.get('') !== opsetImports.get('ai.onnx')) {
    r.error('opset-import', 'model', `the default domain is imported twice, as "" (opset ${opsetImports.get('')}) and "ai.onnx" (opset ${opsetImports.get('ai.onnx')})`);
  }
  for (const [domain, version] of imports) {
    if (Number.isInteger(version) && version > INT32_MAX) {
      r.error('opset-import', 'model', `domain "${domain}" is imported at opset ${version}, past the int32 range opset versions have`);
      continue;
    }
    if (!Number.isInteger(version) || version < 1) {
      r.error('opset-import', 'model', `domain "${domain}" is imported at opset ${version}; opset versions start at 1`);
      continue;
    }
    const max = cx.schemas.maxOpset.get(domain);
    if (max !== undefined && version > max) {
      r.warn('opset-import', 'model', `${domain} opset ${version} is newer than the schema table (onnx ${cx.schemas.onnxVersion}: opset ${max}); its operators are checked against their opset-${max} schemas`);
    }
  }
  return imports;
}
