/**
 * Opset 9 -> 10 for static quantization: ONNX Runtime fuses QDQ node units into ai.onnx
 * QLinearConv / QLinearMatMul, which opset 9 models cannot hold ("No Op registered for
 * QLinearConv with domain_version of 9"). Between 9 and 10 only Slice (starts/ends/axes move
 * from attributes to inputs) and TopK (k moves to an input) changed meaning; both are rewritten.
 * onnxruntime's quantizer upgrades such models with onnx's version converter instead.
 */
import type { Model } from '../onnx/ir/model.js';
import { Tensor } from '../onnx/ir/tensor.js';

/** Raises the default-domain opset of a model below 10 to 10, rewriting Slice and TopK. Returns the nodes rewritten. */
export function upgradeToOpset10(model: Model): number {
  const opset = model.opset('') ?? 0;
  if (opset >= 10) return 0;
  let changed = 0;
  const g = model.graph;
  const int64 = (base: string, values: readonly number[]): string =>
    g.addInitializer(Tensor.fromArray({ name: g.uniqueName(base), dims: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) })).name;
  for (const n of g.nodes) {
    if (!(n.domain === '' || n.domain === 'ai.onnx')) continue;
    if (n.opType === 'Slice') {
      const starts = n.getInts('starts');
      const ends = n.getInts('ends');
      const axes = n.attribute('axes') ? n.getInts('axes') : undefined;
      for (const a of ['starts', 'ends', 'axes']) n.removeAttribute(a);
      const base = n.name || n.outputs[0]!;
      n.setInputs([n.inputs[0]!, int64(`${base}_starts`, starts), int64(`${base}_ends`, ends), ...(axes ? [int64(`${base}_axes`, axes)] : [])]);
      changed++;
    } else if (n.opType === 'TopK') {
      const k = n.getInt('k');
      n.removeAttribute('k');
      n.setInputs([n.inputs[0]!, int64(`${n.name || n.outputs[0]}_k`, [k])]);
      changed++;
    }
  }
  model.opsetImports.set(model.opsetImports.has('ai.onnx') ? 'ai.onnx' : '', 10);
  if (model.irVersion < 5) model.irVersion = 5;
  return changed;
}
