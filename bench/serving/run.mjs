#!/usr/bin/env node
// Issue 11's four serving goals, measured with standard clients (wrk; Triton's perf_analyzer for the
// latency), the peers in the same run, on whatever machine this is (its CPU model and the flags
// that decide inference speed are printed first):
//
//   latency  default model, 1 client, v2 binary: p99 minus one in-process inference      goal <= 1 ms
//   flask    the seed's Flask /predict (torch, and the same ONNX Runtime session) vs ferry,
//            the seed's multipart body, 16 clients                                       goal >= 10x
//   resnet   ResNet-18, 16 clients: `ferry serve model.onnx` with no tuning, and with the
//            issue's `--max-batch-size 16 --max-queue-delay-ms 2`, / the in-process engine at
//            its best batch                                                              goal >= 0.90
//   storm    64 clients retrying at once (wrk: no back-off) against a queue of 8, ResNet-18:
//            completed / saturated (16 clients)                                          goal >= 0.85
//   triton   NVIDIA Triton (PyPI nvidia-pytriton: its HTTP server and batcher, a Python backend
//            running the same ONNX file on ONNX Runtime) vs ferry, default model, 1 and 16 clients
//
//   node bench/serving/run.mjs [--only latency,flask,resnet,storm,triton] [--seconds 10] [--rounds 2]
//
// The clients run on the same cores as the servers. Results: bench/results/serving.json.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, PYTHON, start, startFerry, freePort, sleep, machine, writeResult, table, f, flags, requireBuild, ensureResnet18, waitReady, waitQuiet, statCpuS, fashionCopy } from '../lib.mjs';
import { wrk, perfAnalyzer, perfAnalyzerAvailable, binaryInferBody } from '../clients.mjs';

requireBuild();
const { benchEngine } = await import('../../dist/measure/engine-bench.js');
const { readBgr } = await import('../../dist/bench/target.js');
const { predictRequest } = await import('../../dist/bench/payload.js');
const { seededRandom } = await import('../../dist/tensors/random.js');

const opts = flags(process.argv.slice(2), { only: 'latency,flask,resnet,storm,triton', seconds: 10, rounds: 2, quietS: 180 });
const only = new Set(String(opts.only).split(','));
const S = Number(opts.seconds);
const ROUNDS = Number(opts.rounds);
const FASHION = join(ROOT, 'examples', 'fashion');
const FASHION_ONNX = join(FASHION, '1', 'model.onnx');
const RESNET = join(ROOT, 'bench', 'models', 'resnet18', '1', 'model.onnx');
const TRITON_PY = join(ROOT, '.venv-triton', 'bin', 'python');
const VENV_PY = join(ROOT, '.venv', 'bin', 'python');

const m = machine();
console.log(`${m.cpu}, ${m.cores} cores, flags ${m.cpuFlags.join(' ')}; node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}; load average ${m.loadAverageAtStart.join(' ')}`);
console.log('every client runs on the same cores as the server it measures\n');
const result = { machine: m, seconds: S, rounds: ROUNDS, goals: {} };

