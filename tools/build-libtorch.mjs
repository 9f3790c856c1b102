#!/usr/bin/env node
// Builds the libtorch engine's addon (src/engines/libtorch/native) with node-gyp, against
// libtorch-dev (Debian: headers in /usr/include/torch, libtorch*.so in /usr/lib/<arch>) or the
// libtorch tree FERRY_LIBTORCH names, and Node's own headers (never downloaded).
//
//   npm run build:libtorch                           build it, or say what is missing (exit 1)
//   node tools/build-libtorch.mjs --if-available     the install step: silent when libtorch is absent;
//                                                    a failed build leaves TorchScript off, not the install
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NATIVE = join(ROOT, 'src', 'engines', 'libtorch', 'native');
const ifAvailable = process.argv.includes('--if-available');

function say(line) {
  process.stderr.write(`ferry: ${line}\n`);
}

function stop(line) {
  // In the install step nothing here may fail `npm install`: the engine says what is missing when asked.
  say(line);
  process.exit(ifAvailable ? 0 : 1);
}

/** libtorch's prefix if its headers and library are there. */
function findLibtorch() {
  const prefix = process.env.FERRY_LIBTORCH || '/usr';
  if (!existsSync(join(prefix, 'include', 'torch', 'script.h'))) return undefined;
  const libDirs = [join(prefix, 'lib')];
  if (existsSync(join(prefix, 'lib'))) {
    for (const d of readdirSync(join(prefix, 'lib'))) if (/-linux-gnu/.test(d)) libDirs.push(join(prefix, 'lib', d));
  }
  return libDirs.some((d) => existsSync(join(d, 'libtorch.so'))) ? prefix : undefined;
}

/** A folder whose include/node has Node's headers: this node's install prefix, or /usr (Debian's nodejs). */
function findNodeDir() {
  const candidates = [dirname(dirname(process.execPath)), '/usr', '/usr/local'];
  return candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
}

/** node-gyp: the one npm runs scripts with, else npm's own copy beside this node. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
  ];
  return candidates.find((p) => p && existsSync(p));
}

const libtorch = findLibtorch();
if (!libtorch) {
  if (ifAvailable) process.exit(0); // no libtorch here: nothing to build, nothing to say
  stop('libtorch not found (no include/torch/script.h and libtorch.so under ' +
    `${process.env.FERRY_LIBTORCH || '/usr'}): apt-get install libtorch-dev, or set FERRY_LIBTORCH to a libtorch folder`);
}
const nodedir = findNodeDir();
if (!nodedir) stop(`Node's headers (include/node/node_api.h) are not beside ${process.execPath} nor in /usr: apt-get install libnode-dev, then npm run build:libtorch`);
const nodeGyp = findNodeGyp();
if (!nodeGyp) stop('node-gyp not found (npm ships it): run npm run build:libtorch through npm');

say(`building the libtorch engine against ${libtorch} (node headers in ${nodedir}/include/node); this takes a minute or two`);
const started = Date.now();
const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, `--jobs=${Math.max(1, availableParallelism())}`], {
  cwd: NATIVE,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, FERRY_LIBTORCH: libtorch },
});
if (r.status !== 0) {
  stop(`the libtorch engine did not build (node-gyp exit ${r.status ?? r.signal}); TorchScript serving stays off until npm run build:libtorch succeeds`);
}
say(`built ${join('src', 'engines', 'libtorch', 'native', 'build', 'Release', 'ferry_libtorch.node')} in ${Math.round((Date.now() - started) / 1000)} s`);
