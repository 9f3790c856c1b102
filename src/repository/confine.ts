/**
 * What a load request (POST /v2/repository/models/{m}/load) may name: a model folder of the
 * repository and files inside it, nothing else. TorchServe's management API loaded models from
 * URLs and paths a request named (CVE-2023-43654, "ShellTorch", went through its `allowed_urls`
 * check); here a request names a folder of the repository, never a path, and every file a
 * request-driven load opens must lie inside the repository once symlinks are resolved.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { FerryError } from '../errors.js';

/** A model name that is one folder name: not empty, no separator, no `..`, not hidden, no NUL. */
export function checkModelName(name: string): void {
  if (name === '' || name.startsWith('.') || /[/\\\0]/.test(name)) {
    throw new FerryError('PATH_OUTSIDE_REPOSITORY', `model name ${JSON.stringify(name)} is not a folder name of the repository (no /, \\, leading dot or ..): a load request names a model, never a path`);
  }
}

/** A file name a config override gives (`default_model_filename`, `label_filename`): relative, without `..`. */
export function checkRelativeName(key: string, value: string, model: string): void {
  const parts = value.split(/[/\\]/);
  if (isAbsolute(value) || /^[a-zA-Z]:/.test(value) || value.includes('\0') || parts.includes('..')) {
    throw new FerryError('PATH_OUTSIDE_REPOSITORY', `${key} ${JSON.stringify(value)} in the load request for "${model}" leaves the model folder: give a name relative to it, without ..`);
  }
}

/** Throws unless `file`, with symlinks resolved, is `root` or lies inside it. A file that does not exist passes (the load reports it). */
export async function checkInside(root: string, file: string, what: string): Promise<void> {
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    return;
  }
  const rel = relative(realRoot, real);
  if (rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))) return;
  throw new FerryError('PATH_OUTSIDE_REPOSITORY', `${what} ${file} resolves to ${real}, outside the repository ${realRoot}: a load request only loads files inside it (move the file in, or serve it at start-up)`);
}