/** A copy of the default model whose image block preprocesses as the seed's Flask server does: gray, resized (fill), no object pass. */
function seedPreprocessing() {
  return fashionCopy((text) => {
    const edited = text.replace(/^  invert: auto\n/m, '  invert: false\n').replace(/^  trim: true.*\n/m, '').replace(/^  fit: contain\n/m, '  fit: fill\n');
    if ((edited.match(/^  (invert: false|fit: fill)$/gm) ?? []).length !== 2 || /^  trim:/m.test(edited)) throw new Error('examples/fashion/config.yaml: its image block changed; update seedPreprocessing()');
    return edited;
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const random = seededRandom(7);
const fashionBody = () => binaryInferBody([{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: Float32Array.from({ length: 784 }, () => random()) }], ['logits']);
const resnetBody = () => binaryInferBody([{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: Float32Array.from({ length: 3 * 224 * 224 }, () => random() - 0.5) }], ['logits']);

async function withServer(startIt, fn) {
  const server = await startIt();
  try {
    return await fn(server.url, server.child);
  } finally {
    await server.child.stop();
  }
}

/** Starts a peer server; ready when `readyPath` answers 200 (or, with readyPath null, answers at all). */
async function startPeer(cmd, args, url, readyPath) {
  const child = start(cmd, args);
  if (readyPath !== null) {
    await waitReady(url + readyPath, child, 120_000);
    return { url, child };
  }
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited ${child.exitCode}: ${child.stderrText()}`);
    if (await fetch(url).then(() => true, () => false)) return { url, child };
    await sleep(200);
  }
  await child.stop();
  throw new Error(`${cmd} ${args.join(' ')} did not listen in 120 s`);
}

if (only.has('latency')) {
  await waitQuiet({ maxS: Number(opts.quietS) });
  const inProcess = await benchEngine({ modelPath: FASHION_ONNX, batchSizes: [1], durationS: 3, intraOpThreads: 1 });
  const oneMs = inProcess.results[0].latency.p50;
  const { body, headers } = fashionBody();
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    rounds.push(await withServer(() => startFerry(FASHION), async (url) => {
      await wrk({ url: `${url}/v2/models/fashion/infer`, body, headers, connections: 1, durationS: 2 });
      const w = await wrk({ url: `${url}/v2/models/fashion/infer`, body, headers, connections: 1, durationS: S });
      const pa = perfAnalyzerAvailable() ? await perfAnalyzer({ url, model: 'fashion', concurrency: 1, measurementMs: S * 500 }).catch((err) => ({ error: err.message.split('\n').find((l) => /Failed/.test(l)) ?? 'failed' })) : undefined;
      return { wrk: w, perfAnalyzer: pa };
    }));
    // the floors: node:http answering a fixed body, and the same burning one in-process
    // inference's CPU first (a server with no overhead at all), the same client and body
    for (const [key, spinMs] of [['floor', 0], ['spin', oneMs]]) {
      rounds.at(-1)[key] = await withServer(async () => {
        const port = await freePort();
        return startPeer(process.execPath, [join(ROOT, 'bench', 'serving', 'floor-server.mjs'), String(port), String(spinMs)], `http://127.0.0.1:${port}`, null);
      }, async (url) => {
        await wrk({ url: `${url}/v2/models/fashion/infer`, body, headers, connections: 1, durationS: 2 });
        return wrk({ url: `${url}/v2/models/fashion/infer`, body, headers, connections: 1, durationS: S });
      });
    }
  }
  const p99 = median(rounds.map((x) => x.wrk.latencyMs.p99));
  const floorP99 = median(rounds.map((x) => x.floor.latencyMs.p99));
  const spinP99 = median(rounds.map((x) => x.spin.latencyMs.p99));
  const goal = { inProcessInferenceMs: { p50: oneMs, p99: inProcess.results[0].latency.p99 }, rounds, wrkP99Ms: p99, overInferenceMs: p99 - oneMs, floorP99Ms: floorP99, overFloorAndInferenceMs: p99 - floorP99 - oneMs, noOverheadP99Ms: spinP99, noOverheadOverInferenceMs: spinP99 - oneMs, paP99Ms: median(rounds.filter((x) => x.perfAnalyzer && !x.perfAnalyzer.error).map((x) => x.perfAnalyzer.latencyMs.p99)), target: '<= 1 ms' };
  result.goals.latency = goal;
  console.log('latency: default model, 1 client, v2 binary');
  console.log(table(['client', 'round', 'req/s', 'p50 ms', 'p99 ms'], rounds.flatMap((x, i) => [
    ['wrk -c1', String(i + 1), f(x.wrk.requestsPerS, 0), f(x.wrk.latencyMs.p50, 3), f(x.wrk.latencyMs.p99, 3)],
    ...(x.perfAnalyzer && !x.perfAnalyzer.error ? [['perf_analyzer c=1', String(i + 1), f(x.perfAnalyzer.requestsPerS, 0), f(x.perfAnalyzer.latencyMs.p50, 3), f(x.perfAnalyzer.latencyMs.p99, 3)]] : []),
    ['wrk -c1, node:http floor', String(i + 1), f(x.floor.requestsPerS, 0), f(x.floor.latencyMs.p50, 3), f(x.floor.latencyMs.p99, 3)],
    ['wrk -c1, node:http burning one inference', String(i + 1), f(x.spin.requestsPerS, 0), f(x.spin.latencyMs.p50, 3), f(x.spin.latencyMs.p99, 3)],
  ])));
  console.log(`a server with no overhead (node:http burning one inference's CPU, ${f(oneMs, 3)} ms): p99 ${f(spinP99, 3)} ms, ${f(goal.noOverheadOverInferenceMs, 3)} ms over the inference: what this machine and client allow`);
  console.log(`the floor (node:http answering a fixed body, same client): p99 ${f(floorP99, 3)} ms; ferry's p99 over floor + inference: ${f(goal.overFloorAndInferenceMs, 3)} ms`);
  console.log(`in process, one inference: p50 ${f(oneMs, 3)} ms; wrk p99 over it: ${f(goal.overInferenceMs, 3)} ms (goal <= 1 ms)\n`);
}

