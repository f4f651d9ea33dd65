// Slow clients and per-address limits against a real cluster: slowhttptest attacks from
// 127.0.0.2 while a well-behaved client on 127.0.0.3 keeps getting fast responses, and the
// header, body and write deadlines each close the connection they are meant for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { connect as connectHttp2, constants as http2Constants } from 'node:http2';
import { join } from 'node:path';
import { FIXTURES, TestCluster } from './helpers/cluster.js';
import { openConnection, requestOn, sleep, type HeldConnection } from './helpers/net.js';
import { countServerSockets, hasCommand, isRoot, routeFrom, runTool, steadyClient } from './helpers/attack.js';

const APP = join(FIXTURES, 'hardening-app.mjs');
/** The attacked listener's address; a local route makes connections to it leave from 127.0.0.2. */
const TARGET = '127.0.77.1';
const ATTACKER = '127.0.0.2';
const BYSTANDER = '127.0.0.3';
const PER_IP = 30;
/** Seconds each slowhttptest mode runs; the deadlines below are a fraction of it. */
const ATTACK_SECONDS = 8;

const slowModes = [
  { name: 'slowloris', args: ['-H', '-i', '1', '-u', '/'] },
  { name: 'slow body', args: ['-B', '-i', '1', '-s', '100000', '-u', '/echo'] },
  { name: 'slow read', args: ['-X', '-k', '4', '-n', '2', '-w', '16', '-y', '64', '-z', '16', '-u', '/big?bytes=4000000'] },
];

const skipAttack = !isRoot()
  ? 'needs root to add the loopback route that gives slowhttptest the source address 127.0.0.2'
  : !hasCommand('slowhttptest')
    ? 'slowhttptest is not installed (Debian package slowhttptest; run scripts/install-test-tools.sh)'
    : false;

test('slowhttptest modes leave other clients served', { skip: skipAttack }, async (t) => {
  const removeRoute = routeFrom(TARGET, ATTACKER);
  t.after(removeRoute);
  const cluster = await TestCluster.start({
    config: {
      app: APP,
      workers: 2,
      listen: [{ host: TARGET, port: 0 }],
      connectionsPerIP: PER_IP,
      headerTimeout: '2s',
      bodyTimeout: '3s',
      writeTimeout: '3s',
      connectionTimeout: '3s',
    },
  });
  t.after(() => cluster.stop());
  const port = cluster.port;
  const workers = cluster.workerPids();
  // The same client without an attack, so a failure shows whether the machine itself was slow.
  const baseline = await steadyClient(`http://${TARGET}:${port}/`, BYSTANDER, 50, sleep(2000));

  for (const mode of slowModes) {
    const args = [...mode.args.slice(0, -1), `http://${TARGET}:${port}${mode.args.at(-1)}`];
    const attack = runTool('slowhttptest', ['-c', '500', '-r', '250', '-l', String(ATTACK_SECONDS), '-p', '3', ...args], (ATTACK_SECONDS + 10) * 1000);

    let maxHeld = 0;
    let sampling = true;
    const census = (async () => {
      while (sampling) {
        maxHeld = Math.max(maxHeld, await countServerSockets(port, ATTACKER, workers));
        await sleep(200);
      }
    })();
    const report = await steadyClient(`http://${TARGET}:${port}/`, BYSTANDER, 50, attack);
    sampling = false;
    await census;
    const result = await attack;

    assert.match(result.output, /slowhttptest/i, `${mode.name}: slowhttptest did not run: ${result.output.slice(0, 400)}`);
    assert.deepEqual(report.failures, [], `${mode.name}: requests from ${BYSTANDER} failed`);
    assert.ok(report.latencies.length >= 20, `${mode.name}: only ${report.latencies.length} requests completed`);
    assert.ok(report.p99 < 200, `${mode.name}: p99 ${report.p99.toFixed(1)} ms over ${report.latencies.length} requests; without attack ${baseline.p99.toFixed(1)} ms`);
    assert.ok(maxHeld <= PER_IP, `${mode.name}: ${ATTACKER} held ${maxHeld} sockets on the server, limit ${PER_IP}`);
    assert.ok(maxHeld > 0, `${mode.name}: the census saw no attacking socket, so it measured nothing`);
    t.diagnostic(`${mode.name}: p99 ${report.p99.toFixed(1)} ms over ${report.latencies.length} requests, attacker held at most ${maxHeld} sockets`);
  }

  const closes = cluster.logs.filter((line) => line.msg === 'client connection closed').map((line) => line.reason);
  assert.ok(closes.includes('header_timeout'), `no header deadline close was logged: ${closes.join(', ')}`);
  assert.ok(closes.includes('body_timeout'), `no body deadline close was logged: ${closes.join(', ')}`);
  const rejected = cluster.logs.filter((line) => line.msg.startsWith('connection rejected') && line.reason === 'per_ip');
  assert.ok(rejected.length > 0, 'the master rejected no connection of the attacker');
});

