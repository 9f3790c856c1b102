/**
 * Constant folding: nodes of the main graph whose inputs are all constants (initializers that are
 * not graph inputs, Constant outputs, outputs of other such nodes) are run once on ONNX Runtime
 * (../evaluate.ts: one small model of all of them, one session) and replaced by initializers
 * holding their outputs.
 *
 * Left alone: random ops (their value changes per run), nodes with subgraphs, sequence and
 * optional ops (no tensor to store), QuantizeLinear / DequantizeLinear (folding a quantized
 * weight back to float would undo quantization: runtimes fuse Q/DQ pairs instead), ops outside
 * the ONNX and com.microsoft domains, and nodes that would grow the model: an output over
 * `foldSizeLimitBytes` and over twice the node's input bytes (an Expand or ConstantOfShape
 * materializing a huge tensor; onnxsim has the same guard). If ONNX Runtime cannot run the
 * batch, each node is tried alone and the ones it cannot run stay.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import { evaluateNodes } from '../evaluate.js';
import type { Pass } from './pass.js';
import { allowInitializers, constantNodeTensor, isOp } from './util.js';

/** Ops whose output is not a function of their inputs. */
export const NONDETERMINISTIC_OPS: ReadonlySet<string> = new Set([
  'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Multinomial', 'Bernoulli',
]);

/** Ops constant folding leaves in place (see the module comment). */
const KEEP_OPS: ReadonlySet<string> = new Set([
  ...NONDETERMINISTIC_OPS, 'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'Optional', 'OptionalGetElement',
  'OptionalHasElement', 'SequenceAt', 'SequenceConstruct', 'SequenceEmpty', 'SequenceErase', 'SequenceInsert', 'SequenceLength',
  'SequenceMap', 'SplitToSequence', 'ConcatFromSequence',
]);

function foldableOp(n: Node): boolean {
  if (n.hasSubgraphs || n.outputs.length === 0) return false;
  if (n.domain !== '' && n.domain !== 'ai.onnx' && n.domain !== 'com.microsoft') return false;
  return !KEEP_OPS.has(n.opType);
}

export const foldConstants: Pass = {
  name: 'fold-constants',
  description: 'evaluate nodes whose inputs are all constant (on ONNX Runtime) into initializers',
  async run(model, context) {
    const g = model.graph;
    const constant = new Set<string>(['']);
    for (const name of g.initializers.keys()) if (!g.isInput(name)) constant.add(name);
    const candidates: Node[] = [];
    for (const n of g.nodes) {
      if (!foldableOp(n) || !n.inputs.every((v) => constant.has(v))) continue;
      if (!n.outputs.some((v) => v && g.isUsed(v))) continue; // dead: eliminate-dead-nodes' job
      candidates.push(n);
      for (const v of n.outputs) if (v) constant.add(v);
    }
    if (candidates.length === 0) return 0;

    const values = await evaluate(model.graph, candidates, (nodes, constants, outputs) => evaluateNodes({ model, nodes, constants, outputs }));
    let changes = 0;
    for (const n of candidates) {
      const outs = n.outputs.filter((v) => v && g.isUsed(v));
      const tensors = outs.map((v) => values.get(v));
      if (tensors.some((t) => t === undefined)) continue;
      if (!isOp(n, 'Constant')) {
        const inBytes = n.inputs.reduce((s, v) => s + (v ? (g.initializers.get(v) ?? values.get(v))?.byteLength ?? 0 : 0), 0);
        if (tensors.some((t) => t!.byteLength > context.foldSizeLimitBytes && t!.byteLength > 2 * inBytes)) continue;
      }
      g.removeNode(n);
      for (const t of tensors) g.addInitializer(t!);
      changes++;
    }
    if (changes) allowInitializers(model);
    return changes;
  },
};

type Evaluator = (nodes: readonly Node[], constants: ReadonlyMap<string, Tensor>, outputs: readonly string[]) => Promise<Map<string, Tensor>>;

/**
 * The used outputs of `nodes` (all constant-input, in order): in one run when it works, else node
 * by node, leaving out nodes the runtime cannot run and everything downstream of them.
 */
async function evaluate(g: Graph, nodes: readonly Node[], run: Evaluator): Promise<Map<string, Tensor>> {
  const wanted = (n: Node) => n.outputs.filter((v) => v && g.isUsed(v));
  const leaves = (list: readonly Node[], known: ReadonlyMap<string, Tensor>) => {
    const produced = new Set(list.flatMap((n) => n.outputs));
    const out = new Map<string, Tensor>();
    for (const n of list) {
      for (const v of n.inputs) {
        if (!v || produced.has(v) || out.has(v)) continue;
        const t = g.initializers.get(v) ?? known.get(v) ?? constantOf(g, v);
        if (t) out.set(v, t);
      }
    }
    return out;
  };
  try {
    return await run(nodes, leaves(nodes, new Map()), nodes.flatMap(wanted));
  } catch {
    // One node the runtime cannot run (an op it lacks, a type it cannot return): go one by one.
  }
  const values = new Map<string, Tensor>();
  const failed = new Set<string>();
  for (const n of nodes) {
    if (n.inputs.some((v) => failed.has(v))) {
      for (const v of n.outputs) failed.add(v);
      continue;
    }
    try {
      const out = await run([n], leaves([n], values), n.outputs.filter(Boolean));
      for (const [k, t] of out) values.set(k, t);
      for (const v of n.outputs) if (v && !out.has(v)) failed.add(v);
    } catch {
      for (const v of n.outputs) failed.add(v);
    }
  }
  return values;
}

function constantOf(g: Graph, name: string): Tensor | undefined {
  const p = g.producer(name);
  return p && isOp(p, 'Constant') ? constantNodeTensor(p) : undefined;
}
