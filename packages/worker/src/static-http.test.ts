import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptedCodings, coalesceRanges, evaluatePreconditions, ifRangeMatches, makeEtag, parseRange } from './static-http.js';

const MTIME = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const CURRENT = { etag: makeEtag(1000, MTIME), mtimeMs: MTIME };
const LAST_MODIFIED = new Date(MTIME).toUTCString();
const EARLIER = new Date(MTIME - 60_000).toUTCString();

test('etag is strong and changes with size and time', () => {
  assert.match(CURRENT.etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.notEqual(makeEtag(1001, MTIME), CURRENT.etag);
  assert.notEqual(makeEtag(1000, MTIME + 0.001), CURRENT.etag);
  assert.notEqual(makeEtag(1000, MTIME, 'br'), CURRENT.etag);
});

test('if-none-match star and lists give 304', () => {
  assert.equal(evaluatePreconditions({ 'if-none-match': '*' }, CURRENT), 304);
  assert.equal(evaluatePreconditions({ 'if-none-match': `"x", ${CURRENT.etag}, "y"` }, CURRENT), 304);
  assert.equal(evaluatePreconditions({ 'if-none-match': `W/${CURRENT.etag}` }, CURRENT), 304);
  assert.equal(evaluatePreconditions({ 'if-none-match': '"x", "y"' }, CURRENT), 'ok');
});

test('if-none-match wins over if-modified-since', () => {
  assert.equal(evaluatePreconditions({ 'if-none-match': '"x"', 'if-modified-since': LAST_MODIFIED }, CURRENT), 'ok');
});

test('if-modified-since compares whole seconds', () => {
  assert.equal(evaluatePreconditions({ 'if-modified-since': LAST_MODIFIED }, CURRENT), 304);
  assert.equal(evaluatePreconditions({ 'if-modified-since': EARLIER }, CURRENT), 'ok');
  assert.equal(evaluatePreconditions({ 'if-modified-since': 'not a date' }, CURRENT), 'ok');
});

test('if-match failures give 412', () => {
  assert.equal(evaluatePreconditions({ 'if-match': '"other"' }, CURRENT), 412);
  assert.equal(evaluatePreconditions({ 'if-match': `W/${CURRENT.etag}` }, CURRENT), 412, 'weak tags never match strongly');
  assert.equal(evaluatePreconditions({ 'if-match': '*' }, CURRENT), 'ok');
  assert.equal(evaluatePreconditions({ 'if-match': `"a", ${CURRENT.etag}` }, CURRENT), 'ok');
});

test('if-unmodified-since applies without if-match', () => {
  assert.equal(evaluatePreconditions({ 'if-unmodified-since': EARLIER }, CURRENT), 412);
  assert.equal(evaluatePreconditions({ 'if-unmodified-since': LAST_MODIFIED }, CURRENT), 'ok');
  assert.equal(evaluatePreconditions({ 'if-match': CURRENT.etag, 'if-unmodified-since': EARLIER }, CURRENT), 'ok', 'if-match takes precedence');
});

test('if-match is checked before if-none-match', () => {
  assert.equal(evaluatePreconditions({ 'if-match': '"other"', 'if-none-match': '*' }, CURRENT), 412);
});

test('if-range needs a strong match or the exact date', () => {
  assert.equal(ifRangeMatches(undefined, CURRENT), true);
  assert.equal(ifRangeMatches(CURRENT.etag, CURRENT), true);
  assert.equal(ifRangeMatches('"stale"', CURRENT), false);
  assert.equal(ifRangeMatches(`W/${CURRENT.etag}`, CURRENT), false);
  assert.equal(ifRangeMatches(LAST_MODIFIED, CURRENT), true);
  assert.equal(ifRangeMatches(EARLIER, CURRENT), false);
});

test('range forms against a 1000-byte file', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), { ranges: [{ start: 0, end: 99 }], requested: 1 });
  assert.deepEqual(parseRange('bytes=-100', 1000), { ranges: [{ start: 900, end: 999 }], requested: 1 });
  assert.deepEqual(parseRange('bytes=-5000', 1000), { ranges: [{ start: 0, end: 999 }], requested: 1 });
  assert.deepEqual(parseRange('bytes=990-', 1000), { ranges: [{ start: 990, end: 999 }], requested: 1 });
  assert.deepEqual(parseRange('bytes=990-5000', 1000), { ranges: [{ start: 990, end: 999 }], requested: 1 });
  assert.deepEqual(parseRange('bytes= 0-1 , 5-6', 1000), { ranges: [{ start: 0, end: 1 }, { start: 5, end: 6 }], requested: 2 });
});

test('invalid range headers are ignored', () => {
  for (const header of ['bytes=5-2', 'bytes=abc', 'items=0-1', 'bytes=-', 'bytes=', 'bytes=1-2-3', 'bytes=0-1,9-3']) {
    assert.equal(parseRange(header, 1000), 'ignore', header);
  }
  assert.equal(parseRange(undefined, 1000), 'ignore');
});

test('ranges past the end are unsatisfiable', () => {
  assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 1000), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-', 0), 'unsatisfiable');
  assert.equal(parseRange('bytes=-100', 0), 'unsatisfiable');
  assert.deepEqual(parseRange('bytes=2000-3000,0-0', 1000), { ranges: [{ start: 0, end: 0 }], requested: 2 });
});

test('overlapping ranges coalesce', () => {
  assert.deepEqual(coalesceRanges([{ start: 0, end: 999 }, { start: 0, end: 999 }]), [{ start: 0, end: 999 }]);
  assert.deepEqual(coalesceRanges([{ start: 50, end: 60 }, { start: 0, end: 10 }, { start: 11, end: 20 }]), [{ start: 0, end: 20 }, { start: 50, end: 60 }]);
});

test('accept-encoding ranks br before gzip', () => {
  assert.deepEqual(acceptedCodings('gzip, deflate, br'), ['br', 'gzip']);
  assert.deepEqual(acceptedCodings('gzip;q=1, br;q=0.5'), ['gzip', 'br']);
  assert.deepEqual(acceptedCodings('br;q=0, gzip'), ['gzip']);
  assert.deepEqual(acceptedCodings('*'), ['br', 'gzip']);
  assert.deepEqual(acceptedCodings('identity'), []);
  assert.deepEqual(acceptedCodings(undefined), []);
});
