/**
 * The `required_operators.config` a reduced ONNX Runtime build takes (build.py
 * --include_ops_by_config), in the format ORT's convert_onnx_models_to_ort writes: comment lines
 * naming the models, then one `domain;opset;Op1,Op2,...` line per domain and opset, sorted.
 */
import type { Model } from '../../onnx/ir/model.js';
import { allGraphs } from '../../onnx/passes/util.js';

/** Operators used by the model, by domain ('ai.onnx' for the default one). */
export function requiredOperators(model: Model): Map<string, { opset: number; ops: Set<string> }> {
  const out = new Map<string, { opset: number; ops: Set<string> }>();
  for (const g of allGraphs(model)) {
    for (const n of g.nodes) {
      const domain = n.domain === '' ? 'ai.onnx' : n.domain;
      const opset = model.opsetImports.get(n.domain) ?? model.opsetImports.get(domain) ?? 1;
      let entry = out.get(domain);
      if (!entry) out.set(domain, (entry = { opset, ops: new Set() }));
      entry.ops.add(n.opType);
    }
  }
  return out;
}

export function requiredOperatorsConfig(model: Model, modelFiles: readonly string[]): string {
  const lines = ['# Generated from model/s:', ...[...modelFiles].sort().map((f) => `# - ${f}`)];
  const ops = requiredOperators(model);
  for (const domain of [...ops.keys()].sort()) {
    const { opset, ops: set } = ops.get(domain)!;
    lines.push(`${domain};${opset};${[...set].sort().join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}
