// The seed's C++ path, end to end with ferry's commands: `ferry export ...:make_gate --method
// script --to torchscript` writes the seed's MyDecisionGate (if x.sum() > 0: x, else -x) as
// TorchScript, then `ferry serve gate.pt` serves the bare file on the libtorch engine. A traced
// gate would answer one branch for every input; the scripted one answers both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { libtorch } from '../../dist/engines/libtorch/descriptor.js';
import { post } from '../helpers.mjs';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const PYTORCH_FIXTURES = fileURLToPath(new URL('../fixtures/pytorch/models.py', import.meta.url));
const SYSTEM_PYTHON = '/usr/bin/python3';

// find_spec, not import: importing torch takes seconds, and the export pays that once anyway
const hasTorch = spawnSync(SYSTEM_PYTHON, ['-c', 'import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in ("torch", "numpy")) else 1)'], { stdio: 'ignore' }).status === 0;
const skip = libtorch.unavailable() ?? (!hasTorch && `${SYSTEM_PYTHON} cannot import torch and numpy (apt-get install python3-torch python3-numpy)`);

/** `ferry serve PATH --port 0`, resolved with its URL once it logs that it serves. */
function serve(path) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', path, '--port', '0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ferry serve did not start: ${err}`)); }, 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ferry serving on (http:\/\/[\d.:]+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ url: m[1], stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) }); }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`ferry serve exited (${code}): ${err}${out}`)); });
  });
}

test('seed round trip: ferry export --method script --to torchscript, then ferry serve gate.pt answers both branches', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-seed-ts-'));
  let server;
  try {
    const pt = join(dir, 'gate.pt');
    const exported = await new Promise((resolve) => {
      execFile(process.execPath, [BIN, 'export', `${PYTORCH_FIXTURES}:make_gate`, '--method', 'script', '--to', 'torchscript', '--input-shape', '3,4', '-o', pt, '--python', SYSTEM_PYTHON],
        { timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
    });
    assert.equal(exported.code, 0, exported.stderr + exported.stdout);
    assert.match(exported.stdout, /ferry libtorch [\d.]+ +x\[3,4\] +output +0 +0 +PASS/, 'the export checked the file on the engine ferry serves with');

    server = await serve(pt);
    const meta = await (await fetch(`${server.url}/v2/models/gate`)).json();
    assert.equal(meta.platform, 'pytorch_libtorch');
    assert.deepEqual(meta.inputs, [{ name: 'x', datatype: 'FP32', shape: [3, 4] }]);
    assert.deepEqual(meta.outputs, [{ name: 'output', datatype: 'FP32', shape: [3, 4] }]);

    const x = [0.5, -0.25, 1.5, 2, -1, 0.75, 0.25, -0.5, 1, 1.25, -2, 0.5]; // sum 4
    const infer = (data) => post(`${server.url}/v2/models/gate/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 4], data }] });
    const positive = await infer(x);
    assert.equal(positive.status, 200, positive.text);
    assert.deepEqual(positive.json.outputs[0].data, x, 'x.sum() > 0: x');
    const negative = await infer(x.map((v) => -v));
    assert.deepEqual(negative.json.outputs[0].data, x, 'x.sum() <= 0: -x');
    // and again, now the profiling executor has optimized the graph
    for (let i = 0; i < 3; i++) {
      assert.deepEqual((await infer(x)).json.outputs[0].data, x);
      assert.deepEqual((await infer(x.map((v) => -v))).json.outputs[0].data, x);
    }
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
