/**
 * What a command-line model argument names: an ONNX file, an ncnn .param, a TorchScript file, or a PyTorch
 * factory `MODULE.py:FACTORY` (a Python file and a function in it called with no arguments).
 */
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { FerryError } from '../errors.js';

export type ModelRef =
  | { readonly kind: 'onnx'; readonly path: string; readonly text: string }
  | { readonly kind: 'torchscript'; readonly path: string; readonly text: string }
  | { readonly kind: 'ncnn'; readonly path: string; readonly text: string }
  | { readonly kind: 'pytorch'; readonly path: string; readonly factory: string; readonly text: string };

const FACTORY = /^(.+\.py):([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)$/;
const TORCHSCRIPT_EXT = new Set(['.pt', '.pth', '.zip', '.ts', '.torchscript', '.jit']);

/** Parses MODULE.py:FACTORY; undefined for anything else. */
export function parseFactory(text: string): { path: string; factory: string } | undefined {
  const m = FACTORY.exec(text);
  return m ? { path: m[1]!, factory: m[2]! } : undefined;
}

/**
 * Decides the kind from the text and, for files, the extension (.onnx; .pt/.pth/.zip/.ts for
 * TorchScript) or else the first bytes (a zip is TorchScript, anything else is taken for ONNX).
 */
export async function resolveModelRef(text: string): Promise<ModelRef> {
  const f = parseFactory(text);
  if (f) {
    await mustExist(f.path, text);
    return { kind: 'pytorch', path: f.path, factory: f.factory, text };
  }
  await mustExist(text, text);
  const ext = extname(text).toLowerCase();
  if (ext === '.onnx') return { kind: 'onnx', path: text, text };
  if (ext === '.param') return { kind: 'ncnn', path: text, text };
  if (TORCHSCRIPT_EXT.has(ext)) return { kind: 'torchscript', path: text, text };
  const head = Buffer.alloc(4);
  const fh = await open(text, 'r');
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  return head.readUInt32LE(0) === 0x04034b50 ? { kind: 'torchscript', path: text, text } : { kind: 'onnx', path: text, text };
}

async function mustExist(path: string, text: string): Promise<void> {
  try {
    const fh = await open(path, 'r');
    await fh.close();
  } catch {
    throw new FerryError('MODEL_LOAD_FAILED', `${text}: no such file ${path} (expected MODEL.onnx, a TorchScript MODEL.pt, or MODULE.py:FACTORY)`);
  }
}

export function kindLabel(ref: ModelRef): string {
  return ref.kind === 'onnx' ? 'ONNX' : ref.kind === 'torchscript' ? 'TorchScript' : ref.kind === 'ncnn' ? 'ncnn' : 'PyTorch eager';
}
