#!/usr/bin/env node
// `npm install`'s prepare step: compile src/ to dist/ with tsc, unless dist/ is already newer than
// every source file. npx runs prepare again on first use (`npx ferry serve` right after
// `npm install`); with this it costs a directory walk, not a 30 s compile.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', 'cli', 'main.js');

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), s.mtimeMs);
}

const sources = ['src', 'tsconfig.json', 'package.json'].map((p) => join(root, p)).filter(existsSync);
if (existsSync(stamp) && process.env.FERRY_FORCE_BUILD !== '1') {
  const built = statSync(stamp).mtimeMs;
  if (sources.every((p) => newest(p) <= built)) process.exit(0);
}
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
process.exit(r.status ?? 1);
