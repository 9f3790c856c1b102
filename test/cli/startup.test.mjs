// What a user meets when `ferry serve` cannot start as asked: one line naming the thing at fault and
// what to do, a stable code, exit status 1, no stack; and a repository with one broken model still
// serves the others (--strict fails fast instead).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { cp, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, FASHION, ferry, serveProcess } from '../helpers.mjs';

/** One line on stderr, ending in [CODE], and no stack frames. */
function oneLine(r, code) {
  assert.equal(r.code, 1, r.err);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.err}`);
  assert.match(lines[0], new RegExp(`\\[${code}\\]$`));
  assert.doesNotMatch(r.err, /\n\s+at |node:internal|dist\//);
}

async function tempDir(t) {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-startup-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a port in use: one line saying so, exit 1', async () => {
  const taken = createServer();
  await new Promise((r) => taken.listen(0, '127.0.0.1', r));
  const { port } = taken.address();
  try {
    const r = await ferry(['serve', FIXTURES, '--port', String(port), '--log-level', 'silent']);
    oneLine(r, 'ADDRESS_IN_USE');
    assert.match(r.err, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use: stop the other server or pass --port`));
  } finally {
    taken.close();
  }
});

test('a port out of range and a misspelled flag: one line with a pointer to --help, not the help text', async () => {
  let r = await ferry(['serve', '--port', '99999']);
  oneLine(r, 'BAD_FLAG');
  assert.match(r.err, /--port must be an integer from 0 to 65535 \(got "99999"\)/);
  r = await ferry(['serve', '--max-batch-szie', '8']);
  oneLine(r, 'BAD_FLAG');
  assert.match(r.err, /unknown option --max-batch-szie; did you mean --max-batch-size\? \(ferry serve --help lists the options\)/);
  r = await ferry(['simplify', 'a.onnx', 'b.onnx', '--input-shpe', 'x:1']);
  oneLine(r, 'BAD_FLAG');
  assert.match(r.err, /did you mean --input-shape\?/);
  r = await ferry(['serv']);
  oneLine(r, 'BAD_FLAG');
  assert.match(r.err, /unknown command "serv"; did you mean "serve"\?/);
});

test('an empty .onnx: ferry check\'s diagnosis, not ONNX Runtime\'s source path; --verbose adds the stack', async (t) => {
  const dir = await tempDir(t);
  const empty = join(dir, 'empty.onnx');
  await writeFile(empty, '');
  const r = await ferry(['serve', empty, '--port', '0', '--log-level', 'silent']);
  oneLine(r, 'MODEL_LOAD_FAILED');
  assert.match(r.err, /empty\.onnx cannot be served: it is not an ONNX model: it is an empty file/);
  assert.doesNotMatch(r.err, /onnxruntime_src|model\.cc/);
  const broken = join(dir, 'broken.onnx');
  await writeFile(broken, Buffer.from([0x08, 0x07, 0x12, 0x04, 0x66]));
  const b = await ferry(['serve', broken, '--port', '0', '--log-level', 'silent']);
  oneLine(b, 'MODEL_LOAD_FAILED');
  assert.match(b.err, /broken\.onnx cannot be served: /);
  const verbose = await ferry(['serve', empty, '--port', '0', '--log-level', 'silent', '--verbose']);
  assert.equal(verbose.code, 1);
  assert.match(verbose.err, /\[MODEL_LOAD_FAILED\]\n.*\n\s+at /, 'the stack follows the line');
});

test('one broken model: the others serve and it is UNAVAILABLE with its reason; --strict exits', async (t) => {
  const dir = await tempDir(t);
  await cp(join(FIXTURES, 'scale'), join(dir, 'scale'), { recursive: true });
  await mkdir(join(dir, 'broken', '1'), { recursive: true });
  await writeFile(join(dir, 'broken', '1', 'model.onnx'), 'not a model');
  const { child, url, log } = await serveProcess([dir]);
  try {
    const index = await (await fetch(`${url}/v2/repository/index`, { method: 'POST', body: '{}' })).json();
    const broken = index.find((m) => m.name === 'broken');
    assert.equal(broken.state, 'UNAVAILABLE');
    assert.match(broken.reason, /model\.onnx cannot be served: it is not a valid ONNX model/);
    assert.equal(index.find((m) => m.name === 'scale').state, 'READY');
    assert.match(log(), /model \\"broken\\" is UNAVAILABLE/);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  const strict = await ferry(['serve', dir, '--port', '0', '--strict', '--log-level', 'silent']);
  oneLine(strict, 'MODEL_LOAD_FAILED');
});

test('a model whose batch axis is fixed at 1 serves, with a warning that it will not batch', async (t) => {
  const dir = await tempDir(t);
  const fixed = join(dir, 'fixed.onnx');
  const s = await ferry(['simplify', join(FASHION, '1', 'model.onnx'), fixed, '--input-shape', 'input:1,1,28,28', '--static-batch']);
  assert.equal(s.code, 0, s.err);
  const { child, log } = await serveProcess([fixed]);
  child.kill('SIGTERM');
  await once(child, 'exit');
  assert.match(log(), /max_batch_size 0: requests will not be batched: the batch axis of its inputs is fixed at 1/);
});