if (only.has('flask')) {
  await waitQuiet({ maxS: Number(opts.quietS) });
  const { pixels, height, width } = await readBgr(join(FASHION, 'samples', 'ankle-boot-rgb.jpg'));
  const spec = predictRequest(pixels, height, width, 3);
  const headers = { 'Content-Type': spec.headers['content-type'] };
  const servers = {
    ferry: () => startFerry(FASHION),
    'ferry, seed prep': () => startFerry(seedPreprocessing()),
    'flask-torch': async () => { const port = await freePort(); return startPeer(PYTHON, [join(ROOT, 'bench/seed-flask/seed_server.py'), '--model', FASHION_ONNX, '--port', String(port)], `http://127.0.0.1:${port}`, null); },
    'flask-ort': async () => { const port = await freePort(); return startPeer(VENV_PY, [join(ROOT, 'bench/seed-flask/seed_server.py'), '--model', FASHION_ONNX, '--runtime', 'ort', '--port', String(port)], `http://127.0.0.1:${port}`, null); },
  };
  const rows = [];
  const out = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, startIt] of Object.entries(servers)) {
      for (const c of [1, 16]) {
        const w = await withServer(startIt, async (url, child) => {
          await wrk({ url: `${url}/predict`, body: spec.body, headers, connections: c, durationS: 2 });
          const before = statCpuS(`/proc/${child.pid}/stat`);
          const load = await wrk({ url: `${url}/predict`, body: spec.body, headers, connections: c, durationS: S });
          return { ...load, serverCpuUsPerRequest: ((statCpuS(`/proc/${child.pid}/stat`) - before) / load.requests) * 1e6 };
        });
        (out[`${name} c=${c}`] ??= []).push(w);
        rows.push([name, `c=${c}`, String(r + 1), f(w.completedPerS, 0), f(w.latencyMs.p50, 2), f(w.latencyMs.p99, 2), f(w.serverCpuUsPerRequest, 0), String(w.non2xx + w.socketErrors)]);
      }
    }
  }
  const rate = (k) => median(out[k].map((w) => w.completedPerS));
  const goal = { rounds: out, ratios: {} };
  const cpu = (k) => median(out[k].map((w) => w.serverCpuUsPerRequest));
  for (const c of [1, 16]) {
    for (const ferry of ['ferry', 'ferry, seed prep']) {
      for (const peer of ['flask-ort', 'flask-torch']) goal.ratios[`${ferry} / ${peer} c=${c}`] = rate(`${ferry} c=${c}`) / rate(`${peer} c=${c}`);
    }
  }
  goal.serverCpuUsPerRequest = Object.fromEntries(Object.keys(out).map((k) => [k, cpu(k)]));
  result.goals.flask = goal;
  console.log("flask: the seed's /predict (multipart meta + raw BGR 112x112 blob), wrk; 'seed prep' is ferry with the seed's preprocessing (gray, resized to 28x28, no object pass: the peers' work)");
  console.log(table(['server', 'clients', 'round', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'errors'], rows));
  console.log(Object.entries(goal.ratios).map(([k, v]) => `${k}: ${f(v, 1)}x`).join('\n') + '\n(goal >= 10x vs flask-ort at c=16)');
  console.log(`server CPU a request at c=16: flask-ort / ferry ${f(cpu('flask-ort c=16') / cpu('ferry c=16'), 1)}x, flask-ort / ferry with the seed's preprocessing ${f(cpu('flask-ort c=16') / cpu('ferry, seed prep c=16'), 1)}x\n`);
}

