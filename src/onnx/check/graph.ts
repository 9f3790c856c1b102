/**
 * Graph checks, as onnx.checker's check_graph walks a graph: a name; inputs, initializers and node
 * outputs each define a name once (SSA); every node reads only names defined before it — in this
 * graph or an enclosing one (nodes stored in topological order); graph outputs are produced in the
 * graph itself; the main graph's inputs and outputs are fully typed (check_value_info);
 * initializers agree with graph inputs of the same name. Subgraphs are checked where their node
 * stands, seeing what is defined up to it.
 */
import { FerryError } from '../../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { topologicalOrder } from '../ir/topo-sort.js';
import type { ValueInfo } from '../ir/value-info.js';
import { dataTypeInfo, dataTypeName } from '../ir/data-type.js';
import type { GraphProto, NodeProto } from '../proto/types.js';
import { attributeProto } from './attributes.js';
import type { CheckContext, Frame } from './context.js';
import { Scope } from './context.js';
import { checkNode } from './nodes.js';
import { nodeLabel, plural, shortList } from './report.js';
import { checkSparseTensor, checkTensor } from './tensors.js';
import { tensorType, typeString } from './types.js';

/** Checks a graph and, recursively, the subgraphs of its nodes. `outer` is the enclosing scope (none for main graphs and function bodies). */
export function checkGraph(cx: CheckContext, frame: Frame, outer: Scope | undefined): void {
  const r = cx.report;
  const g = frame.graph;
  const scope = new Scope(outer);
  const where = frame.label;
  const fnBody = frame.fn !== undefined && outer === undefined;

  if (!g.name && !fnBody) r.error('graph', where, 'the graph has no name: GraphProto.name is required (a subgraph\'s too)');

  // graph inputs
  for (const v of g.inputs) {
    if (!v.name) {
      r.error('value-info', where, `${fnBody ? 'a function' : 'a graph'} input has no name`);
      continue;
    }
    if (frame.main) checkValueInfo(cx, where, v, 'graph input');
    if (scope.here(v.name)) r.error('ssa', where, `${fnBody ? 'function' : 'graph'} input "${v.name}" is listed twice`);
    scope.define(v.name, fnBody ? 'a function input' : 'a graph input', typeString(v.type));
  }
  if (frame.main) for (const v of g.outputs) if (v.name) checkValueInfo(cx, where, v, 'graph output');

  // initializers
  const prefix = frame.prefix;
  const irVersion = cx.model.irVersion;
  const inputsByName = new Map(g.inputs.map((v) => [v.name, v]));
  let k = 0;
  for (const t of g.initializers.values()) {
    const what = `initializer "${t.name}"`;
    checkTensor(cx, t, `${prefix}${what}`, '', frame.proto?.initializer?.[k++]);
    const input = inputsByName.get(t.name);
    if (input) checkInitializerMatchesInput(cx, `${prefix}${what}`, t.dataType, t.dims, input);
    else if (irVersion <= 3) r.error('initializer', `${prefix}${what}`, `IR version ${irVersion} needs every initializer to be a graph input too (IR version 4 lifted that)`);
    if (!input) scope.define(t.name, 'an initializer', tensorType(t.dataType));
    else if (!scope.here(t.name)?.type) scope.define(t.name, 'a graph input', tensorType(t.dataType));
  }
  g.sparseInitializers.forEach((s, i) => {
    const name = s.values.name;
    const what = `sparse initializer "${name}"`;
    if (!name) r.error('initializer', where, 'a sparse initializer has no name');
    else if (g.initializers.has(name)) r.error('initializer', `${prefix}${what}`, `"${name}" is both an initializer and a sparse initializer`);
    else if (g.sparseInitializers.findIndex((o) => o.values.name === name) < i) r.error('initializer', `${prefix}${what}`, `sparse initializer "${name}" is listed twice`);
    checkSparseTensor(cx, s, `${prefix}${what}`, '', frame.proto?.sparse_initializer?.[i]);
    if (name && !scope.here(name)) scope.define(name, 'a sparse initializer', undefined);
  });

  // types value_info and graph outputs record, for the type checks
  let declaredTypes: Map<string, string> | undefined;
  const declared = (name: string): string | undefined => {
    if (!declaredTypes) {
      declaredTypes = new Map();
      for (const v of [...g.valueInfo.values(), ...g.outputs]) {
        const t = typeString(v.type);
        if (t) declaredTypes.set(v.name, t);
      }
    }
    return declaredTypes.get(name);
  };

  // nodes, in stored order
  const nodes = g.nodes;
  const labels = nodes.map((n, i) => nodeLabel(prefix, n, i));
  let firstProducer: Map<string, number> | undefined; // built on the first unordered read
  let unordered = false;
  nodes.forEach((n, i) => {
    cx.nodes++;
    const label = labels[i]!;
    n.inputs.forEach((v, j) => {
      if (!v || scope.lookup(v)) return;
      firstProducer ??= producers(nodes);
      const p = firstProducer.get(v);
      if (p !== undefined && p >= i) {
        unordered = true;
        r.error('topological-order', label, p === i
          ? `input ${j} "${v}" is its own output`
          : `input ${j} "${v}" is used before it is produced (by ${labels[p]}, later in the graph): nodes must be stored in topological order`);
      } else {
        r.error('topological-order', label, `input ${j} "${v}" is not defined: no ${fnBody ? 'function input' : 'graph input, initializer'} or earlier node output${outer ? ', here or in an enclosing graph,' : ''} has that name`);
      }
    });
    const proto = frame.proto?.node?.[i];
    const types = checkNode(cx, frame, scope, n, label, declared, proto);
    checkSubgraphs(cx, frame, scope, n, label, proto);
    n.outputs.forEach((v, j) => {
      if (!v) return;
      const here = scope.here(v);
      const prior = here ?? scope.lookup(v);
      if (prior) {
        const by = /^an? /.test(prior.origin) ? `is already ${prior.origin}` : `is already produced by ${prior.origin}`;
        r.error('ssa', label, `output ${j} "${v}" ${by}${here ? '' : ' in an enclosing graph'}: each value must be produced once (SSA)`);
      }
      if (!here) scope.define(v, label, types?.[j]);
    });
  });
  if (unordered) {
    try {
      topologicalOrder(g);
    } catch (err) {
      if (!(err instanceof FerryError) || err.code !== 'ONNX_GRAPH_CYCLE') throw err;
      r.error('cycle', where, err.message);
    }
  }

  // graph outputs
  const seen = new Set<string>();
  for (const v of g.outputs) {
    if (!v.name) {
      r.error('graph-output', where, `${fnBody ? 'a function' : 'a graph'} output has no name`);
      continue;
    }
    if (seen.has(v.name)) r.warn('graph-output', where, `output "${v.name}" is listed twice`);
    seen.add(v.name);
    if (!scope.here(v.name)) {
      r.error('graph-output', where, scope.lookup(v.name)
        ? `${fnBody ? 'function' : 'graph'} output "${v.name}" is a value of an enclosing graph: a subgraph must produce its outputs itself (pass it through an Identity)`
        : `${fnBody ? 'function' : 'graph'} output "${v.name}" is not produced by any node${fnBody ? ' or function input' : ', graph input or initializer'}`);
    }
  }
  checkNodeNames(cx, where, nodes, labels);
}

