// The error catalogue: every code documented in the README with its status, nothing documented that is not a code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ERRORS, FerryError } from '../dist/errors.js';

const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
const documented = new Map([...readme.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));

test('every error code is documented in README.md with its HTTP status', () => {
  for (const [code, { status, description }] of Object.entries(ERRORS)) {
    assert.ok(documented.has(code), `${code} is missing from the README's error table`);
    assert.equal(documented.get(code), status, `${code}: README says ${documented.get(code)}, the catalogue ${status}`);
    assert.ok(description.length > 10, `${code} has a description`);
  }
  for (const code of documented.keys()) assert.ok(Object.hasOwn(ERRORS, code), `README documents ${code}, which is not in the catalogue`);
});

test('codes are unique and statuses are HTTP error statuses', () => {
  const codes = Object.keys(ERRORS);
  assert.equal(new Set(codes).size, codes.length);
  for (const { status } of Object.values(ERRORS)) assert.ok(status >= 400 && status < 600);
});

test('FerryError carries code, status, headers and cause, and serializes as the v2 error body', () => {
  const cause = new Error('root');
  const e = new FerryError('QUEUE_FULL', 'too busy', { cause, headers: { 'retry-after': '1' } });
  assert.equal(e.status, 503);
  assert.equal(e.cause, cause);
  assert.deepEqual(JSON.parse(JSON.stringify(e)), { error: 'too busy', code: 'QUEUE_FULL' });
  assert.equal(e.headers['retry-after'], '1');
});
