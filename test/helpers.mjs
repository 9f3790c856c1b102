// Shared test helpers: start the real server on a loopback port, talk HTTP to it.
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from '../dist/index.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/models', import.meta.url));
export const FASHION = fileURLToPath(new URL('../examples/fashion', import.meta.url));

/** Starts ferry on 127.0.0.1 and an ephemeral port. */
export async function start(modelPath = FIXTURES, options = {}) {
  const server = await startServer({ modelPath, port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
  return server;
}

/** POSTs a JSON body, returns { status, headers, json }. */
export async function post(url, body, headers = {}) {
  const res = await fetch(url, { method: 'POST', body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body), headers });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, text };
}

export async function get(url) {
  const res = await fetch(url);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, text };
}

/** A v2 binary-extension body: JSON header + raw tensors. */
export function binaryBody(header, tensors) {
  const head = Buffer.from(JSON.stringify(header));
  const body = Buffer.concat([head, ...tensors.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength))]);
  return { body, headers: { 'inference-header-content-length': String(head.length), 'content-type': 'application/octet-stream' } };
}

/** Splits a binary-extension response into its JSON header and the bytes after it. */
export async function readBinaryResponse(res) {
  const buf = Buffer.from(await res.arrayBuffer());
  const n = Number(res.headers.get('inference-header-content-length'));
  return { header: JSON.parse(buf.subarray(0, n).toString()), rest: buf.subarray(n) };
}

export function infer(model, inputs, extra = {}) {
  return { inputs, ...extra };
}

/** Waits until /metrics shows `model` with a batch running and at least `queued` requests waiting. */
export async function waitBusy(url, model, { queued = 0, timeoutMs = 10_000 } = {}) {
  const busy = new RegExp(`ferry_inflight_batches\\{model="${model}"\\} [1-9]`);
  const depth = new RegExp(`ferry_queue_depth\\{model="${model}"\\} (\\d+)`);
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (busy.test(text) && Number(text.match(depth)?.[1] ?? 0) >= queued) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`model ${model} never had a batch running with ${queued} queued`);
}

export const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** Runs `ferry ARGS` to its end: exit code, stdout and stderr (`env` adds to the environment). */
export async function ferry(args, env = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  return { code, out, err };
}

/**
 * Starts `ferry serve ARGS` on a free port and waits until it is ready. `env` adds to the
 * environment; with `portFromEnv` the port is given as FERRY_HTTP_PORT and no flag is added (a
 * server configured from FERRY_ variables alone), else as --port with --log-level info.
 */
export async function serveProcess(args, { env = {}, portFromEnv = false } = {}) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const flags = portFromEnv ? [] : ['--port', String(port), '--log-level', 'info'];
  const child = spawn(process.execPath, [BIN, 'serve', ...args, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(portFromEnv && { FERRY_HTTP_PORT: String(port) }), ...env },
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`ferry serve exited ${child.exitCode}: ${log}`);
    try {
      if ((await fetch(`${url}/v2/health/ready`)).status === 200) return { child, url, log: () => log };
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`ferry serve did not become ready: ${log}`);
}
