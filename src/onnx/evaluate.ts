/**
 * Running a piece of a graph on ONNX Runtime, in process: constant folding builds a small model
 * of the nodes to evaluate (their constant inputs as initializers, the values wanted as outputs)
 * and runs it once, so every op is computed by the runtime that will serve the model, with its
 * rounding, instead of by a re-implementation here.
 */
import ort from 'onnxruntime-node';
import { Graph } from './ir/graph.js';
import { Model } from './ir/model.js';
import type { Node } from './ir/node.js';
import { Tensor } from './ir/tensor.js';
import { DataType } from './ir/data-type.js';
import { ValueInfo } from './ir/value-info.js';
import { encodeModel } from './io/save.js';

const FROM_ORT: Readonly<Record<string, DataType>> = {
  float32: DataType.FLOAT, float64: DataType.DOUBLE, float16: DataType.FLOAT16, int8: DataType.INT8, uint8: DataType.UINT8,
  int16: DataType.INT16, uint16: DataType.UINT16, int32: DataType.INT32, uint32: DataType.UINT32, int64: DataType.INT64,
  uint64: DataType.UINT64, bool: DataType.BOOL, string: DataType.STRING,
};

const TO_ORT = new Map<DataType, string>(Object.entries(FROM_ORT).map(([k, v]) => [v, k]));

/** An onnxruntime tensor as an IR tensor named `name` (data copied); undefined for types the IR cannot hold from ORT. */
export function tensorFromOrt(name: string, value: ort.Tensor): Tensor | undefined {
  const dataType = FROM_ORT[value.type];
  if (dataType === undefined) return undefined;
  const dims = [...value.dims];
  if (dataType === DataType.STRING) return Tensor.fromStrings({ name, dims, data: [...(value.data as string[])] });
  const data = (value.data as Float32Array).slice(); // the runtime may reuse its buffer
  return Tensor.fromArray({ name, dims, dataType, data });
}

/** An IR tensor as an onnxruntime tensor (sharing the data); undefined for types ORT does not take from JS. */
export function tensorToOrt(t: Tensor): ort.Tensor | undefined {
  const type = TO_ORT.get(t.dataType);
  if (!type) return undefined;
  if (t.dataType === DataType.STRING) return new ort.Tensor('string', t.strings(), [...t.dims]);
  return new ort.Tensor(type as 'float32', t.data() as Float32Array, [...t.dims]);
}

export interface EvaluateOptions {
  /** The model the nodes come from: its opsets, IR version and functions are kept. */
  readonly model: Model;
  /** The nodes to run, in a valid order (cloned, not moved). */
  readonly nodes: readonly Node[];
  /** The constant tensors they read, by name. */
  readonly constants: ReadonlyMap<string, Tensor>;
  /** The values to return. */
  readonly outputs: readonly string[];
}

/**
 * Runs `nodes` on onnxruntime-node (graph optimizations off) and returns `outputs` as tensors;
 * a value of a type the IR cannot hold is left out. Throws what onnxruntime throws.
 */
export async function evaluateNodes(options: EvaluateOptions): Promise<Map<string, Tensor>> {
  const { model, nodes, constants, outputs } = options;
  const graph = new Graph({
    name: 'fold',
    nodes: nodes.map((n) => n.clone()),
    initializers: constants.values(),
    outputs: outputs.map((name) => new ValueInfo({ name })),
  });
  const sub = new Model({
    graph, irVersion: Math.max(model.irVersion, 4), opsetImports: model.opsetImports, functions: model.functions.map((f) => f.clone()),
  });
  const session = await ort.InferenceSession.create(encodeModel(sub), { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
  try {
    const result = await session.run({});
    const out = new Map<string, Tensor>();
    for (const name of outputs) {
      const v = result[name];
      const t = v && tensorFromOrt(name, v);
      if (t) out.set(name, t);
    }
    return out;
  } finally {
    await session.release();
  }
}