/** Resolves with the time from now until the server closes the connection, or rejects after `ms`. */
function timeUntilClosed(connection: HeldConnection | { closed: Promise<void> }, ms: number): Promise<number> {
  const started = Date.now();
  return Promise.race([
    connection.closed.then(() => Date.now() - started),
    sleep(ms).then(() => Promise.reject(new Error(`connection still open after ${ms} ms`))),
  ]);
}

test('deadlines close slow header, body and reader', async (t) => {
  const cluster = await TestCluster.start({
    config: { app: APP, workers: 1, headerTimeout: '1s', bodyTimeout: '1s', writeTimeout: '1s', connectionTimeout: '10s' },
  });
  t.after(() => cluster.stop());

  // All four slow clients start at once and run out their deadlines in parallel.
  const header = await openConnection(cluster.port);
  header.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');

  const body = await openConnection(cluster.port);
  body.socket.write('POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\npartial');

  // A reader that never reads: the 64 MiB response cannot fit in the socket buffers.
  const reader: Socket = connect({ host: '127.0.0.1', port: cluster.port });
  reader.on('error', () => undefined);
  const readerClosed = new Promise<void>((resolve) => reader.once('close', () => resolve()));
  let receivedBytes = 0;
  reader.on('data', (chunk: Buffer) => (receivedBytes += chunk.length));
  reader.pause();
  reader.write('GET /big?bytes=67108864 HTTP/1.1\r\nHost: localhost\r\n\r\n');

  // HTTP/2 (h2c): a stream whose body stalls is cancelled after headerTimeout + bodyTimeout.
  const session = connectHttp2(`http://127.0.0.1:${cluster.port}`);
  session.on('error', () => undefined);
  t.after(() => session.close());
  const stream = session.request({ ':method': 'POST', ':path': '/echo', 'content-length': '1000' });
  stream.on('error', () => undefined);
  stream.write('partial');
  const streamClosed = Promise.race([
    new Promise<number>((resolve) => stream.once('close', () => resolve(stream.rstCode ?? -1))),
    sleep(8000).then(() => -1),
  ]);

  await timeUntilClosed(header, 5000);
  assert.match(header.received().toString('latin1'), /^HTTP\/1\.1 408 /);
  await timeUntilClosed(body, 6000);

  await cluster.waitForLog((line) => line.msg === 'client connection closed' && line.reason === 'write_timeout', 8000);
  // A paused socket does not notice the reset; reading again shows the response was cut short.
  reader.resume();
  await timeUntilClosed({ closed: readerClosed }, 5000);
  assert.ok(receivedBytes < 67108864, `the whole response arrived (${receivedBytes} bytes) although the server reset the connection`);

  assert.equal(await streamClosed, http2Constants.NGHTTP2_CANCEL, 'the stalled HTTP/2 stream was not cancelled');
  assert.equal(session.closed, false, 'the session closed with the stream');

  for (const reason of ['header_timeout', 'body_timeout']) {
    await cluster.waitForLog((line) => line.msg === 'client connection closed' && line.reason === reason, 3000);
  }
});

test('burst of 50 admits exactly 10', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 4, connectionsPerIP: 10, connectionTimeout: '30s' } });
  t.after(() => cluster.stop());

  const attempts = await Promise.all(Array.from({ length: 50 }, () => openConnection(cluster.port, ATTACKER)));
  // Rejected connections are closed by the master without a byte; admitted ones respond to a request.
  const outcomes = await Promise.all(attempts.map((c) => requestOn(c, '/').then(() => 'admitted', () => 'rejected')));
  const admitted = attempts.filter((_, i) => outcomes[i] === 'admitted');
  assert.equal(admitted.length, 10);

  const closing = admitted.slice(0, 5);
  for (const connection of closing) connection.socket.destroy();
  await Promise.all(closing.map((c) => c.closed));
  const started = Date.now();

  let readmitted = 0;
  const extra: HeldConnection[] = [];
  for (let attempt = 0; attempt < 200 && readmitted < 5 && Date.now() - started < 1000; attempt++) {
    const connection = await openConnection(cluster.port, ATTACKER);
    extra.push(connection);
    const ok = await requestOn(connection, '/').then(() => true, () => false);
    if (ok) readmitted++;
  }
  const elapsed = Date.now() - started;
  assert.equal(readmitted, 5, `only ${readmitted} of 5 readmitted within ${elapsed} ms`);
  assert.ok(elapsed <= 1000, `readmission took ${elapsed} ms`);

  const over = await openConnection(cluster.port, ATTACKER);
  const overOk = await requestOn(over, '/').then(() => true, () => false);
  assert.equal(overOk, false, 'an eleventh connection was admitted');

  for (const connection of [...attempts, ...extra, over]) connection.socket.destroy();
});
