// Clients behind proxies: the PROXY protocol read by the master (from HAProxy and from hand-made
// v1/v2 headers), and X-Forwarded-For from trusted proxies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, REPO_ROOT, TestCluster, tempDir } from './helpers/cluster.js';
import { closedWithoutResponse, freePort, httpGet, openConnection, rawExchange, requestOn, sleep, type HeldConnection } from './helpers/net.js';
import { hasCommand } from './helpers/attack.js';

const APP = join(FIXTURES, 'hardening-app.mjs');

/** Resolves once something accepts TCP connections on the port; bounded to `ms`. */
async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on port ${port} after ${ms} ms`);
}

function clientOf(body: Buffer | string): string {
  const text = body.toString();
  return (JSON.parse(text.slice(text.indexOf('{'))) as { clientAddress: string }).clientAddress;
}

const skipHaproxy = hasCommand('haproxy') ? false : 'haproxy is not installed (Debian package haproxy; run scripts/install-test-tools.sh)';

test('HAProxy send-proxy-v2 reveals the client', { skip: skipHaproxy }, async (t) => {
  const config = { app: APP, workers: 1, connectionsPerIP: 4, listen: [{ host: '127.0.0.1', port: 0, proxyProtocol: true }], accessLog: true };
  const first = await TestCluster.start({ config });
  t.after(() => first.stop());
  const second = await TestCluster.start({ config });
  t.after(() => second.stop());

  const frontPort = await freePort();
  const haproxyConfig = join(tempDir(), 'haproxy.cfg');
  writeFileSync(
    haproxyConfig,
    [
      'global',
      '  maxconn 200',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend front',
      `  bind 127.0.0.1:${frontPort}`,
      '  default_backend clusters',
      'backend clusters',
      '  balance roundrobin',
      `  server first 127.0.0.1:${first.port} send-proxy-v2`,
      `  server second 127.0.0.1:${second.port} send-proxy-v2`,
      '',
    ].join('\n'),
  );
  const haproxy = spawn('haproxy', ['-db', '-f', haproxyConfig], { stdio: ['ignore', 'ignore', 'pipe'] });
  let haproxyErrors = '';
  haproxy.stderr.on('data', (chunk: Buffer) => (haproxyErrors += chunk.toString()));
  t.after(() => haproxy.kill('SIGKILL'));
  await waitForPort(frontPort, 5000);

  // Both instances see the client's own address, never HAProxy's 127.0.0.1.
  const pids = new Set<number>();
  for (let i = 0; i < 4; i++) {
    const response = await httpGet(`http://127.0.0.1:${frontPort}/client`, { localAddress: '127.0.0.3' });
    assert.equal(response.status, 200, haproxyErrors);
    const body = JSON.parse(response.body.toString()) as { clientAddress: string; remoteAddress: string; pid: number };
    assert.equal(body.clientAddress, '127.0.0.3');
    assert.equal(body.remoteAddress, '127.0.0.1', 'the socket peer is HAProxy');
    pids.add(body.pid);
  }
  assert.equal(pids.size, 2, 'round robin reached both instances');

  // connectionsPerIP 4 per instance counts 127.0.0.3, not HAProxy: 10 connections split 5 and 5,
  // so each instance admits 4 and closes 1, while another client still gets in.
  const held: HeldConnection[] = [];
  for (let i = 0; i < 10; i++) held.push(await openConnection(frontPort, '127.0.0.3'));
  const outcomes = await Promise.all(held.map((c) => requestOn(c, '/client').then(() => 'admitted', () => 'rejected')));
  assert.equal(outcomes.filter((o) => o === 'admitted').length, 8);

  const other = await httpGet(`http://127.0.0.1:${frontPort}/client`, { localAddress: '127.0.0.4' });
  assert.equal(clientOf(other.body), '127.0.0.4');
  for (const connection of held) connection.socket.destroy();

  for (const cluster of [first, second]) {
    await cluster.waitForLog((line) => line.msg.startsWith('connection rejected') && line.reason === 'per_ip' && line.client === '127.0.0.3', 3000);
  }
});

/** Builds a PROXY v2 header for a TCP over IPv6 client. */
function proxyV2Ipv6(source: string, sourcePort: number): Buffer {
  const header = Buffer.alloc(16 + 36);
  Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]).copy(header, 0);
  header[12] = 0x21;
  header[13] = 0x21;
  header.writeUInt16BE(36, 14);
  const groups = source.split(':').map((group) => parseInt(group, 16));
  groups.forEach((group, i) => header.writeUInt16BE(group, 16 + i * 2));
  header.writeUInt16BE(0, 32);
  header.writeUInt16BE(sourcePort, 48);
  header.writeUInt16BE(443, 50);
  return header;
}