if (only.has('resnet') || only.has('storm')) ensureResnet18(RESNET);

if (only.has('resnet')) {
  await waitQuiet({ maxS: Number(opts.quietS) });
  const { body, headers } = resnetBody();
  const rows = [];
  const runs = { auto: [], issue: [], ceiling: [] };
  // The best batch is found once; then each server run is bracketed by in-process runs at that
  // batch (before and after: this machine's speed drifts), and compared with their mean. Picking
  // the best of several noisy batch sizes in every round would bias the ceiling upwards.
  const sweep = await benchEngine({ modelPath: RESNET, batchSizes: [1, 2, 4, 8, 16], durationS: Math.max(3, S / 2) });
  const bestBatch = sweep.best.batch;
  const ceilingNow = async () => (await benchEngine({ modelPath: RESNET, batchSizes: [bestBatch], durationS: Math.max(3, S / 2) })).best.inferencesPerS;
  let before = await ceilingNow();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, args] of [['auto', []], ['issue', ['--max-batch-size', '16', '--max-queue-delay-ms', '2']]]) {
      const w = await withServer(() => startFerry(RESNET, args), async (url) => {
        await wrk({ url: `${url}/v2/models/model/infer`, body, headers, connections: 16, durationS: 3 });
        return wrk({ url: `${url}/v2/models/model/infer`, body, headers, connections: 16, durationS: S });
      });
      const after = await ceilingNow();
      const ceiling = (before + after) / 2;
      runs.ceiling.push(ceiling);
      runs[name].push({ served: w.completedPerS, ceiling, before, after, p99Ms: w.latencyMs.p99 });
      rows.push([name === 'auto' ? 'ferry serve model.onnx' : '... --max-batch-size 16 --max-queue-delay-ms 2', String(r + 1), f(w.completedPerS, 1), `${f(before, 1)} / ${f(after, 1)}`, `${bestBatch}`, f(w.completedPerS / ceiling, 3), f(w.latencyMs.p99, 0)]);
      before = after;
    }
  }
  const goal = { runs, bestBatch, sweep: sweep.results.map((x) => ({ batch: x.batch, inferencesPerS: x.inferencesPerS })), ratioAuto: median(runs.auto.map((x) => x.served / x.ceiling)), ratioIssue: median(runs.issue.map((x) => x.served / x.ceiling)), target: '>= 0.90' };
  result.goals.resnet = goal;
  console.log('resnet: ResNet-18, 16 clients (wrk), v2 binary, against one in-process session at its best batch (threads = cores)');
  console.log(table(['server', 'round', 'infer/s', 'in process before / after', 'batch', 'ratio', 'p99 ms'], rows));
  console.log(`median ratio: no tuning ${f(goal.ratioAuto, 3)}, the issue's flags ${f(goal.ratioIssue, 3)} (goal >= 0.90)\n`);
}

