// End-to-end tests of how connections end on each protocol: the per-connection request limit,
// the idle timeout, draining on SIGTERM, and a TLS certificate that cannot be read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import WebSocket from 'ws';
import { FIXTURES, TestCluster } from './helpers/cluster.js';
import { openConnection, requestOn } from './helpers/net.js';
import { openSession, requestOnSession, DEV_CA, DEV_CERT, DEV_KEY } from './helpers/protocols.js';
import { EXIT_CONFIG } from '@aerys-cluster/shared';

const APP = join(FIXTURES, 'protocols-app.mjs');
const IDLE_MS = 600;

test('connections close after maxRequestsPerConnection, when idle, and on drain', async (t) => {
  const cluster = await TestCluster.start({
    config: {
      app: APP,
      workers: 2,
      listen: [
        { host: '127.0.0.1', port: 0 },
        { host: '127.0.0.1', port: 0, tls: { cert: DEV_CERT, key: DEV_KEY } },
      ],
      maxRequestsPerConnection: 3,
      connectionTimeout: IDLE_MS,
      websocket: { closePeriod: '1s', maxFramesPerSecond: 20, perMessageDeflate: true },
    },
  });
  t.after(() => cluster.stop());
  const [plainPort, tlsPort] = cluster.ports;

  await t.test('HTTP/2 session gets GOAWAY after the last allowed request', async () => {
    const session = openSession(`https://localhost:${tlsPort}`);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    for (let i = 0; i < 3; i++) {
      const response = await requestOnSession(session, '/hello');
      assert.equal(response.status, 200, `request ${i + 1} of 3`);
    }
    assert.equal(await goaway, 0, 'GOAWAY carries NO_ERROR');
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
  });

  await t.test('HTTP/2 session closes after connectionTimeout idle', async () => {
    const session = openSession(`http://127.0.0.1:${plainPort}`);
    const started = performance.now();
    assert.equal((await requestOnSession(session, '/hello')).status, 200);
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
    const idleMs = performance.now() - started;
    assert.ok(idleMs >= IDLE_MS - 50, `closed after ${Math.round(idleMs)} ms, before the idle timeout`);
  });

  await t.test('HTTP/1.1 connection closes after the last allowed request', async () => {
    const connection = await openConnection(plainPort ?? 0);
    for (let i = 1; i <= 3; i++) {
      const response = await requestOn(connection, '/hello');
      assert.match(response, /^HTTP\/1\.1 200 /);
      if (i < 3) assert.match(response, /connection: keep-alive/i, `response ${i} keeps the connection`);
      else assert.match(response, /connection: close/i, 'the third response closes it');
    }
    await connection.closed;
  });

  await t.test('WebSocket message flood closes with 1008', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${plainPort}/ws`);
    const closed = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
    ws.on('error', () => undefined);
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    assert.match(ws.extensions, /permessage-deflate/, 'perMessageDeflate: true enables compression');
    // 20 frames per second averaged over 3 seconds allows a burst of 60 frames.
    for (let i = 0; i < 200; i++) ws.send(`message ${i}`);
    assert.equal(await closed, 1008);
  });

  await t.test('SIGTERM closes WebSockets with 1001 and sends GOAWAY', async () => {
    const ws = new WebSocket(`wss://localhost:${tlsPort}/ws`, { ca: DEV_CA });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));

    const session = openSession(`http://127.0.0.1:${plainPort}`);
    assert.equal((await requestOnSession(session, '/hello')).status, 200);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    const slow = requestOnSession(session, '/slow?ms=400');
    await new Promise((resolve) => setTimeout(resolve, 100));

    cluster.signal('SIGTERM');
    assert.equal(await wsClosed, 1001);
    assert.equal(await goaway, 0);
    assert.equal((await slow).status, 200, 'the open stream finishes after GOAWAY');
    const exit = await cluster.waitExit();
    assert.equal(exit.code, 0);
  });
});

test('unreadable TLS certificate stops startup with the config exit code', async () => {
  const cluster = await TestCluster.start({
    config: {
      app: APP,
      workers: 2,
      listen: [{ host: '127.0.0.1', port: 0, tls: { cert: '/nonexistent/cert.pem', key: DEV_KEY } }],
    },
    waitReady: false,
  });
  const exit = await cluster.waitExit(20_000);
  assert.equal(exit.code, EXIT_CONFIG);
  const fatal = cluster.logs.find((line) => line.msg === 'TLS certificate failed to load');
  assert.ok(fatal, 'the worker logs why it stopped');
  assert.match(String(fatal.err), /Cannot read listen\[0\]\.tls\.cert \/nonexistent\/cert\.pem: ENOENT/);
});
