// onnx.checker as the reference `ferry check` is compared with: the onnx Python package the schema
// table was made from (1.23.2), installed apart from Debian's older python3-onnx so nothing else
// in .venv changes:
//   .venv/bin/pip install --target .venv/onnx-ref onnx==1.23.2      (.ci/run does this)
// ONNX_REFERENCE_PYTHONPATH overrides the folder.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const python = path.join(root, '.venv/bin/python');
const pythonPath = process.env.ONNX_REFERENCE_PYTHONPATH ?? path.join(root, '.venv/onnx-ref');
const script = path.join(root, 'test/onnx/onnx_checker.py');
/** The onnx version data/onnx-schemas.json was made from: the reference must be the same. */
export const REFERENCE_ONNX = '1.23.2';

const env = () => ({ ...process.env, PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: '1' });

let probed;
/** Why onnx.checker cannot be the reference here, or undefined when it can. */
export function referenceUnavailable() {
  if (probed !== undefined) return probed || undefined;
  const install = `.venv/bin/pip install --target .venv/onnx-ref onnx==${REFERENCE_ONNX}`;
  if (!existsSync(python)) probed = `${path.relative(root, python)} does not exist (/usr/bin/python3 -m venv --system-site-packages .venv && ${install})`;
  else {
    const probe = spawnSync(python, ['-c', 'import onnx; print(onnx.__version__)'], { encoding: 'utf8', env: env(), timeout: 60_000 });
    const version = probe.stdout?.trim();
    if (probe.status !== 0) probed = `cannot import onnx from ${pythonPath} (${install}): ${(probe.stderr || '').trim().split('\n').pop()}`;
    else if (version !== REFERENCE_ONNX) probed = `the onnx in ${pythonPath} is ${version}, not ${REFERENCE_ONNX} (${install})`;
    else probed = '';
  }
  return probed || undefined;
}

/** Runs onnx.checker.check_model on each file (one Python process); resolves to Map(file -> null | error line). */
export function onnxVerdicts(files) {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`onnx_checker.py exited ${code}: ${err}`));
      const { verdicts } = JSON.parse(out);
      resolve(new Map(Object.entries(verdicts)));
    });
    child.stdin.end(files.join('\n'));
  });
}
