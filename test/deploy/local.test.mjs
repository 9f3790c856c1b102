// deploy/local: real HAProxy in front of real `ferry serve` replicas, under 16 clients of load.
// A rolling restart loses no request; neither does `kill -9` of a replica (HAProxy retries it on
// the other), and HAProxy's stats show the killed replica DOWN.
// Skipped, with the reason, where haproxy or curl is not installed (.ci/run installs both).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LOCAL = join(ROOT, 'deploy', 'local');
const RUN = join(LOCAL, 'run');
const missing = ['haproxy', 'curl'].filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
const skip = missing.length ? `${missing.join(' and ')} not installed (apt-get install ${missing.join(' ')})` : false;

/** Runs a deploy/local script; resolves with its exit code and output, rejects after timeoutMs. */
function script(name, args = [], timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(LOCAL, name), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${name} ran past ${timeoutMs} ms:\n${out}`)); }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const pidOf = (name) => Number(readFileSync(join(RUN, `${name}.pid`), 'utf8'));
/** Running, and not a zombie (a killed replica whose parent has gone waits for init to reap it). */
function isAlive(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** HAProxy's `show stat` rows for the replicas: { r1: { status, ... } }. */
function stats() {
  const r = spawnSync(process.execPath, [join(LOCAL, 'haproxy-ctl.mjs'), 'show stat'], { encoding: 'utf8' });
  const lines = r.stdout.trim().split('\n');
  const head = lines[0].replace(/^# /, '').split(',');
  const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [head[i], v])));
  return Object.fromEntries(rows.filter((x) => x.pxname === 'replicas' && /^r\d+$/.test(x.svname)).map((x) => [x.svname, x]));
}

/**
 * 16 clients, each with one request at a time on its own keep-alive connection, until stop():
 * every request must come back 200 with the model's answer; anything else is a lost request.
 */
function load(url, clients = 16) {
  const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: new Array(784).fill(0.5) }] });
  const dispatcher = new Agent({ connections: clients, keepAliveTimeout: 30_000 });
  const result = { ok: 0, lost: [] };
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const res = await fetch(`${url}/v2/models/fashion/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher });
        const text = await res.text();
        if (res.status === 200 && JSON.parse(text).outputs?.[0]?.data?.length === 10) result.ok++;
        else result.lost.push(`${res.status} ${text.slice(0, 120)}`);
      } catch (err) {
        result.lost.push(`${err.message}: ${err.cause?.code ?? err.cause?.message ?? ''}`);
      }
    }
  });
  return {
    result,
    async stop() {
      running = false;
      await Promise.all(loops);
      await dispatcher.close();
      return result;
    },
  };
}

let url;
before(async () => {
  if (skip) return;
  const port = await freePort();
  const up = await script('up.sh', ['--replicas', '2', '--port', String(port)]);
  assert.equal(up.code, 0, up.out);
  url = `http://127.0.0.1:${port}`;
});
after(async () => {
  if (skip) return;
  const pids = ['haproxy', 'replica-1', 'replica-2'].filter((n) => existsSync(join(RUN, `${n}.pid`))).map(pidOf);
  const down = await script('down.sh');
  assert.equal(down.code, 0, down.out);
  for (const pid of pids) assert.ok(!isAlive(pid), `down.sh stopped pid ${pid}`);
  assert.ok(!existsSync(join(RUN, 'haproxy.pid')) && !existsSync(join(RUN, 'replica-1.pid')), 'down.sh removed the PID files');
});

test('up.sh: PID files where they belong, every process alive, HAProxy sees both replicas UP and answers', { skip }, async () => {
  for (const name of ['haproxy', 'replica-1', 'replica-2']) assert.ok(isAlive(pidOf(name)), `${name}.pid names a live process`);
  const s = stats();
  assert.deepEqual(Object.keys(s).sort(), ['r1', 'r2']);
  for (const r of Object.values(s)) assert.equal(r.status, 'UP');
  assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
  const again = await script('up.sh', ['--replicas', '1', '--port', String(await freePort())]);
  assert.equal(again.code, 1);
  assert.match(again.out, /already running .*down\.sh first/);
});

test('rolling-restart.sh under 16 clients: every replica replaced, 0 requests lost', { skip }, async () => {
  const before = [pidOf('replica-1'), pidOf('replica-2')];
  const l = load(url);
  await sleep(1000);
  const roll = await script('rolling-restart.sh');
  await sleep(1000);
  const r = await l.stop();
  assert.equal(roll.code, 0, roll.out);
  const afterPids = [pidOf('replica-1'), pidOf('replica-2')];
  for (let i = 0; i < 2; i++) {
    assert.notEqual(afterPids[i], before[i], `replica ${i + 1} was replaced`);
    assert.ok(!isAlive(before[i]), `the old replica ${i + 1} exited`);
    assert.ok(isAlive(afterPids[i]), `the new replica ${i + 1} runs`);
  }
  assert.deepEqual(r.lost, [], `${r.lost.length} of ${r.ok + r.lost.length} requests lost`);
  assert.ok(r.ok > 50, `requests were served during the restart (${r.ok})`);
  for (const s of Object.values(stats())) assert.equal(s.status, 'UP');
});

test('kill -9 of a replica under 16 clients: 0 requests lost (HAProxy retries them on the other), and its stats show it DOWN', { skip }, async (t) => {
  const victim = pidOf('replica-1');
  const l = load(url);
  await sleep(1000);
  process.kill(victim, 'SIGKILL');
  const t0 = performance.now();
  let status = 'UP';
  while (status !== 'DOWN' && performance.now() - t0 < 10_000) {
    await sleep(100);
    status = stats().r1.status;
  }
  const downMs = Math.round(performance.now() - t0);
  await sleep(1000);
  const r = await l.stop();
  const s = stats();
  t.diagnostic(`r1 DOWN after ${downMs} ms; served ${r.ok}; HAProxy retries ${s.r1.wretr}, redispatches ${s.r1.wredis}, connection errors ${s.r1.econ}`);
  assert.equal(s.r1.status, 'DOWN', `r1 shows DOWN in HAProxy's stats (check: ${s.r1.check_status})`);
  assert.equal(s.r2.status, 'UP');
  assert.deepEqual(r.lost, [], `${r.lost.length} of ${r.ok + r.lost.length} requests lost`);
  assert.ok(r.ok > 50, `requests were served (${r.ok})`);
  const status_ = await script('status.sh');
  assert.match(status_.out, /^r1\s+\d+\s+DOWN/m, status_.out);
});
