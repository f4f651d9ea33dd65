import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet } from '@aerys-cluster/shared';
import { resolveClientAddress } from './client-address.js';

const trusted = new CidrSet(['10.0.0.0/8', '127.0.0.1']);

test('untrusted peer ignores X-Forwarded-For', () => {
  assert.equal(resolveClientAddress('192.0.2.1', '198.51.100.1', trusted), '192.0.2.1');
});

test('rightmost untrusted entry wins', () => {
  assert.equal(resolveClientAddress('127.0.0.1', '203.0.113.5, 198.51.100.1, 10.2.3.4', trusted), '198.51.100.1');
  assert.equal(resolveClientAddress('127.0.0.1', ['203.0.113.5', '10.2.3.4'], trusted), '203.0.113.5');
});

test('all trusted returns the leftmost', () => {
  assert.equal(resolveClientAddress('127.0.0.1', '10.0.0.1, 10.0.0.2', trusted), '10.0.0.1');
});

test('malformed entry stops at the last trusted hop', () => {
  assert.equal(resolveClientAddress('127.0.0.1', 'evil, 10.0.0.9', trusted), '10.0.0.9');
  assert.equal(resolveClientAddress('127.0.0.1', '', trusted), '127.0.0.1');
});

test('ports, brackets and mapped addresses are normalized', () => {
  assert.equal(resolveClientAddress('::ffff:127.0.0.1', '198.51.100.1:443', trusted), '198.51.100.1');
  assert.equal(resolveClientAddress('127.0.0.1', '[2001:db8::1]:80', trusted), '2001:db8::1');
  assert.equal(resolveClientAddress('127.0.0.1', '::ffff:198.51.100.7', trusted), '198.51.100.7');
});
