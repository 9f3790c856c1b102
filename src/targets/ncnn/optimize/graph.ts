/** Small helpers the net passes share: who reads a blob, and single-reader checks. */
import type { Layer, Net } from '../net.js';

/** The layers reading `blob` (each once). */
export function readers(net: Net, blob: string): Layer[] {
  return net.layers.filter((l) => l.bottoms.includes(blob));
}

/** The one layer reading `blob`, when exactly one does and the user does not read it. */
export function soleReader(net: Net, blob: string, outputs: ReadonlySet<string>): Layer | undefined {
  if (outputs.has(blob)) return undefined;
  const r = readers(net, blob);
  return r.length === 1 && r[0]!.bottoms.filter((b) => b === blob).length === 1 ? r[0] : undefined;
}

/** Removes layers from the net. */
export function removeLayers(net: Net, gone: Iterable<Layer>): void {
  const set = new Set(gone);
  net.layers = net.layers.filter((l) => !set.has(l));
}

/** A BinaryOp with a scalar: its op_type and b, else undefined. */
export function scalarOp(l: Layer): { op: number; b: number } | undefined {
  if (l.type !== 'BinaryOp' || l.params.get(1)?.value !== 1) return undefined;
  return { op: Number(l.params.get(0)?.value ?? 0), b: Number(l.params.get(2)?.value ?? 0) };
}

/** The float value of a param (default `fallback`). */
export function floatParam(l: Layer, id: number, fallback: number): number {
  const v = l.params.get(id);
  return v && (v.type === 'float' || v.type === 'int') ? v.value : fallback;
}
