// The floor under any Node.js server on this machine: node:http that reads the request body and
// answers a fixed small body, nothing else. bench/serving/run.mjs measures it with the same client
// as ferry, so "ferry's p99 over the floor" is ferry's own cost, and the floor is the machine's.
//
//   node bench/serving/floor-server.mjs PORT [SPIN_MS]
//
// SPIN_MS > 0 burns that much CPU on the event loop per request before answering: a server with
// ferry's per-request work and none of its code, to see what tail this machine gives such a request.
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 8000);
const spinMs = Number(process.argv[3] ?? 0);
const answer = Buffer.from('{"model_name":"floor","outputs":[{"name":"logits","datatype":"FP32","shape":[1,10],"data":[0,0,0,0,0,0,0,0,0,0]}]}');
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    if (spinMs > 0) for (const until = performance.now() + spinMs; performance.now() < until;);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
