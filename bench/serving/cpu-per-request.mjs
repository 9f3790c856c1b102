#!/usr/bin/env node
// What a request costs the server in CPU time, by route: ferry serve (default model) driven by wrk
// on the seed's /predict (multipart meta + raw 112x112 BGR blob) and on v2 binary, the server's
// CPU time (all threads, and its event-loop thread alone) read from /proc before and after.
// CPU per request is steadier than req/s on a machine whose speed drifts, and it is what a change
// to the hot path changes. With --baseline DIR (another built checkout, e.g. a `git worktree` of
// the commit before) both builds are measured in alternating rounds, A B A B; with --parameter
// NAME=VALUE, this build serves the default model as it is and with that engine parameter set
// (e.g. inline=true: every batch on the event loop), in alternating rounds.
//
//   node bench/serving/cpu-per-request.mjs [--baseline /tmp/old | --parameter inline=true] [--rounds 2] [--seconds 8] [--connections 1,16]
//
// The client shares the cores with the server. Writes bench/results/serving-cpu-per-request.json.
import { join } from 'node:path';
import { ROOT, start, freePort, waitReady, machine, writeResult, table, f, flags, requireBuild, statCpuS, fashionCopy } from '../lib.mjs';
import { wrk, binaryInferBody } from '../clients.mjs';

requireBuild();
const { readBgr } = await import('../../dist/bench/target.js');
const { predictRequest } = await import('../../dist/bench/payload.js');
const opts = flags(process.argv.slice(2), { baseline: '', parameter: '', rounds: 2, seconds: 8, connections: '1,16' });
const FASHION = join(ROOT, 'examples', 'fashion');
/** [label, checkout, model directory] */
const builds = [...(opts.baseline ? [['baseline', String(opts.baseline), FASHION]] : []), ['this', ROOT, FASHION]];
if (opts.parameter) builds.push([String(opts.parameter), ROOT, withParameter(String(opts.parameter))]);

/** A copy of the default model with one more engine parameter (NAME=VALUE) in its config. */
function withParameter(setting) {
  const [name, value] = setting.split('=');
  if (!name || value === undefined) throw new Error(`--parameter ${setting}: NAME=VALUE`);
  return fashionCopy((text) => text.replace(/^parameters:$/m, `parameters:\n  ${name}: ${JSON.stringify(value)}`));
}
const clients = String(opts.connections).split(',').map(Number);

const m = machine();
console.log(`${m.cpu}, ${m.cores} cores, flags ${m.cpuFlags.join(' ')}; node ${m.node}; load average ${m.loadAverageAtStart.join(' ')}`);
console.log('wrk runs on the same cores as the server\n');

const { pixels, height, width } = await readBgr(join(FASHION, 'samples', 'ankle-boot-rgb.jpg'));
const predict = predictRequest(pixels, height, width, 3);
const binary = binaryInferBody([{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: new Float32Array(784).fill(0.25) }], ['logits']);
const routes = [
  ['/predict', '/predict', predict.body, { 'Content-Type': predict.headers['content-type'] }],
  ['v2 binary', '/v2/models/fashion/infer', binary.body, binary.headers],
];

/** CPU seconds (user + system) of the whole process and of its main thread. */
const cpuSeconds = (pid) => ({ all: statCpuS(`/proc/${pid}/stat`), main: statCpuS(`/proc/${pid}/task/${pid}/stat`) });

const rows = [];
const runs = [];
for (let r = 0; r < Number(opts.rounds); r++) {
  for (const [build, root, model] of builds) {
    const port = await freePort();
    const child = start(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'serve', model, '--port', String(port), '--log-level', 'warn']);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(`${url}/v2/health/ready`, child);
      for (const [route, path, body, headers] of routes) {
        for (const c of clients) {
          await wrk({ url: url + path, body, headers, connections: c, durationS: 2 });
          const a = cpuSeconds(child.pid);
          const w = await wrk({ url: url + path, body, headers, connections: c, durationS: Number(opts.seconds) });
          const b = cpuSeconds(child.pid);
          const perRequestUs = { all: ((b.all - a.all) / w.requests) * 1e6, main: ((b.main - a.main) / w.requests) * 1e6 };
          runs.push({ round: r + 1, build, route, connections: c, requestsPerS: w.requestsPerS, latencyMs: w.latencyMs, perRequestUs });
          rows.push([String(r + 1), build, route, `c=${c}`, f(w.requestsPerS, 0), f(w.latencyMs.p50, 2), f(w.latencyMs.p99, 2), f(perRequestUs.all, 0), f(perRequestUs.main, 0)]);
          console.error(rows.at(-1).join('  '));
        }
      }
    } finally {
      await child.stop();
    }
  }
}
console.log(table(['round', 'build', 'route', 'clients', 'req/s', 'p50 ms', 'p99 ms', 'cpu us/req', 'main thread us/req'], rows));
writeResult('serving-cpu-per-request', { machine: m, builds: Object.fromEntries(builds.map(([label, root, model]) => [label, { root, model }])), seconds: Number(opts.seconds), runs });
