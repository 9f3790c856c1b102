/**
 * multipart/form-data (RFC 7578) over a body already in memory: each part's bytes are a view into
 * the body, found with Buffer.indexOf (native), not copied. The seed's /predict client sends two
 * parts; a streaming parser (busboy) built for bodies of any size cost ~0.15-0.25 ms a request
 * on a 38 KB body here, more than the rest of the route's parsing together.
 */
import { FerryError } from '../errors.js';

/** Parts a body may have; more is refused (a /predict body has two). */
const MAX_PARTS = 64;

const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');

/** The boundary named by a multipart/form-data Content-Type, or a BAD_REQUEST naming what is wrong. */
export function multipartBoundary(contentType: string): string {
  const boundary = headerParameter(contentType, 'boundary');
  if (!boundary) throw bad('the Content-Type names no boundary');
  if (boundary.length > 70) throw bad('the boundary is longer than 70 characters');
  return boundary;
}

/**
 * The form fields of `body` by name, in order (a name sent twice keeps its first part).
 * Preamble and epilogue are ignored; a body without its closing delimiter is refused.
 */
export function parseMultipart(body: Buffer, contentType: string): Map<string, Buffer> {
  const boundary = multipartBoundary(contentType);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const parts = new Map<string, Buffer>();
  // The first delimiter may open the body (no CRLF before it) or follow a preamble.
  let at = body.subarray(0, delimiter.length - 2).equals(delimiter.subarray(2)) ? 0 : body.indexOf(delimiter);
  if (at < 0) throw bad(`no part starts with the boundary "${boundary}"`);
  at += at === 0 ? delimiter.length - 2 : delimiter.length;
  for (let count = 0; ; count++) {
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts; // "--": the closing delimiter
    at = skipLinearWhitespace(body, at);
    if (!body.subarray(at, at + 2).equals(CRLF)) throw bad('a boundary line does not end with CRLF');
    if (count === MAX_PARTS) throw bad(`more than ${MAX_PARTS} parts`);
    const headersEnd = body.indexOf(HEADERS_END, at);
    if (headersEnd < 0) throw bad('a part\'s headers do not end');
    const name = fieldName(body.toString('latin1', at + 2, headersEnd));
    const start = headersEnd + HEADERS_END.length;
    const end = body.indexOf(delimiter, start);
    if (end < 0) throw bad('the body ends inside a part (no closing boundary)');
    if (!parts.has(name)) parts.set(name, body.subarray(start, end));
    at = end + delimiter.length;
  }
}

/** The field name from a part's headers (Content-Disposition: form-data; name="..."). */
function fieldName(headers: string): string {
  for (const line of headers.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue;
    const name = headerParameter(line.slice(colon + 1), 'name');
    if (name === undefined) throw bad('a part\'s Content-Disposition has no name');
    return name;
  }
  throw bad('a part has no Content-Disposition header');
}

/** `; <name>=value` in a header value: the value quoted (group 1, backslash escapes in it) or a token (group 2). */
const PARAMETERS = {
  boundary: /;\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]+))/i,
  name: /;\s*name\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]+))/i,
};

/** A parameter of a header value, its backslash escapes undone; undefined when absent. */
function headerParameter(value: string, name: keyof typeof PARAMETERS): string | undefined {
  const m = PARAMETERS[name].exec(value);
  return m ? (m[1]?.replace(/\\(.)/g, '$1') ?? m[2]!) : undefined;
}

/** Transport padding after a boundary: spaces and tabs before its CRLF (RFC 2046 5.1.1). */
function skipLinearWhitespace(body: Buffer, at: number): number {
  while (body[at] === 0x20 || body[at] === 0x09) at++;
  return at;
}

function bad(what: string): FerryError {
  return new FerryError('BAD_REQUEST', `bad multipart body: ${what}`);
}
