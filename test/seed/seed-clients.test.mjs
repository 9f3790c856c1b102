// The seed document's own clients, run unchanged against `ferry serve` on the default model:
// its Flask client (cv2 + multipart /predict), its Sanic client (requests.post /image) and curl -T.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, FASHION } from '../helpers.mjs';

const run = promisify(execFile);
const HERE = fileURLToPath(new URL('.', import.meta.url));
const PYTHON = process.env.FERRY_PYTHON ?? '/usr/bin/python3';

let server;
let dir;
before(async () => {
  // The clients call localhost:8000; if that port is taken here, they are pointed at ours instead.
  try {
    server = await start(FASHION, { port: 8000 });
  } catch {
    server = await start(FASHION);
  }
  dir = await mkdtemp(join(tmpdir(), 'ferry-seed-'));
  await copyFile(join(FASHION, 'samples', 'ankle-boot-rgb.jpg'), join(dir, '1.jpg'));
  for (const f of ['flask_client.py', 'sanic_client.py']) {
    const text = await readFile(join(HERE, f), 'utf8');
    await writeFile(join(dir, f), text.replaceAll('http://localhost:8000', server.url));
  }
});
after(() => server.close());

for (const client of ['flask_client.py', 'sanic_client.py']) {
  test(`the seed's ${client} gets the label`, async () => {
    const { stdout } = await run(PYTHON, [client], { cwd: dir, timeout: 30_000 });
    assert.equal(stdout.trim(), 'class label is: Ankle boot');
  });
}

test('curl -T picture.jpg .../image', async () => {
  const { stdout } = await run('curl', ['-sS', '-T', join(dir, '1.jpg'), `${server.url}/image`], { timeout: 30_000 });
  assert.equal(JSON.parse(stdout).label, 'Ankle boot');
});
