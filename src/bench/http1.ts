/**
 * A lean HTTP/1.1 client connection for the load generator: one keep-alive TCP socket, one request
 * in flight, each request written as one prebuilt Buffer, and each answer parsed only as far as
 * finding its status and its end (Content-Length or chunked). The load generator shares the
 * machine with the server it measures, so what it costs per request is taken from the server:
 * this costs a fraction of a general-purpose client (no per-request headers object, promise,
 * stream or body buffer; answers are counted, not kept), and so perturbs the figures less — the
 * reason Triton's perf_analyzer is written in C++.
 */
import net from 'node:net';

/** Called once per request: the HTTP status, or 0 with the error when the exchange failed. */
export type Http1Callback = (status: number, err: Error | undefined) => void;

const CRLF = 0x0a; // we look for "\n" and check the "\r" before it
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const MAX_HEAD_BYTES = 64 * 1024;

/** Prebuilds the bytes of one request: request line, Host, the given headers, Content-Length, body. */
export function encodeRequest(host: string, path: string, headers: Readonly<Record<string, string>>, body: Buffer): Buffer {
  let head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`header ${JSON.stringify(name)} has a line break`);
    if (name.toLowerCase() === 'content-length' || name.toLowerCase() === 'host') continue;
    head += `${name}: ${value}\r\n`;
  }
  head += `content-length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

const enum State { Idle, Head, Length, ChunkSize, ChunkData, ChunkDataEnd, Trailers }

export class Http1Connection {
  readonly #port: number;
  readonly #host: string;
  #socket: net.Socket | undefined;
  #callback: Http1Callback | undefined;
  #state = State.Idle;
  #status = 0;
  /** Bytes of the answer's head received so far (only when the head spans reads). */
  #head: Buffer | undefined;
  /** Body bytes (or chunk bytes) still to come. */
  #remaining = 0;
  /** The chunk-size line or trailer line being read, when it spans reads. */
  #line = '';
  #close = false;
  /** performance.now() when the request in flight was sent (for timeouts). */
  startedAt = 0;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  get busy(): boolean {
    return this.#callback !== undefined;
  }

  /** Sends a prebuilt request (from encodeRequest); `callback` runs once when the answer has been read in full or the exchange fails. */
  send(request: Buffer, callback: Http1Callback): void {
    if (this.#callback) throw new Error('Http1Connection: a request is already in flight');
    this.#callback = callback;
    this.#state = State.Head;
    this.#head = undefined;
    this.#close = false;
    this.startedAt = performance.now();
    const socket = this.#socket ?? this.#connect();
    socket.write(request);
  }

  /** Fails the request in flight with `err` (e.g. a timeout) and closes the socket; the next send reconnects. */
  abort(err: Error): void {
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.destroy();
    this.#finish(0, err);
  }

  /** Closes the socket; a request in flight fails. */
  close(): void {
    this.abort(new Error('connection closed by the load generator'));
  }

  #connect(): net.Socket {
    const socket = net.connect({ host: this.#host, port: this.#port, noDelay: true });
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('error', (err) => this.#onEnd(socket, err));
    socket.on('close', () => this.#onEnd(socket, new Error('the server closed the connection')));
    return socket;
  }

  #onEnd(socket: net.Socket, err: Error): void {
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    socket.destroy();
    this.#finish(0, err);
  }

  #finish(status: number, err: Error | undefined): void {
    const cb = this.#callback;
    this.#callback = undefined;
    this.#state = State.Idle;
    cb?.(status, err);
  }

  #fail(socket: net.Socket, message: string): void {
    this.#onEnd(socket, new Error(`malformed answer: ${message}`));
  }

  #onData(socket: net.Socket, chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && socket === this.#socket) {
      switch (this.#state) {
        case State.Idle:
          this.#fail(socket, `${chunk.length - at} bytes with no request in flight`);
          return;
        case State.Head: {
          let head: Buffer;
          let start = 0;
          let end: number;
          if (this.#head === undefined) {
            const i = chunk.indexOf(HEAD_END, at);
            if (i < 0) {
              this.#head = chunk.subarray(at);
              return;
            }
            head = chunk;
            start = at;
            end = i;
            at = i + 4;
          } else {
            const joined = Buffer.concat([this.#head, chunk.subarray(at)]);
            const i = joined.indexOf(HEAD_END);
            if (i < 0) {
              if (joined.length > MAX_HEAD_BYTES) return this.#fail(socket, `no end of head in ${joined.length} bytes`);
              this.#head = joined;
              return;
            }
            at += i + 4 - this.#head.length;
            head = joined;
            end = i;
            this.#head = undefined;
          }
          if (!this.#parseHead(head.toString('latin1', start, end))) return this.#fail(socket, JSON.stringify(head.toString('latin1', start, Math.min(end, start + 80))));
          break;
        }
        case State.Length: {
          const n = Math.min(this.#remaining, chunk.length - at);
          this.#remaining -= n;
          at += n;
          if (this.#remaining === 0) this.#complete(socket);
          break;
        }
        case State.ChunkSize:
        case State.Trailers:
        case State.ChunkDataEnd: {
          const nl = chunk.indexOf(CRLF, at);
          const piece = chunk.toString('latin1', at, nl < 0 ? chunk.length : nl);
          if (nl < 0) {
            this.#line += piece;
            if (this.#line.length > MAX_HEAD_BYTES) return this.#fail(socket, 'chunk line too long');
            return;
          }
          at = nl + 1;
          const line = (this.#line + piece).replace(/\r$/, '');
          this.#line = '';
          if (this.#state === State.ChunkDataEnd) {
            if (line !== '') return this.#fail(socket, 'no CRLF after chunk data');
            this.#state = State.ChunkSize;
          } else if (this.#state === State.Trailers) {
            if (line === '') this.#complete(socket);
          } else {
            const size = Number.parseInt(line.split(';', 1)[0]!, 16);
            if (!Number.isFinite(size) || size < 0) return this.#fail(socket, `chunk size ${JSON.stringify(line)}`);
            if (size === 0) this.#state = State.Trailers;
            else {
              this.#remaining = size;
              this.#state = State.ChunkData;
            }
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.#remaining, chunk.length - at);
          this.#remaining -= n;
          at += n;
          if (this.#remaining === 0) this.#state = State.ChunkDataEnd;
          break;
        }
      }
    }
  }

  /** Reads the status line and the headers that frame the body; false when the head is not HTTP. */
  #parseHead(head: string): boolean {
    if (!head.startsWith('HTTP/1.')) return false;
    const status = Number(head.slice(9, 12));
    if (!Number.isInteger(status) || status < 100) return false;
    if (status < 200) {
      // 1xx: an interim answer; the real one follows.
      this.#state = State.Head;
      return true;
    }
    this.#status = status;
    const lower = head.toLowerCase();
    this.#close = head.startsWith('HTTP/1.0') ? !/\r\nconnection:[ \t]*keep-alive/.test(lower) : /\r\nconnection:[ \t]*close/.test(lower);
    if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) {
      this.#state = State.ChunkSize;
      return true;
    }
    const m = /\r\ncontent-length:[ \t]*(\d+)/.exec(lower);
    if (m) this.#remaining = Number(m[1]);
    else if (status === 204 || status === 304) this.#remaining = 0;
    else return false; // no framing: we would have to read until close, which a load test should not meet
    this.#state = State.Length;
    if (this.#remaining === 0) this.#complete(this.#socket!);
    return true;
  }

  #complete(socket: net.Socket): void {
    if (this.#close) {
      this.#socket = undefined;
      socket.destroy();
    }
    this.#finish(this.#status, undefined);
  }
}
