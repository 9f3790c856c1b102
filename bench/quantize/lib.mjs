// Shared by bench/quantize/run.mjs and schemes.mjs: the trained-like torchvision models.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * torchvision's `name` with trained-like BatchNorm (bench/quantize/trained_like.py), exported with
 * `ferry export` (Debian's python3-torch) into WORK the first time: WORK/<name>-trained.onnx.
 */
export function exportTrainedLike(name, work, log = (s) => process.stderr.write(`${s}\n`)) {
  const out = join(work, `${name}-trained.onnx`);
  if (!existsSync(out)) {
    log(`exporting ${name} (trained-like BatchNorm) with ferry export ...`);
    execFileSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'export', `bench/quantize/trained_like.py:${name}`, '--input-shape', '1,3,224,224',
      '--to', 'onnx', '--opset', '13', '--dynamic-batch', '-o', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return out;
}
