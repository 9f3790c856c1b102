/**
 * Running the Python bridge (python/ferry_bridge) as a child process: its progress lines stream
 * to `onProgress` (stderr, for the CLI), its one JSON line on stdout is the result, and a Python
 * failure becomes a FerryError whose message names the step (module, factory, exporter) and the
 * Python error's last line.
 */
import { spawn } from 'node:child_process';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorCode } from '../errors.js';
import { FerryError } from '../errors.js';
import type { FoundPython } from './python.js';
import { INSTALL_HINT, describe } from './python.js';

/** python/ in the package (dist/bridge/ -> ../../python). */
export const BRIDGE_PATH = fileURLToPath(new URL('../../python', import.meta.url));

export interface BridgeOptions {
  readonly python: FoundPython;
  /** Called with each stderr line of the bridge (progress, warnings, tracebacks). */
  readonly onProgress?: (line: string) => void;
  /** Extra environment for the child. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The `error` object of a failed bridge command. */
export interface BridgeFailure {
  readonly kind: string;
  readonly message: string;
  readonly [key: string]: unknown;
}

const KIND_TO_CODE: Readonly<Record<string, ErrorCode>> = {
  torch_missing: 'PYTHON_UNAVAILABLE',
  trace_diverged: 'TRACE_DIVERGED',
};

/** Runs `python -m ferry_bridge COMMAND ARGS...` and resolves with its result object. */
export function runBridge<T>(command: 'export' | 'run' | 'inspect', args: readonly string[], options: BridgeOptions): Promise<T> {
  const { python, onProgress } = options;
  const env = {
    ...process.env,
    ...options.env,
    PYTHONPATH: [BRIDGE_PATH, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
  };
  return new Promise<T>((resolve, reject) => {
    const child = spawn(python.command, ['-m', 'ferry_bridge', command, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    const tail: string[] = [];
    const line = (text: string): void => {
      tail.push(text);
      if (tail.length > 40) tail.shift();
      onProgress?.(text);
    };
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) line(l.replace(/\r$/, ''));
    });
    child.on('error', (err) => {
      reject(new FerryError('PYTHON_UNAVAILABLE', `cannot start ${describe(python)}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      if (pending) line(pending);
      const last = stdout.trim().split('\n').pop() ?? '';
      let reply: { ok: boolean; result?: T; error?: BridgeFailure } | undefined;
      try {
        reply = JSON.parse(last);
      } catch {
        reply = undefined;
      }
      if (reply?.ok && reply.result !== undefined) {
        resolve(reply.result);
        return;
      }
      if (reply?.error) {
        reject(bridgeError(reply.error, python));
        return;
      }
      const lastErr = [...tail].reverse().find((l) => l.trim())?.trim() ?? 'no output';
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new FerryError('PYTHON_ERROR', `the PyTorch bridge (${python.executable}) ${how} without a result: ${lastErr}`));
    });
  });
}

/** The FerryError for a bridge's `{"ok": false, "error": ...}`; the details ride along as `cause`. */
export function bridgeError(error: BridgeFailure, python: FoundPython): FerryError {
  const code = KIND_TO_CODE[error.kind] ?? 'PYTHON_ERROR';
  let message = error.message;
  if (error.kind === 'torch_missing') message = `${describe(python)} cannot import the bridge's needs (${error.message}); ${INSTALL_HINT}`;
  else if (error.kind === 'internal') message = `the PyTorch bridge failed: ${error.message}`;
  return new FerryError(code, message, { cause: error });
}