test('PROXY v1 and v2 headers set the client', async (t) => {
  const cluster = await TestCluster.start({
    config: { app: APP, workers: 1, headerTimeout: '1s', listen: [{ host: '127.0.0.1', port: 0, proxyProtocol: true }] },
  });
  t.after(() => cluster.stop());
  const request = 'GET /client HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';

  const v1 = await rawExchange(cluster.port, `PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n${request}`, 3000);
  assert.equal(clientOf(v1), '203.0.113.7');

  const v2 = await rawExchange(cluster.port, Buffer.concat([proxyV2Ipv6('2001:db8:0:0:0:0:0:7', 5555), Buffer.from(request)]), 3000);
  assert.equal(clientOf(v2), '2001:db8:0:0:0:0:0:7');

  // The header alone in one segment and the request later: the master must not read past it.
  const split = await openConnection(cluster.port);
  split.socket.write('PROXY TCP4 192.0.2.44 127.0.0.1 5555 80\r\n');
  await sleep(200);
  assert.match(await requestOn(split, '/client'), /"clientAddress":"192\.0\.2\.44"/);
  split.socket.destroy();

  const unknown = await rawExchange(cluster.port, `PROXY UNKNOWN\r\n${request}`, 3000);
  assert.equal(clientOf(unknown), '127.0.0.1', 'UNKNOWN keeps the peer address');

  const missing = await openConnection(cluster.port);
  missing.socket.write(request);
  assert.equal(await closedWithoutResponse(missing, 3000), true, 'a request without a PROXY header was served');

  const malformed = await openConnection(cluster.port);
  malformed.socket.write('PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n');
  assert.equal(await closedWithoutResponse(malformed, 3000), true, 'an invalid PROXY header was accepted');

  const silent = await openConnection(cluster.port);
  assert.equal(await closedWithoutResponse(silent, 4000), true, 'a connection without any header stayed open past headerTimeout');

  await cluster.waitForLog((line) => line.msg.startsWith('connection rejected') && line.reason === 'proxy_protocol', 2000);
});

test('trusted X-Forwarded-For sets the client', async (t) => {
  const trusted = await TestCluster.start({ config: { app: APP, workers: 1, trustedProxies: ['127.0.0.0/8', '10.0.0.0/8'] } });
  t.after(() => trusted.stop());
  const untrusted = await TestCluster.start({ config: { app: APP, workers: 1 } });
  t.after(() => untrusted.stop());

  const cases: Array<{ forwardedFor: string; expected: string }> = [
    { forwardedFor: '198.51.100.9', expected: '198.51.100.9' },
    { forwardedFor: '203.0.113.1, 198.51.100.9, 10.1.2.3', expected: '198.51.100.9' },
    { forwardedFor: 'not-an-address, 10.1.2.3', expected: '10.1.2.3' },
    { forwardedFor: '[2001:db8::5]:4711', expected: '2001:db8::5' },
  ];
  for (const { forwardedFor, expected } of cases) {
    const response = await httpGet(trusted.url('/client'), { headers: { 'X-Forwarded-For': forwardedFor } });
    assert.equal(clientOf(response.body), expected, `X-Forwarded-For: ${forwardedFor}`);
  }

  const spoofed = await httpGet(untrusted.url('/client'), { headers: { 'X-Forwarded-For': '198.51.100.9' } });
  assert.equal(clientOf(spoofed.body), '127.0.0.1', 'X-Forwarded-For from an untrusted peer was honoured');
});

test('PROXY header before TLS', async (t) => {
  const tls = { cert: join(REPO_ROOT, 'examples/demo/tls/localhost-cert.pem'), key: join(REPO_ROOT, 'examples/demo/tls/localhost-key.pem') };
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1, listen: [{ host: '127.0.0.1', port: 0, proxyProtocol: true, tls }] } });
  t.after(() => cluster.stop());

  const body = await new Promise<string>((resolve, reject) => {
    const raw = connect({ host: '127.0.0.1', port: cluster.port }, () => {
      raw.write('PROXY TCP4 192.0.2.5 127.0.0.1 1111 443\r\n');
      const secure = connectTls({ socket: raw, rejectUnauthorized: false, servername: 'localhost' }, () => {
        secure.write('GET /client HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      });
      let text = '';
      secure.on('data', (chunk: Buffer) => (text += chunk.toString()));
      secure.on('close', () => resolve(text));
      secure.on('error', reject);
    });
    raw.on('error', reject);
  });
  assert.equal(clientOf(body), '192.0.2.5');
});
