// Shared test helpers: start the real server on a loopback port, talk HTTP to it.
import { fileURLToPath } from 'node:url';
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