/** Where each value is first produced, by node index. */
function producers(nodes: readonly Node[]): Map<string, number> {
  const out = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const v of n.outputs) if (v && !out.has(v)) out.set(v, i);
  });
  return out;
}

function checkSubgraphs(cx: CheckContext, frame: Frame, scope: Scope, n: Node, label: string, node: NodeProto | undefined): void {
  if (!n.hasSubgraphs) return;
  for (const [name, a] of n.attributes) {
    const graphs = a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : [];
    const p = attributeProto(node, name);
    if (a.type === 'graph' && p && !p.g) continue; // no graph in the file: the attribute checks say so
    graphs.forEach((g, i) => {
      const sub = `${label} > ${name}${a.type === 'graphs' ? `[${i}]` : ''}`;
      const proto: GraphProto | undefined = (a.type === 'graph' ? p?.g : p?.graphs?.[i]) ?? undefined;
      checkGraph(cx, { graph: g, prefix: `${sub} > `, label: sub, main: false, nested: true, imports: frame.imports, ...(frame.fn ? { fn: frame.fn } : {}), ...(proto ? { proto } : {}) }, scope);
    });
  }
}

/** The main graph's inputs and outputs must say what they are (onnx.checker's check_value_info). */
function checkValueInfo(cx: CheckContext, where: string, v: ValueInfo, what: string): void {
  const r = cx.report;
  const t = v.type;
  if (!t) {
    r.error('value-info', where, `${what} "${v.name}" has no type`);
    return;
  }
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor':
      if (t.elemType === 0) r.error('value-info', where, `${what} "${v.name}" has no element type`);
      else if (!dataTypeInfo(t.elemType)) r.error('value-info', where, `${what} "${v.name}" has element type ${t.elemType}, which ONNX does not define`);
      if (!t.shape) r.error('value-info', where, `${what} "${v.name}" has no shape: the main graph's inputs and outputs need one ([] for a scalar, names like "batch" for unknown dims)`);
      return;
    case 'sequence':
    case 'optional':
      if (!t.elem) r.error('value-info', where, `${what} "${v.name}" is a ${t.kind} without an element type`);
      return;
    case 'map':
      if (!t.keyType || !t.value) r.error('value-info', where, `${what} "${v.name}" is a map without a ${t.keyType ? 'value' : 'key'} type`);
      return;
    case 'opaque':
      if (!t.name) r.error('value-info', where, `${what} "${v.name}" is an opaque type without a name`);
  }
}

/** An initializer that is also a graph input (its default value) must fit the type the input declares. */
function checkInitializerMatchesInput(cx: CheckContext, where: string, dataType: number, dims: readonly number[], input: ValueInfo): void {
  const t = input.type;
  if (!t) return;
  if (t.kind !== 'tensor') {
    cx.report.error('initializer', where, `graph input "${input.name}" is declared ${t.kind}, but its initializer is a tensor`);
    return;
  }
  if (t.elemType !== 0 && t.elemType !== dataType) {
    cx.report.error('initializer', where, `the initializer is ${dataTypeName(dataType)}, but graph input "${input.name}" declares ${dataTypeName(t.elemType)}`);
  }
  const shape = t.shape;
  if (!shape) return;
  const clash = shape.length !== dims.length || shape.some((d, i) => typeof d === 'number' && d !== dims[i]);
  if (clash) {
    const fmt = `[${shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
    cx.report.error('initializer', where, `the initializer has dims ${JSON.stringify(dims)}, but graph input "${input.name}" declares shape ${fmt}`);
  }
}

/** onnx.checker does not require unique node names; ONNX Runtime and most tools expect them. */
function checkNodeNames(cx: CheckContext, where: string, nodes: readonly Node[], labels: readonly string[]): void {
  const byName = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    if (!n.name) return;
    const list = byName.get(n.name);
    if (list) list.push(i);
    else byName.set(n.name, [i]);
  });
  for (const [name, idx] of byName) {
    if (idx.length > 1) {
      cx.report.warn('node-name', labels[idx[0]!]!, `node name "${name}" is used by ${plural(idx.length, 'node')} (${shortList(idx.map((i) => `#${i} ${nodes[i]!.opType}`))})`);
    }
  }
}
