/**
 * Finding a Python that has PyTorch. Search order: `--python PATH`, then env FERRY_PYTHON, then
 * `python3` on PATH, then /usr/bin/python3. An interpreter the user names (--python or
 * FERRY_PYTHON) is the only one tried: quietly running another PyTorch than the one asked for
 * would export or compare with different code. The two guesses are tried in turn, and the first
 * that has torch and numpy wins. When none does, one FerryError line says what was tried and what to install.
 */
import { spawn } from 'node:child_process';
import { FerryError } from '../errors.js';

export type PythonSource = '--python' | 'FERRY_PYTHON' | 'PATH' | 'fallback';

export interface PythonCandidate {
  readonly command: string;
  readonly source: PythonSource;
}

export interface FoundPython extends PythonCandidate {
  /** sys.executable as the interpreter reports it. */
  readonly executable: string;
  /** e.g. "3.11.2". */
  readonly version: string;
}

export interface FindPythonOptions {
  /** The --python flag. */
  python?: string | undefined;
  /** Environment to read FERRY_PYTHON and PATH from. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Interpreters tried after `python3` on PATH. @defaultValue ['/usr/bin/python3'] */
  fallbacks?: readonly string[];
  /** How long one probe may take, in ms. @defaultValue 30000 */
  probeTimeoutMs?: number;
}

export const DEFAULT_FALLBACKS: readonly string[] = ['/usr/bin/python3'];

/** What to tell a user who has no PyTorch. */
export const INSTALL_HINT = 'install PyTorch for one of them (Debian/Ubuntu: `apt-get install python3-torch`; elsewhere: `pip install torch numpy`), or name an interpreter that has it with --python or FERRY_PYTHON';

/** The interpreters to try, in order. */
export function pythonCandidates(options: FindPythonOptions = {}): PythonCandidate[] {
  const env = options.env ?? process.env;
  if (options.python) return [{ command: options.python, source: '--python' }];
  if (env.FERRY_PYTHON) return [{ command: env.FERRY_PYTHON, source: 'FERRY_PYTHON' }];
  const list: PythonCandidate[] = [{ command: 'python3', source: 'PATH' }];
  for (const f of options.fallbacks ?? DEFAULT_FALLBACKS) list.push({ command: f, source: 'fallback' });
  return list;
}

// find_spec looks for the packages without importing them (importing torch takes a second; the
// bridge imports it anyway, and reports a broken install as PYTHON_UNAVAILABLE).
const PROBE = [
  'import importlib.util as u, json, sys',
  'print(json.dumps({"executable": sys.executable, "version": sys.version.split()[0],',
  ' "ok": sys.version_info >= (3, 9), "torch": u.find_spec("torch") is not None, "numpy": u.find_spec("numpy") is not None}))',
].join('\n');

export interface ProbeResult {
  readonly ok: boolean;
  /** Why not, in a few words ("not found", "no module torch"). */
  readonly reason?: string;
  readonly executable?: string;
  readonly version?: string;
}

/** Asks one interpreter whether it has torch and numpy. */
export function probePython(command: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 30_000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn(command, ['-c', PROBE], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ ok: false, reason: (err as Error).message });
      return;
    }
    // Our own timer, not spawn's `timeout`: that one outlives a spawn that fails with ENOENT.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    timer.unref();
    child.on('exit', () => clearTimeout(timer));
    child.on('error', () => clearTimeout(timer));
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', (err: NodeJS.ErrnoException) => {
      resolve({ ok: false, reason: err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'not executable' : err.message });
    });
    child.on('close', (code, signal) => {
      const lastErr = stderr.trim().split('\n').pop()?.trim();
      let info: { executable: string; version: string; ok: boolean; torch: boolean; numpy: boolean } | undefined;
      try {
        info = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        info = undefined;
      }
      if (!info) {
        const why = signal ? `killed by ${signal}` : `exited ${code}`;
        resolve({ ok: false, reason: `not a working Python (${why}${lastErr ? `: ${lastErr}` : ''})` });
        return;
      }
      const base = { executable: info.executable, version: info.version };
      if (!info.ok) resolve({ ...base, ok: false, reason: `Python ${info.version} (ferry needs 3.9+)` });
      else if (!info.torch) resolve({ ...base, ok: false, reason: `Python ${info.version} without torch` });
      else if (!info.numpy) resolve({ ...base, ok: false, reason: `Python ${info.version} without numpy` });
      else resolve({ ...base, ok: true });
    });
  });
}

const cache = new Map<string, Promise<FoundPython>>();

/** The first candidate with torch and numpy; PYTHON_UNAVAILABLE naming every one tried otherwise. Memoized per process. */
export function findPython(options: FindPythonOptions = {}): Promise<FoundPython> {
  const env = options.env ?? process.env;
  const candidates = pythonCandidates(options);
  const key = JSON.stringify([candidates, env.PATH ?? '']);
  let found = cache.get(key);
  if (!found) {
    found = search(candidates, env, options.probeTimeoutMs);
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
}

async function search(candidates: readonly PythonCandidate[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<FoundPython> {
  const tried: string[] = [];
  for (const c of candidates) {
    const r = await probePython(c.command, env, timeoutMs);
    if (r.ok) return { ...c, executable: r.executable!, version: r.version! };
    tried.push(`${describe(c)} (${r.reason})`);
  }
  throw new FerryError('PYTHON_UNAVAILABLE', `no Python with PyTorch: tried ${tried.join(', ')}; ${INSTALL_HINT}`);
}

export function describe(c: PythonCandidate): string {
  switch (c.source) {
    case '--python': return `--python ${c.command}`;
    case 'FERRY_PYTHON': return `FERRY_PYTHON=${c.command}`;
    case 'PATH': return `${c.command} on PATH`;
    default: return c.command;
  }
}
