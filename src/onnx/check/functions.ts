/**
 * Model-local functions (FunctionProto), as onnx.checker's check_function: a name, unique
 * (domain, name, overload), unique inputs, outputs and attribute names, and a body checked as a
 * graph of its own — it sees only the function's inputs, under the function's opset imports.
 */
import type { CheckContext } from './context.js';
import { canonicalImports, functionName } from './context.js';
import { checkGraph } from './graph.js';

export function checkFunctions(cx: CheckContext): void {
  const r = cx.report;
  const functions = cx.model.functions;
  if (!functions.length) return;
  // the model's imports, plus each function's for domains the model does not import (onnx.checker's merge)
  const merged = canonicalImports(cx.model.opsetImports);
  for (const fn of functions) for (const [d, v] of canonicalImports(fn.opsetImports)) if (!merged.has(d)) merged.set(d, v);
  cx.functionModelImports = merged;

  const seen = new Set<string>();
  for (const fn of functions) {
    const name = functionName(fn);
    const where = `function ${name}`;
    if (!fn.name) r.error('function', where, 'a function has no name');
    if (!fn.domain) r.warn('function', where, 'the function has no domain (it would shadow ai.onnx operators)');
    const key = `${fn.domain}\0${fn.name}\0${fn.overload}`;
    if (seen.has(key)) r.error('function', where, `function ${name} is defined twice`);
    seen.add(key);
    const dup = (list: readonly string[]) => list.filter((v, i) => list.indexOf(v) !== i);
    for (const v of new Set(dup(fn.outputs))) r.error('function', where, `output "${v}" is listed twice`);
    for (const v of new Set(dup([...fn.attributes, ...fn.attributeDefaults.keys()]))) r.error('function', where, `attribute "${v}" is declared twice`);
    checkGraph(cx, { graph: fn.body, prefix: `${where} > `, label: where, main: false, imports: canonicalImports(fn.opsetImports), fn }, undefined);
  }
}
