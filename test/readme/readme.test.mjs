// What the README shows is what happens: every `$ command` in its ```sh blocks runs here, in order,
// in a scratch directory (with the repository's examples/ and test-images beside it), and what the
// README shows under it must match the output's shape: the same lines in the same order, numbers
// free to differ, `...` standing for anything. `npx ferry` is this checkout's CLI; `localhost:8000`
// is a `ferry serve` of the bundled model that the test starts, as the Quick start does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BIN, serveProcess } from '../helpers.mjs';
import { parseReadme, shapeMatches } from './readme.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const blocks = parseReadme(readFileSync(join(ROOT, 'README.md'), 'utf8'));
const noTorch = !existsSync('/usr/lib/python3/dist-packages/torch') && 'no Debian python3-torch';

let dir;
let server;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-readme-'));
  for (const name of ['examples', 'bench']) symlinkSync(join(ROOT, name), join(dir, name));
  server = await serveProcess([]);
});
after(async () => {
  server?.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one README command line in bash in the scratch directory; stdout and stderr together. */
function run(command) {
  const port = new URL(server.url).port;
  const line = command
    .replace(/\bnpx ferry\b/g, `node ${BIN}`)
    .replace(/(localhost|127\.0\.0\.1):8000\b/g, `127.0.0.1:${port}`);
  return new Promise((resolve) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', line], { cwd: dir, env: { ...process.env, FORCE_COLOR: '0', NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

test('the README has runnable examples for every command it documents', () => {
  const commands = blocks.flatMap((b) => b.commands.map((c) => c.command));
  for (const verb of ['curl', 'npx ferry export', 'npx ferry inspect', 'npx ferry check', 'npx ferry simplify', 'npx ferry compare', 'npx ferry quantize', 'npx ferry eval', 'npx ferry convert']) {
    assert.ok(commands.some((c) => c.startsWith(verb)), `no \`$ ${verb} ...\` example in the README`);
  }
});

for (const [i, block] of blocks.entries()) {
  const needsTorch = block.commands.some((c) => /ferry (export|compare .*\.py:)/.test(c.command));
  test(`README block ${i + 1} (line ${block.line}): ${block.commands[0].command.slice(0, 70)}`, { skip: needsTorch && noTorch, timeout: 600_000 }, async () => {
    for (const { command, output, expectFailure } of block.commands) {
      const r = await run(command);
      if (expectFailure) assert.notEqual(r.code, 0, `\`${command}\` should fail as the README shows`);
      else assert.equal(r.code, 0, `\`${command}\` exited ${r.code}:\n${r.out}`);
      const mismatch = shapeMatches(output, r.out);
      assert.equal(mismatch, undefined, `\`${command}\`: ${mismatch}\n--- shown in the README:\n${output.join('\n')}\n--- got:\n${r.out}`);
    }
  });
}
