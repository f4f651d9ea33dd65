import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestPath } from './static.js';

test('plain path splits into segments', () => {
  assert.deepEqual(parseRequestPath('/a/b.txt?x=1'), ['a', 'b.txt']);
  assert.deepEqual(parseRequestPath('/'), ['']);
});

test('percent-encoding is decoded per segment', () => {
  assert.deepEqual(parseRequestPath('/a%20b/c'), ['a b', 'c']);
});

test('traversal segments are not served', () => {
  for (const target of ['/../etc/passwd', '/a/%2e%2e/b', '/a/..%2fb', '/a%2f..%2f..%2fetc', '/a%5c..%5cb', '/a%00.txt', '/.']) {
    assert.equal(parseRequestPath(target), null, target);
  }
});

test('malformed percent-encoding is a bad request', () => {
  assert.equal(parseRequestPath('/%E0%A4%A'), 'malformed');
  assert.equal(parseRequestPath('/%zz'), 'malformed');
  assert.equal(parseRequestPath('*'), 'malformed');
});

test('absolute-form target uses its path', () => {
  assert.deepEqual(parseRequestPath('http://example.test/a/b'), ['a', 'b']);
});