if (only.has('storm')) {
  await waitQuiet({ maxS: Number(opts.quietS) });
  const { body, headers } = resnetBody();
  const rows = [];
  const ratios = [];
  for (let r = 0; r < ROUNDS; r++) {
    const x = await withServer(() => startFerry(RESNET, ['--max-queue-size', '8']), async (url) => {
      const target = `${url}/v2/models/model/infer`;
      await wrk({ url: target, body, headers, connections: 16, durationS: 3 });
      const saturated = await wrk({ url: target, body, headers, connections: 16, durationS: S });
      const storm = await wrk({ url: target, body, headers, connections: 64, durationS: 2 * S });
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const paced = Number(/ferry_refusals_paced_total (\d+)/.exec(metrics)?.[1] ?? 0);
      return { saturated, storm, paced };
    });
    const ratio = x.storm.completedPerS / x.saturated.completedPerS;
    ratios.push(ratio);
    rows.push([String(r + 1), f(x.saturated.completedPerS, 1), f(x.storm.completedPerS, 1), f(ratio, 3), String(x.storm.non2xx), f(x.storm.non2xx / x.storm.seconds, 0), String(x.paced), String(x.storm.socketErrors)]);
  }
  result.goals.storm = { ratios, median: median(ratios), target: '>= 0.85' };
  console.log('storm: ResNet-18, queue of 8; saturated = 16 clients, storm = 64 clients that retry at once (wrk)');
  console.log(table(['round', 'saturated/s', 'storm ok/s', 'ratio', '503s', '503/s', 'paced', 'socket errors'], rows));
  console.log(`median ${f(median(ratios), 3)} (goal >= 0.85)\n`);
}

if (only.has('triton')) {
  if (!existsSync(TRITON_PY)) {
    console.log('triton: skipped: no .venv-triton (python3 -m venv --system-site-packages .venv-triton && .venv-triton/bin/pip install nvidia-pytriton==0.7.0 onnxruntime==1.32.0)\n');
  } else {
    await waitQuiet({ maxS: Number(opts.quietS) });
    const { body, headers } = fashionBody();
    const servers = {
      ferry: () => startFerry(FASHION),
      triton: async () => { const port = await freePort(); return startPeer(TRITON_PY, [join(ROOT, 'bench/triton/serve.py'), '--model', FASHION_ONNX, '--name', 'fashion', '--port', String(port)], `http://127.0.0.1:${port}`, '/v2/health/ready'); },
    };
    const out = {};
    const rows = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, startIt] of Object.entries(servers)) {
        for (const c of [1, 16]) {
          const w = await withServer(startIt, async (url) => {
            await wrk({ url: `${url}/v2/models/fashion/infer`, body, headers, connections: c, durationS: 2 });
            return wrk({ url: `${url}/v2/models/fashion/infer`, body, headers, connections: c, durationS: S });
          });
          (out[`${name} c=${c}`] ??= []).push(w);
          rows.push([name, `c=${c}`, String(r + 1), f(w.completedPerS, 0), f(w.latencyMs.p50, 2), f(w.latencyMs.p99, 2)]);
        }
      }
    }
    const rate = (k) => median(out[k].map((w) => w.completedPerS));
    result.goals.triton = { rounds: out, ratioC1: rate('ferry c=1') / rate('triton c=1'), ratioC16: rate('ferry c=16') / rate('triton c=16') };
    console.log('triton: default model, v2 binary, wrk; Triton = nvidia-pytriton 0.7.0 (tritonserver + Python backend on ONNX Runtime 1.32)');
    console.log(table(['server', 'clients', 'round', 'req/s', 'p50 ms', 'p99 ms'], rows));
    console.log(`ferry / Triton: ${f(result.goals.triton.ratioC1, 1)}x at 1 client, ${f(result.goals.triton.ratioC16, 1)}x at 16\n`);
  }
}

// A partial run (--only) keeps its own file, so it does not overwrite a full run's.
writeResult(only.size === 5 ? 'serving' : `serving-${[...only].join('-')}`, result);
