/**
 * What `ferry check` finds: issues (errors and warnings), each naming what is at fault, collected
 * while the checks run — the checks never stop at the first problem.
 */
import type { Node } from '../ir/node.js';

export type Severity = 'error' | 'warning';

/** The family of a problem: stable ids for machines (`--json`) and tests. */
export type CheckRule =
  | 'ir-version' | 'opset-import' | 'graph' | 'value-info' | 'ssa' | 'topological-order' | 'cycle' | 'graph-output'
  | 'initializer' | 'tensor' | 'sparse-tensor' | 'unknown-op' | 'deprecated-op' | 'custom-op' | 'experimental-op'
  | 'node' | 'arity' | 'attribute' | 'type' | 'subgraph' | 'function' | 'node-name' | 'metadata';

export interface CheckIssue {
  readonly severity: Severity;
  readonly rule: CheckRule;
  /**
   * What is at fault: a node (`Conv "conv1"`, or `Relu #3` when unnamed: its index in its graph;
   * inside a subgraph `If "cond" > then_branch > Add #0`, inside a function
   * `function com.acme.Gelu > Mul #1`), a graph, a tensor, or `model`.
   */
  readonly where: string;
  /** What is wrong. */
  readonly message: string;
}

/** Collects issues; the checks add to it and go on. */
export class Reporter {
  readonly errors: CheckIssue[] = [];
  readonly warnings: CheckIssue[] = [];

  error(rule: CheckRule, where: string, message: string): void {
    this.errors.push({ severity: 'error', rule, where, message });
  }

  warn(rule: CheckRule, where: string, message: string): void {
    this.warnings.push({ severity: 'warning', rule, where, message });
  }
}

/** `Conv "conv1"`, or `Conv #3` for an unnamed node (its index in its graph), with a domain when not ai.onnx. */
export function nodeLabel(prefix: string, n: Node, index: number): string {
  const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType || '(no op_type)'}` : n.opType || '(no op_type)';
  return `${prefix}${op} ${n.name ? JSON.stringify(n.name) : `#${index}`}`;
}

/** `a, b, c and 4 more`: a list in a message, kept short. */
export function shortList(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
