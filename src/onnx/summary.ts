/**
 * What `ferry inspect` reports about a model, as plain data (its --json output): versions,
 * inputs and outputs, an operator histogram, parameter counts, the largest initializers and the
 * external data files. Reads no tensor data.
 */
import { statSync } from 'node:fs';
import { dataTypeName } from './ir/data-type.js';
import type { Graph } from './ir/graph.js';
import type { Model } from './ir/model.js';
import type { Tensor } from './ir/tensor.js';
import type { Dim, ValueInfo } from './ir/value-info.js';
import { typeToString } from './ir/value-info.js';

export interface SummaryOptions {
  /** How many of the largest initializers to list. @defaultValue 10 */
  top?: number;
}

export interface ValueSummary {
  name: string;
  /** 'FLOAT', 'INT64', ...; for non-tensors the whole type, e.g. 'seq(FLOAT[?])'. */
  dtype: string;
  /** Dims: numbers, symbolic names ("batch"), null for unknown; null when even the rank is unknown. */
  shape: Dim[] | null;
}

export interface ModelSummary {
  irVersion: number;
  /** Imported opsets; the default domain is written 'ai.onnx'. */
  opsets: { domain: string; version: number }[];
  producer: { name: string; version: string };
  graphName: string;
  /** Graph inputs that are not initializers: what a caller feeds. */
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  /** Nodes in the main graph and its subgraphs. */
  nodeCount: number;
  /** Node count per operator (domain-qualified outside ai.onnx), most frequent first; subgraphs included. */
  operators: { op: string; count: number }[];
  functions: { name: string; domain: string; nodes: number }[];
  /** Elements and bytes of all initializers (subgraphs and sparse initializers included). */
  parameters: { count: number; bytes: number; initializers: number };
  /** The largest initializers by bytes. */
  largestInitializers: { name: string; dtype: string; shape: number[]; bytes: number; external: boolean }[];
  /** External data files, with the tensors and bytes the model keeps in each and whether the file is there. */
  externalData: { location: string; tensors: number; bytes: number; exists: boolean; fileBytes: number | null }[];
  metadata: Record<string, string>;
}

export function summarizeModel(model: Model, options: SummaryOptions = {}): ModelSummary {
  const g = model.graph;
  const initializers: Tensor[] = [];
  let sparseCount = 0;
  let sparseBytes = 0;
  const graphs = allGraphs(g);
  for (const sub of graphs) {
    initializers.push(...sub.initializers.values());
    for (const s of sub.sparseInitializers) {
      sparseCount += s.values.elementCount;
      sparseBytes += s.values.byteLength + s.indices.byteLength;
    }
  }

  const ops = new Map<string, number>();
  let nodeCount = 0;
  for (const n of g.walk()) {
    nodeCount++;
    const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
    ops.set(op, (ops.get(op) ?? 0) + 1);
  }

  const external = new Map<string, { location: string; path: string; tensors: number; bytes: number }>();
  for (const { tensor } of model.tensors()) {
    const loc = tensor.external;
    if (!loc) continue;
    const e = external.get(loc.path) ?? { location: loc.location, path: loc.path, tensors: 0, bytes: 0 };
    e.tensors++;
    e.bytes += loc.length;
    external.set(loc.path, e);
  }

  const top = options.top ?? 10;
  return {
    irVersion: model.irVersion,
    opsets: [...model.opsetImports].map(([domain, version]) => ({ domain: domain || 'ai.onnx', version })),
    producer: { name: model.producerName, version: model.producerVersion },
    graphName: g.name,
    inputs: g.inputs.filter((v) => !g.initializers.has(v.name)).map(valueSummary),
    outputs: g.outputs.map(valueSummary),
    nodeCount,
    operators: [...ops].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op)),
    functions: model.functions.map((f) => ({ name: f.name, domain: f.domain, nodes: f.body.nodes.length })),
    parameters: {
      count: initializers.reduce((n, t) => n + t.elementCount, 0) + sparseCount,
      bytes: initializers.reduce((n, t) => n + t.byteLength, 0) + sparseBytes,
      initializers: initializers.length,
    },
    largestInitializers: [...initializers]
      .sort((a, b) => b.byteLength - a.byteLength || a.name.localeCompare(b.name))
      .slice(0, top)
      .map((t) => ({ name: t.name, dtype: dataTypeName(t.dataType), shape: [...t.dims], bytes: t.byteLength, external: t.isExternal })),
    externalData: [...external.values()].map(({ location, path, tensors, bytes }) => {
      const size = fileSize(path);
      return { location, tensors, bytes, exists: size !== null, fileBytes: size };
    }),
    metadata: Object.fromEntries(model.metadata),
  };
}

function valueSummary(v: ValueInfo): ValueSummary {
  const t = v.type;
  if (t && (t.kind === 'tensor' || t.kind === 'sparse_tensor')) {
    return { name: v.name, dtype: dataTypeName(t.elemType), shape: t.shape ? [...t.shape] : null };
  }
  return { name: v.name, dtype: typeToString(t), shape: null };
}

function allGraphs(g: Graph): Graph[] {
  const out = [g];
  for (const n of g.walk()) out.push(...n.subgraphs());
  return out;
}

function fileSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}
