#!/usr/bin/env node
// Sends one command to HAProxy's stats socket (run/haproxy.sock) and prints the answer:
//   node deploy/local/haproxy-ctl.mjs 'show stat'
//   node deploy/local/haproxy-ctl.mjs 'disable server replicas/r1'
// (socat or nc -U would do the same; node is there wherever ferry is.)
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [command, socket = join(dirname(fileURLToPath(import.meta.url)), 'run', 'haproxy.sock')] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: haproxy-ctl.mjs COMMAND [SOCKET]\n');
  process.exit(2);
}
const conn = createConnection(socket);
let out = '';
conn.on('connect', () => conn.end(`${command}\n`));
conn.on('data', (d) => { out += d; });
conn.on('error', (err) => {
  process.stderr.write(`haproxy-ctl: ${socket}: ${err.message} (is HAProxy running? deploy/local/up.sh starts it)\n`);
  process.exit(1);
});
conn.on('close', () => process.stdout.write(out));
