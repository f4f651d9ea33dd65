import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader, ProxyProtocolError } from './proxy-protocol.js';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

function v2(command: number, family: number, body: Buffer): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = 0x20 | command;
  fixed[1] = family;
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIGNATURE, fixed, body]);
}

test('v1 TCP4 header and the bytes after it', () => {
  const result = parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 40000 443\r\nGET /'));
  assert.notEqual(result, 'incomplete');
  if (result === 'incomplete') return;
  assert.deepEqual(result.client, { address: '192.0.2.1', port: 40000 });
  assert.equal(result.rest.toString(), 'GET /');
});

test('v1 incomplete, UNKNOWN and invalid', () => {
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.1')), 'incomplete');
  assert.equal(parseProxyHeader(Buffer.from('PRO')), 'incomplete');
  const unknown = parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'));
  assert.ok(unknown !== 'incomplete' && unknown.client === null);
  assert.throws(() => parseProxyHeader(Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n')), ProxyProtocolError);
  assert.throws(() => parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.1 192.0.2.2 70000 2\r\n')), ProxyProtocolError);
  assert.throws(() => parseProxyHeader(Buffer.from(`PROXY ${'x'.repeat(120)}`)), ProxyProtocolError);
  assert.throws(() => parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')), ProxyProtocolError);
});

test('v2 IPv4, IPv6, LOCAL and invalid', () => {
  const ipv4 = Buffer.from([192, 0, 2, 9, 127, 0, 0, 1, 0x1f, 0x90, 0, 80]);
  const four = parseProxyHeader(Buffer.concat([v2(1, 0x11, ipv4), Buffer.from('rest')]));
  assert.ok(four !== 'incomplete');
  assert.deepEqual(four.client, { address: '192.0.2.9', port: 8080 });
  assert.equal(four.rest.toString(), 'rest');

  const ipv6 = Buffer.alloc(36);
  ipv6.writeUInt16BE(0x2001, 0);
  ipv6.writeUInt16BE(0x0db8, 2);
  ipv6.writeUInt16BE(7, 14);
  ipv6.writeUInt16BE(4711, 32);
  const six = parseProxyHeader(v2(1, 0x21, ipv6));
  assert.ok(six !== 'incomplete');
  assert.deepEqual(six.client, { address: '2001:db8:0:0:0:0:0:7', port: 4711 });

  const local = parseProxyHeader(v2(0, 0x00, Buffer.alloc(0)));
  assert.ok(local !== 'incomplete' && local.client === null);

  assert.equal(parseProxyHeader(v2(1, 0x11, ipv4).subarray(0, 20)), 'incomplete');
  assert.equal(parseProxyHeader(SIGNATURE.subarray(0, 5)), 'incomplete');
  const badVersion = v2(1, 0x11, ipv4);
  badVersion[12] = 0x11;
  assert.throws(() => parseProxyHeader(badVersion), ProxyProtocolError);
  assert.throws(() => parseProxyHeader(v2(1, 0x11, Buffer.alloc(4))), ProxyProtocolError);
});
