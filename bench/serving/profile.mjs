#!/usr/bin/env node
// Where a request's time goes: ferry serve (default model) under --cpu-prof, driven by wrk with one
// connection (or --connections N), v2 binary or the seed's /predict (multipart meta + a raw 112x112
// BGR blob). Every thread's profile is summarized: CPU time by category (HTTP parsing, fastify,
// the v2 codec, multipart, image preprocessing, batching, the engine's thread hop, ONNX Runtime,
// writing answers, GC), per request, in µs.
//
//   node bench/serving/profile.mjs [--connections 1] [--seconds 10] [--placement auto|worker|inline] [--route v2|predict]
//
// Writes bench/results/serving-profile-c<N>-<placement>[-predict].json.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, FERRY, start, freePort, waitReady, machine, writeResult, table, f, flags, requireBuild, sleep, fashionCopy } from '../lib.mjs';
import { wrk, binaryInferBody } from '../clients.mjs';

requireBuild();
const opts = flags(process.argv.slice(2), { connections: 1, seconds: 10, placement: 'auto', route: 'v2' });
if (opts.route !== 'v2' && opts.route !== 'predict') throw new Error(`--route ${opts.route}: v2 or predict`);
const model = fashionCopy((text) => text.replace(/^  intra_op_threads: 1$/m, `  intra_op_threads: 1\n  inline: ${opts.placement === 'worker' ? 'false' : opts.placement === 'inline' ? 'true' : 'auto'}`));
const profDir = join(mkdtempSync(join(tmpdir(), 'ferry-profile-')), 'prof');
const port = await freePort();
const child = start(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, FERRY, 'serve', model, '--port', String(port), '--log-level', 'warn']);
const url = `http://127.0.0.1:${port}`;
await waitReady(`${url}/v2/health/ready`, child);
const { path, body, headers } = await requestFor(opts.route);
await wrk({ url: url + path, body, headers, connections: opts.connections, durationS: 2 });
const load = await wrk({ url: url + path, body, headers, connections: opts.connections, durationS: opts.seconds });
child.kill('SIGINT');
await new Promise((r) => child.once('exit', r));
await sleep(200);

/** The path, body and headers wrk posts: v2 binary, or the seed's /predict of the ankle-boot sample. */
async function requestFor(route) {
  if (route === 'v2') return { path: '/v2/models/fashion/infer', ...binaryInferBody([{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: new Float32Array(784).fill(0.25) }], ['logits']) };
  const { readBgr } = await import('../../dist/bench/target.js');
  const { predictRequest } = await import('../../dist/bench/payload.js');
  const { pixels, height, width } = await readBgr(join(ROOT, 'examples', 'fashion', 'samples', 'ankle-boot-rgb.jpg'));
  const predict = predictRequest(pixels, height, width, 3);
  return { path: '/predict', body: predict.body, headers: { 'Content-Type': predict.headers['content-type'] } };
}

/** Category of a profile node's function, by its script and name. */
function category(fn, url) {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8 / native (other)';
  if (fn === 'postMessage' || /per_context\/messageport|internal\/worker/.test(url)) return 'engine thread hop (postMessage)';
  if (/onnxruntime-node|onnxruntime\/(worker|session|inline|tensors)/.test(url) || /backend\.js/.test(url)) return 'ONNX Runtime (run + tensors)';
  if (fn === 'writev' || fn === 'writeBuffer' || fn === 'writeUtf8String' || /stream_base_commons|_http_outgoing|streams\/writable/.test(url)) return 'writing answers (syscalls)';
  if (/_http_server|_http_common|_http_incoming|streams\/readable|node:net|internal\/net/.test(url) || fn === 'Readable' || fn === 'parserOnHeadersComplete' || fn === 'execute') return 'HTTP parsing (node:http)';
  if (/fastify|find-my-way|light-my-request|avvio|pino|abstract-logging/.test(url)) return 'fastify (routing, hooks, reply)';
  if (/server\/multipart/.test(url)) return 'multipart parsing';
  if (/preprocess\//.test(url)) return 'image preprocessing';
  if (/tensors\/(v2-codec|chunked-bytes|source|tensor|dtype)/.test(url) || /lossless-json/.test(url)) return 'v2 codec (decode, encode)';
  if (/batching\/|repository\/model-version|repository\/stats/.test(url)) return 'batching, validation, stats';
  if (/server\/(app|admission|body|refusal|routes)/.test(url)) return 'ferry server (routes, body, admission)';
  if (/prom-client|server\/metrics/.test(url)) return 'metrics';
  if (/task_queues|timers|async_hooks|events/.test(url)) return 'event loop plumbing (promises, timers, events)';
  if (/cjs\/loader|esm\/|bootstrap|modules\/|cjs-module-lexer/.test(url) || /^(readFileUtf8|dlopen|internalModuleReadJSON|compileSourceTextModule|wrapSafe|openFileHandle)$/.test(fn)) return 'start-up (module loading)';
  return 'other';
}

const threads = [];
for (const file of readdirSync(profDir).filter((n) => n.endsWith('.cpuprofile'))) {
  const p = JSON.parse(readFileSync(join(profDir, file), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const time = new Map();
  let total = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const us = p.timeDeltas[i] ?? 0;
    total += us;
    const c = category(n.callFrame.functionName, n.callFrame.url);
    time.set(c, (time.get(c) ?? 0) + us);
  });
  threads.push({ file, totalMs: total / 1000, categories: Object.fromEntries([...time].map(([k, v]) => [k, v / 1000])) });
}
threads.sort((a, b) => (b.categories['HTTP parsing (node:http)'] ?? 0) - (a.categories['HTTP parsing (node:http)'] ?? 0));
const requests = load.requests;
const m = machine();
console.log(`${m.cpu}, ${m.cores} cores, flags ${m.cpuFlags.join(' ')}; load ${m.loadAverageAtStart.join(' ')}`);
console.log(`wrk -c${opts.connections}, ${opts.seconds} s, ${opts.route === 'v2' ? 'v2 binary' : '/predict'}, placement ${opts.placement}: ${f(load.requestsPerS, 0)} req/s, p50 ${f(load.latencyMs.p50, 3)} ms, p99 ${f(load.latencyMs.p99, 3)} ms (wrk on the same cores)\n`);
const rows = [];
for (const [i, t] of threads.entries()) {
  const name = i === 0 ? 'main thread (event loop)' : `worker thread ${i}`;
  const busy = Object.entries(t.categories).filter(([k]) => k !== 'idle' && k !== 'start-up (module loading)');
  for (const [k, ms] of busy.sort((a, b) => b[1] - a[1])) {
    if (ms < 0.005 * t.totalMs) continue;
    rows.push([name, k, f(ms, 0), f((ms * 1000) / requests, 1)]);
  }
  rows.push([name, 'idle', f(t.categories.idle ?? 0, 0), '']);
}
console.log(table(['thread', 'where', 'CPU ms', 'µs / request'], rows));
writeResult(`serving-profile-c${opts.connections}-${opts.placement}${opts.route === 'predict' ? '-predict' : ''}`, { machine: m, options: opts, load, requests, threads });
