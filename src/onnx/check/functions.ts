/**
 * Model-local functions (FunctionProto), as onnx.checker's check_function and
 * check_model_local_functions: a name, a domain field (IR version 8 on), unique (domain, name,
 * overload), unique inputs, outputs and attribute names, no function calling itself (directly,
 * through others or from a subgraph) and call chains at most 100 deep, and a body checked as a
 * graph of its own — it sees only the function's inputs, under the function's opset imports.
 */
import type { FunctionDef } from '../ir/function.js';
import type { Graph } from '../ir/graph.js';
import type { CheckContext } from './context.js';
import { canonicalImports, functionName } from './context.js';
import { checkGraph } from './graph.js';

/** onnx.checker's limits against malicious models: functions per model, and call-chain depth. */
const MAX_FUNCTIONS = 10_000;
const MAX_CALL_DEPTH = 100;

export function checkFunctions(cx: CheckContext): void {
  const r = cx.report;
  const functions = cx.model.functions;
  if (!functions.length) return;
  // the model's imports, plus each function's for domains the model does not import (onnx.checker's merge)
  const merged = canonicalImports(cx.model.opsetImports);
  for (const fn of functions) for (const [d, v] of canonicalImports(fn.opsetImports)) if (!merged.has(d)) merged.set(d, v);
  cx.functionModelImports = merged;
  if (functions.length > MAX_FUNCTIONS) r.error('function', 'model', `${functions.length} model-local functions, over onnx.checker's limit of ${MAX_FUNCTIONS}`);

  const seen = new Set<string>();
  functions.forEach((fn, i) => {
    const name = functionName(fn);
    const where = `function ${name}`;
    const proto = cx.proto?.functions?.[i];
    if (!fn.name) r.error('function', where, 'a function has no name');
    if (proto && !Object.hasOwn(proto, 'domain') && cx.model.irVersion >= 8) {
      r.error('function', where, `the function has no domain field: FunctionProto.domain is required from IR version 8 (set it, to "" for none)`);
    } else if (!fn.domain) r.warn('function', where, 'the function has no domain (it would shadow ai.onnx operators)');
    const key = `${fn.domain}\0${fn.name}\0${fn.overload}`;
    if (seen.has(key)) r.error('function', where, `function ${name} is defined twice`);
    seen.add(key);
    const dup = (list: readonly string[]) => list.filter((v, j) => list.indexOf(v) !== j);
    for (const v of new Set(dup(fn.outputs))) r.error('function', where, `output "${v}" is listed twice`);
    for (const v of new Set(dup([...fn.attributes, ...fn.attributeDefaults.keys()]))) r.error('function', where, `attribute "${v}" is declared twice`);
    checkGraph(cx, {
      graph: fn.body, prefix: `${where} > `, label: where, main: false, imports: canonicalImports(fn.opsetImports), fn, ...(proto ? { proto: { node: proto.node ?? [] } } : {}),
    }, undefined);
  });
  checkCallCycles(cx, functions);
}

/** The functions a graph calls, its subgraphs' calls included. */
function callees(g: Graph, byKey: ReadonlyMap<string, FunctionDef>, out: Set<FunctionDef>): Set<FunctionDef> {
  for (const n of g.nodes) {
    const f = byKey.get(`${n.domain}\0${n.opType}\0${n.overload}`);
    if (f) out.add(f);
    for (const sub of n.subgraphs()) callees(sub, byKey, out);
  }
  return out;
}

/** check_function_call_cycles: model-local functions must not be recursive. */
function checkCallCycles(cx: CheckContext, functions: readonly FunctionDef[]): void {
  const byKey = new Map<string, FunctionDef>();
  for (const f of functions) if (!byKey.has(`${f.domain}\0${f.name}\0${f.overload}`)) byKey.set(`${f.domain}\0${f.name}\0${f.overload}`, f);
  const calls = new Map<FunctionDef, Set<FunctionDef>>();
  for (const f of byKey.values()) calls.set(f, callees(f.body, byKey, new Set()));
  const state = new Map<FunctionDef, 'path' | 'done'>();
  const path: FunctionDef[] = [];
  const visit = (f: FunctionDef): boolean => {
    state.set(f, 'path');
    path.push(f);
    if (path.length > MAX_CALL_DEPTH) {
      cx.report.error('function', `function ${functionName(path[0]!)}`, `calls nest over ${MAX_CALL_DEPTH} deep (onnx.checker's limit)`);
      return false;
    }
    for (const g of calls.get(f) ?? []) {
      if (state.get(g) === 'path') {
        const cycle = [...path.slice(path.indexOf(g)), g].map(functionName).join(' -> ');
        cx.report.error('function', `function ${functionName(g)}`, `the function calls itself: ${cycle} (model-local functions must not be recursive)`);
        return false;
      }
      if (!state.has(g) && !visit(g)) return false;
    }
    path.pop();
    state.set(f, 'done');
    return true;
  };
  for (const f of byKey.values()) {
    if (state.has(f)) continue;
    if (!visit(f)) return; // one cycle is enough to say
  }
}
