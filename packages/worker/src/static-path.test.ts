import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePath, parseRequestPath, type RequestPath } from './static-path.js';

function segmentsOf(target: string): string[] | null | 'malformed' {
  const parsed = parseRequestPath(target);
  return parsed === null || parsed === 'malformed' ? parsed : parsed.segments;
}

test('plain path splits into segments', () => {
  assert.deepEqual(segmentsOf('/a/b.txt?x=1'), ['a', 'b.txt']);
  assert.deepEqual(segmentsOf('/'), []);
});

test('percent-encoding is decoded per segment', () => {
  assert.deepEqual(segmentsOf('/a%20b/c'), ['a b', 'c']);
  assert.deepEqual(segmentsOf('/%252e%252e/x'), ['%2e%2e', 'x']);
});

test('empty segments are dropped', () => {
  assert.deepEqual(segmentsOf('//a///b'), ['a', 'b']);
});

test('key marks the directory form', () => {
  const dir = parseRequestPath('/sub/') as RequestPath;
  assert.equal(dir.key, 'sub/');
  assert.equal(dir.trailingSlash, true);
  const file = parseRequestPath('/sub') as RequestPath;
  assert.equal(file.key, 'sub');
  assert.equal(file.trailingSlash, false);
  assert.equal((parseRequestPath('/') as RequestPath).key, '');
});

test('traversal segments are not served', () => {
  for (const target of ['/../etc/passwd', '/a/%2e%2e/b', '/a/..%2fb', '/a%2f..%2f..%2fetc', '/a%5c..%5cb', '/a%00.txt', '/.', '/a/%2E%2E/b', '/a/.%2e/b']) {
    assert.equal(parseRequestPath(target), null, target);
  }
});

test('malformed percent-encoding is a bad request', () => {
  for (const target of ['/%E0%A4%A', '/%zz', '*', '/%c0%ae%c0%ae/x', '/%c0%af', '/%ed%a0%80', '/%']) {
    assert.equal(parseRequestPath(target), 'malformed', target);
  }
});

test('absolute-form target uses its path', () => {
  assert.deepEqual(segmentsOf('http://example.test/a/b'), ['a', 'b']);
  assert.deepEqual(segmentsOf('HTTPS://example.test'), []);
});

test('redirect path cannot leave the origin', () => {
  assert.equal(encodePath(['evil.example', 'dir'], true), '/evil.example/dir/');
  assert.equal(encodePath(['a b', '?'], false), '/a%20b/%3F');
});
