/**
 * The `required_operators.config` a reduced ONNX Runtime build takes (build.py
 * --include_ops_by_config), in the format ORT's convert_onnx_models_to_ort writes: comment lines
 * naming the models, then `domain;opset;Op1,Op2,...` lines, sorted, where the opset of an op is
 * the version of its schema in force at the model's opset (MaxPool in an opset-13 model: 12), as
 * ORT registers kernels; ops of other domains (com.microsoft) take the domain's imported opset.
 */
import type { Model } from '../../onnx/ir/model.js';
import { allGraphs } from '../../onnx/passes/util.js';
import { STANDARD_DOMAINS, schemaTable } from '../../onnx/check/schemas.js';

/** domain -> schema opset -> operators. */
export function requiredOperators(model: Model): Map<string, Map<number, Set<string>>> {
  const out = new Map<string, Map<number, Set<string>>>();
  const table = schemaTable();
  for (const g of allGraphs(model)) {
    for (const n of g.nodes) {
      const domain = n.domain === '' ? 'ai.onnx' : n.domain;
      const imported = model.opsetImports.get(n.domain) ?? model.opsetImports.get(domain) ?? model.opsetImports.get(domain === 'ai.onnx' ? '' : domain) ?? 1;
      const since = STANDARD_DOMAINS.has(domain) ? table.lookup(domain, n.opType, imported)?.since ?? imported : imported;
      let byOpset = out.get(domain);
      if (!byOpset) out.set(domain, (byOpset = new Map()));
      let ops = byOpset.get(since);
      if (!ops) byOpset.set(since, (ops = new Set()));
      ops.add(n.opType);
    }
  }
  return out;
}

export function requiredOperatorsConfig(model: Model, modelFiles: readonly string[]): string {
  const lines = ['# Generated from model/s:', ...[...modelFiles].sort().map((f) => `# - ${f}`)];
  const ops = requiredOperators(model);
  for (const domain of [...ops.keys()].sort()) {
    const byOpset = ops.get(domain)!;
    for (const opset of [...byOpset.keys()].sort((a, b) => a - b)) lines.push(`${domain};${opset};${[...byOpset.get(opset)!].sort().join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}
