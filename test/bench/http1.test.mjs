// The load generator's lean HTTP/1.1 connection, against loopback servers that frame their answers
// every way HTTP/1.1 allows: split heads, chunked bodies in tiny pieces, interim 1xx, Connection:
// close, and servers that hang up or never answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createServer } from 'node:http';
import { Http1Connection, encodeRequest } from '../../dist/bench/http1.js';
import { runLoadStep } from '../../dist/bench/load.js';

/** A raw TCP server: `answer(requestHead, socket)` writes whatever bytes it likes. Counts connections. */
async function rawServer(answer) {
  const state = { connections: 0, requests: [] };
  const sockets = new Set();
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const body = buf.subarray(end + 4, end + 4 + len).toString();
        buf = buf.subarray(end + 4 + len);
        state.requests.push({ head, body });
        answer(head, socket, state.requests.length);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    state,
    close: () => new Promise((r) => {
      server.close(() => r());
      for (const s of sockets) s.destroy();
    }),
  };
}

/** Writes `bytes` a few at a time, so that every boundary falls inside some read. */
async function dribble(socket, bytes, step = 3) {
  for (let i = 0; i < bytes.length; i += step) {
    socket.write(bytes.subarray(i, i + step));
    await new Promise((r) => setTimeout(r, 1));
  }
}

function send(conn, request) {
  return new Promise((resolve) => conn.send(request, (status, err) => resolve({ status, err })));
}

test('encodeRequest writes one request with Host and Content-Length, and refuses header injection', () => {
  const bytes = encodeRequest('127.0.0.1:8000', '/v2/models/m/infer', { 'content-type': 'application/json', 'content-length': '999' }, Buffer.from('{"a":1}'));
  assert.equal(bytes.toString(), 'POST /v2/models/m/infer HTTP/1.1\r\nhost: 127.0.0.1:8000\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{"a":1}');
  assert.throws(() => encodeRequest('h', '/', { 'x-a': 'b\r\nevil: 1' }, Buffer.alloc(0)), /line break/);
});

test('answers framed by Content-Length and by chunks, delivered a few bytes at a time, on one keep-alive connection', async () => {
  const srv = await rawServer(async (_head, socket, n) => {
    const answers = [
      'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world',
      'HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nRetry-After: 1\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
      'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
    ];
    await dribble(socket, Buffer.from(answers[(n - 1) % answers.length], 'latin1'));
  });
  try {
    const conn = new Http1Connection('127.0.0.1', srv.port);
    const req = encodeRequest(`127.0.0.1:${srv.port}`, '/x', {}, Buffer.from('body'));
    assert.deepEqual(await send(conn, req), { status: 200, err: undefined });
    assert.deepEqual(await send(conn, req), { status: 503, err: undefined });
    assert.deepEqual(await send(conn, req), { status: 204, err: undefined });
    assert.deepEqual(await send(conn, req), { status: 200, err: undefined });
    assert.deepEqual(await send(conn, req), { status: 200, err: undefined });
    assert.equal(srv.state.connections, 1);
    assert.equal(srv.state.requests.length, 5);
    assert.equal(srv.state.requests[0].body, 'body');
    conn.close();
  } finally {
    await srv.close();
  }
});

test('Connection: close ends the socket after the answer, and the next request reconnects', async () => {
  const srv = await rawServer((_head, socket) => {
    socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
  });
  try {
    const conn = new Http1Connection('127.0.0.1', srv.port);
    const req = encodeRequest('h', '/', {}, Buffer.alloc(0));
    for (let i = 0; i < 3; i++) assert.deepEqual(await send(conn, req), { status: 200, err: undefined });
    assert.equal(srv.state.connections, 3);
  } finally {
    await srv.close();
  }
});

test('a server that hangs up mid-answer, or answers garbage, fails that request and not the next', async () => {
  const srv = await rawServer((_head, socket, n) => {
    if (n === 1) socket.destroy();
    else if (n === 2) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', () => socket.destroy());
    else if (n === 3) socket.write('SPDY/3 nonsense\r\n\r\n');
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  try {
    const conn = new Http1Connection('127.0.0.1', srv.port);
    const req = encodeRequest('h', '/', {}, Buffer.alloc(0));
    const a = await send(conn, req);
    assert.equal(a.status, 0);
    assert.match(a.err.message, /closed the connection/);
    const b = await send(conn, req);
    assert.equal(b.status, 0);
    const c = await send(conn, req);
    assert.equal(c.status, 0);
    assert.match(c.err.message, /malformed answer/);
    assert.deepEqual(await send(conn, req), { status: 200, err: undefined });
    conn.close();
  } finally {
    await srv.close();
  }
});

test('a refused connection fails the request with the socket error', async () => {
  const port = await new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const r = await send(new Http1Connection('127.0.0.1', port), encodeRequest('h', '/', {}, Buffer.alloc(0)));
  assert.equal(r.status, 0);
  assert.equal(r.err.code, 'ECONNREFUSED');
});

test('requests past --timeout-ms count as "timeout", and the step still ends on time', async () => {
  const srv = await rawServer(() => { /* never answers */ });
  try {
    const t0 = performance.now();
    const r = await runLoadStep({ kind: 'concurrency', concurrency: 2 }, {
      url: `http://127.0.0.1:${srv.port}`, durationS: 0.6, warmupS: 0, timeoutMs: 100,
      requests: [{ path: '/', headers: {}, body: Buffer.alloc(0), inferences: 1 }],
    });
    assert.ok(performance.now() - t0 < 2500);
    assert.equal(r.ok, 0);
    assert.ok(r.errors.timeout >= 6, JSON.stringify(r.errors));
  } finally {
    await srv.close();
  }
});

test('against node:http, every request body arrives whole, large bodies included', async () => {
  const sizes = [];
  const server = createServer((req, res) => {
    let n = 0;
    req.on('data', (d) => { n += d.length; });
    req.on('end', () => { sizes.push(n); res.end(JSON.stringify({ n })); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const big = Buffer.alloc(3 * 224 * 224 * 4, 7);
    const r = await runLoadStep({ kind: 'concurrency', concurrency: 4 }, {
      url: `http://127.0.0.1:${server.address().port}`, durationS: 0.5, warmupS: 0,
      requests: [{ path: '/big', headers: { 'content-type': 'application/octet-stream' }, body: big, inferences: 1 }],
    });
    assert.ok(r.ok > 4, `ok ${r.ok}`);
    assert.deepEqual(r.errors, {});
    assert.ok(sizes.every((n) => n === big.length));
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
