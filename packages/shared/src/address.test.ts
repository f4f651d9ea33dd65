import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet, parseAddress, parseCidr, prefixKey, isLoopback } from './address.js';

test('IPv6 addresses in one /56 share a bucket', () => {
  assert.equal(prefixKey('2001:db8:0:1200::1', 32, 56), prefixKey('2001:db8:0:12ff::2', 32, 56));
});

test('IPv6 address in the next /56 gets another bucket', () => {
  assert.notEqual(prefixKey('2001:db8:0:1200::1', 32, 56), prefixKey('2001:db8:0:1300::1', 32, 56));
});

test('IPv4-mapped IPv6 counts as IPv4', () => {
  assert.equal(prefixKey('::ffff:10.0.0.1', 32, 56), prefixKey('10.0.0.1', 32, 56));
  assert.equal(prefixKey('::ffff:a00:1', 32, 56), prefixKey('10.0.0.1', 32, 56));
  assert.deepEqual(parseAddress('::ffff:10.0.0.1'), { family: 4, bytes: Uint8Array.from([10, 0, 0, 1]) });
});

test('IPv4 /32 keeps neighbours apart', () => {
  assert.notEqual(prefixKey('127.0.0.2', 32, 56), prefixKey('127.0.0.3', 32, 56));
});

test('IPv4 /24 groups neighbours', () => {
  assert.equal(prefixKey('192.0.2.1', 24, 56), prefixKey('192.0.2.254', 24, 56));
  assert.notEqual(prefixKey('192.0.2.1', 24, 56), prefixKey('192.0.3.1', 24, 56));
});

test('IPv6 prefix length is configurable', () => {
  assert.notEqual(prefixKey('2001:db8::1', 32, 128), prefixKey('2001:db8::2', 32, 128));
  assert.equal(prefixKey('2001:db8:1::1', 32, 32), prefixKey('2001:db8:2::1', 32, 32));
});

test('IPv6 zone index is ignored', () => {
  assert.equal(prefixKey('fe80::1%eth0', 32, 128), prefixKey('fe80::1', 32, 128));
});

test('unparseable address gets its own bucket', () => {
  assert.equal(prefixKey('not-an-ip', 32, 56), 'raw/not-an-ip');
});

test('CIDR parsing accepts blocks and bare addresses', () => {
  assert.equal(parseCidr('10.0.0.0/8')?.prefix, 8);
  assert.equal(parseCidr('192.0.2.7')?.prefix, 32);
  assert.equal(parseCidr('2001:db8::/32')?.prefix, 32);
  assert.equal(parseCidr('::ffff:10.0.0.0/104')?.prefix, 8);
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('10.0.0/8'), undefined);
  assert.equal(parseCidr('nonsense'), undefined);
});

test('CidrSet matches members of both families', () => {
  const set = new CidrSet(['10.0.0.0/8', '2001:db8::/32', '127.0.0.5']);
  assert.ok(set.has('10.200.3.4'));
  assert.ok(set.has('::ffff:10.1.1.1'));
  assert.ok(set.has('2001:db8:ffff::1'));
  assert.ok(set.has('127.0.0.5'));
  assert.ok(!set.has('127.0.0.6'));
  assert.ok(!set.has('11.0.0.1'));
  assert.ok(!set.has('2001:db9::1'));
});

test('loopback detection', () => {
  assert.ok(isLoopback('127.0.0.1'));
  assert.ok(isLoopback('127.8.9.10'));
  assert.ok(isLoopback('::1'));
  assert.ok(isLoopback('localhost'));
  assert.ok(!isLoopback('0.0.0.0'));
  assert.ok(!isLoopback('::'));
  assert.ok(!isLoopback('10.0.0.1'));
});
