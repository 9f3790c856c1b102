/**
 * Request bodies: read as the chunks node:http delivers, within max_body_bytes, Content-Encoding
 * undone. Every route gets one Buffer, except routes with `config.chunkedBody` (binary inference),
 * which get an uncompressed body as its chunks (ChunkedBytes): their tensors are copied from there
 * straight into the batch buffer.
 */
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { FerryError } from '../errors.js';
import { ChunkedBytes } from '../tensors/chunked-bytes.js';

/** Replaces fastify's content-type parsers with one for every type (each route decodes its own format). */
export function installBodyParser(app: FastifyInstance, maxBodyBytes: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => {
    readBody(req.headers, payload, maxBodyBytes, (err, chunks, length) => {
      if (err) return done(err, undefined);
      const encoding = req.headers['content-encoding'];
      const chunked = (req.routeOptions.config as { chunkedBody?: boolean } | undefined)?.chunkedBody === true;
      if (chunked && (encoding === undefined || encoding.trim().toLowerCase() === 'identity')) return done(null, new ChunkedBytes(chunks, length));
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
      decodeContentEncoding(encoding, body, maxBodyBytes).then((b) => done(null, b), (e: Error) => done(e, undefined));
    });
  });
}

/**
 * Reads a request body as its chunks, within `limit` bytes: a Content-Length over the limit is
 * refused before a byte is read (413), a body that grows past it is cut off, and a body shorter
 * or longer than its Content-Length is refused (400).
 */
export function readBody(headers: IncomingMessage['headers'], payload: NodeJS.ReadableStream, limit: number, done: (err: Error | null, chunks: Buffer[], length: number) => void): void {
  const declared = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  if (declared !== undefined && declared > limit) {
    done(new FerryError('BODY_TOO_LARGE', `the request body is larger than this server accepts (Content-Length ${declared} > max_body_bytes ${limit})`), [], 0);
    return;
  }
  const chunks: Buffer[] = [];
  let length = 0;
  const finish = (err: Error | null): void => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    done(err, chunks, length);
  };
  const onData = (chunk: Buffer | string): void => {
    const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    length += c.length;
    if (length > limit) {
      finish(new FerryError('BODY_TOO_LARGE', `the request body is larger than this server accepts (over max_body_bytes ${limit})`));
      return;
    }
    chunks.push(c);
  };
  const onEnd = (): void => {
    if (declared !== undefined && !Number.isNaN(declared) && declared !== length) {
      finish(new FerryError('BAD_REQUEST', `the body has ${length} bytes but Content-Length says ${declared}`));
      return;
    }
    finish(null);
  };
  const onError = (err: Error): void => {
    finish(new FerryError('BAD_REQUEST', `the request body could not be read: ${err.message}`, { cause: err }));
  };
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.resume();
}

const inflate = {
  gzip: promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

/** Undoes Content-Encoding (gzip, deflate, br), as tritonclient's request_compression_algorithm sends it; bounded by max_body_bytes. */
export async function decodeContentEncoding(encoding: string | undefined, body: Buffer, maxBodyBytes: number): Promise<Buffer> {
  const name = encoding?.trim().toLowerCase();
  if (!name || name === 'identity') return body;
  if (name !== 'gzip' && name !== 'deflate' && name !== 'br') {
    throw new FerryError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${encoding}" is not supported; send gzip, deflate, br or none`);
  }
  try {
    return await inflate[name](body, { maxOutputLength: maxBodyBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new FerryError('BODY_TOO_LARGE', `the ${name} body inflates past ${maxBodyBytes} bytes (max_body_bytes)`);
    }
    throw new FerryError('BAD_REQUEST', `the body is not valid ${name} data: ${(err as Error).message}`);
  }
}
