// End-to-end tests of the rolling reload: a real cluster started by the CLI, reloaded by SIGHUP
// and by `aerys-cluster reload`, under load from real clients on loopback.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect as connectHttp2, constants as http2Constants } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { FIXTURES, TestCluster, tempDir, type LogLine } from './helpers/cluster.js';
import { runCli } from './helpers/cli.js';
import { httpGet, sleep } from './helpers/net.js';

const APP = join(FIXTURES, 'app.mjs');

function pidOf(body: Buffer): number {
  return (JSON.parse(body.toString()) as { pid: number }).pid;
}

function isMaster(line: LogLine): boolean {
  return line.worker === 'master';
}

/** Opens a WebSocket and resolves once it is open; rejects after 10 s. */
function openWebSocket(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('WebSocket handshake timed out'));
    }, 10_000);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Asks the worker behind a WebSocket for its PID. */
function webSocketPid(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    socket.once('message', (data) => resolve(Number(String(data))));
    socket.send('pid');
  });
}

/** PIDs of the workers of one generation that reported ready. */
function generationPids(cluster: TestCluster, generation: number): number[] {
  return cluster.logs.filter((line) => isMaster(line) && line.msg === 'worker ready' && line.workerGeneration === generation).map((line) => line.workerPid as number);
}

/** Waits until `count` reloads finished (succeeded or failed) since the cluster started. */
function reloadsFinished(cluster: TestCluster, count: number, timeoutMs = 30_000): Promise<LogLine> {
  let seen = 0;
  return cluster.waitForLog((line) => isMaster(line) && (line.msg === 'reload succeeded' || line.msg.startsWith('reload failed')) && ++seen >= count, timeoutMs);
}

/** Writes an application whose every response carries `X-App-Version: VERSION`. */
function writeVersionedApp(path: string, version: string): void {
  writeFileSync(
    path,
    `import cluster from 'node:cluster';
export default function (req, res) {
  const body = JSON.stringify({ pid: process.pid, worker: cluster.worker?.id });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-App-Version': '${version}' });
  res.end(body);
}
`,
  );
}

interface WrkResult {
  output: string;
  code: number | null;
}

function runWrk(url: string, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t2', '-c50', `-d${seconds}s`, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error) => reject(new Error(`wrk could not run (install the Debian package wrk: scripts/install-test-tools.sh): ${error.message}`)));
    child.once('exit', (code) => resolve({ output, code }));
  });
}

test('wrk sees no error through five SIGHUPs', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, maxConnections: 1000, connectionsPerIP: 1000 } });
  t.after(() => cluster.stop());
  const initial = cluster.workerPids();
  assert.equal(initial.length, 2);

  const wrk = runWrk(cluster.url('/pid'), 30);
  const timers = [5, 10, 15, 20, 25].map((second) => setTimeout(() => cluster.signal('SIGHUP'), second * 1000));
  const result = await wrk;
  for (const timer of timers) clearTimeout(timer);

  assert.equal(result.code, 0, result.output);
  assert.match(result.output, /Requests\/sec:/, result.output);
  // wrk prints these lines only when a count is above zero.
  assert.doesNotMatch(result.output, /Socket errors/, `socket errors or timeouts:\n${result.output}`);
  assert.doesNotMatch(result.output, /Non-2xx or 3xx responses/, `non-2xx responses:\n${result.output}`);

  await reloadsFinished(cluster, 5);
  const succeeded = cluster.logs.filter((line) => isMaster(line) && line.msg === 'reload succeeded').length;
  assert.equal(succeeded, 5, 'every SIGHUP ran one rollout');
  const final = cluster.workerPids();
  assert.equal(final.length, 2);
  for (const pid of initial) assert.ok(!final.includes(pid), `worker ${pid} survived five reloads`);
  t.diagnostic(result.output.split('\n').filter((line) => /Requests\/sec|requests in|Latency /.test(line)).join(' | '));
});

test('in-flight requests finish across SIGHUP', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, shutdownTimeout: '10s' } });
  t.after(() => cluster.stop());
  const initial = cluster.workerPids();

  const inFlight = Array.from({ length: 20 }, () => httpGet(cluster.url('/slow?ms=3000')));
  await sleep(500);
  cluster.signal('SIGHUP');

  const responses = await Promise.all(inFlight);
  for (const response of responses) {
    assert.equal(response.status, 200);
    assert.equal(response.body.toString(), 'slept 3000');
  }
  await reloadsFinished(cluster, 1);
  assert.ok(cluster.logs.some((line) => line.msg === 'reload succeeded'));
  for (const pid of initial) assert.ok(!cluster.workerPids().includes(pid));
});

test('fresh connections land on the new generation', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, shutdownTimeout: '10s' } });
  t.after(() => cluster.stop());
  const initial = cluster.workerPids();

  // One slow request per old worker keeps both draining while the fresh connections arrive.
  const slow = [httpGet(cluster.url('/slow?ms=8000')), httpGet(cluster.url('/slow?ms=8000'))];
  await sleep(300);
  cluster.signal('SIGHUP');
  let draining = 0;
  await cluster.waitForLog((line) => isMaster(line) && line.msg === 'reload: draining old worker' && ++draining === 2, 15_000);

  const newGeneration = cluster.logs.filter((line) => isMaster(line) && line.msg === 'worker ready' && line.workerGeneration === 2).map((line) => line.workerPid);
  assert.equal(newGeneration.length, 2);
  const stillDraining = initial.filter((pid) => !cluster.logs.some((line) => line.msg === 'worker stopped' && line.workerPid === pid));
  assert.ok(stillDraining.length > 0, 'an old worker still drains its slow request');

  for (let i = 0; i < 100; i++) {
    const response = await httpGet(cluster.url('/pid'));
    assert.equal(response.status, 200);
    const pid = pidOf(response.body);
    assert.ok(newGeneration.includes(pid), `connection ${i} went to ${pid}, not to the new generation ${newGeneration.join(', ')}`);
  }
  for (let i = 0; i < 10; i++) {
    const socket = await openWebSocket(cluster.port);
    const pid = await webSocketPid(socket);
    assert.ok(newGeneration.includes(pid), `WebSocket ${i} went to ${pid}, not to the new generation`);
    socket.close(1000);
  }
  const stillDrainingAfter = initial.filter((pid) => !cluster.logs.some((line) => line.msg === 'worker stopped' && line.workerPid === pid));
  assert.ok(stillDrainingAfter.length > 0, 'the checks ran while an old worker still drained');
  for (const response of await Promise.all(slow)) assert.equal(response.status, 200);
});

test('slow-starting workers replace old ones under load', async (t) => {
  const cluster = await TestCluster.start({ config: { app: join(FIXTURES, 'app-slow-start.mjs'), workers: 2 } });
  t.after(() => cluster.stop());

  // About 100 requests per second, each on a fresh connection, until the reload finished. A
  // keep-alive connection idle for more than the drain grace races its next request against the
  // worker's FIN, which no server can prevent; the keep-alive test below covers busy connections.
  const agent = new Agent({ keepAlive: false, maxSockets: 20 });
  t.after(() => agent.destroy());
  const errors: string[] = [];
  let sent = 0;
  let running = true;
  const load = (async () => {
    const pending: Array<Promise<void>> = [];
    for (let i = 0; running && i < 3000; i++) {
      sent++;
      pending.push(
        new Promise<void>((resolve) => {
          const req = request(cluster.url('/pid'), { agent }, (res) => {
            if (res.statusCode !== 200) errors.push(`status ${res.statusCode}`);
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', (error) => {
            errors.push(error.message);
            resolve();
          });
          req.end();
        }),
      );
      await sleep(10);
    }
    await Promise.all(pending);
  })();

  await sleep(500);
  cluster.signal('SIGHUP');
  await reloadsFinished(cluster, 1, 30_000);
  await sleep(500);
  running = false;
  await load;

  assert.deepEqual(errors, [], `${errors.length} of ${sent} requests failed`);
  assert.ok(cluster.logs.some((line) => line.msg === 'reload succeeded'));
  const master = cluster.logs.filter(isMaster);
  for (const drain of master.filter((line) => line.msg === 'reload: draining old worker')) {
    const readyAt = master.findIndex((line) => line.msg === 'worker ready' && line.workerPid === drain.replacementPid);
    const drainAt = master.indexOf(drain);
    const exitAt = master.findIndex((line) => line.msg === 'worker stopped' && line.workerPid === drain.workerPid);
    assert.notEqual(readyAt, -1, `replacement ${drain.replacementPid} never reported ready`);
    assert.ok(readyAt < drainAt, `old worker ${drain.workerPid} was drained before its replacement was ready`);
    assert.ok(exitAt > readyAt, `old worker ${drain.workerPid} exited before its replacement was ready`);
    const startupMs = master[readyAt]?.startupMs as number;
    assert.ok(startupMs >= 3000, `the replacement took ${startupMs} ms, so it did wait for the slow start`);
  }
});

test('SIGHUP bursts merge into pending reloads', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2 } });
  t.after(() => cluster.stop());

  const errors: string[] = [];
  let running = true;
  const load = (async () => {
    for (let i = 0; running && i < 2000; i++) {
      try {
        const response = await httpGet(cluster.url('/pid'));
        if (response.status !== 200) errors.push(`status ${response.status}`);
      } catch (error) {
        errors.push(String(error));
      }
    }
  })();

  cluster.signal('SIGHUP');
  await sleep(50);
  cluster.signal('SIGHUP');
  await sleep(100);
  for (let i = 0; i < 5; i++) {
    cluster.signal('SIGHUP');
    await sleep(180);
  }

  // Seven requests in all; wait until the reloads that carry them finished.
  const started = (): LogLine[] => cluster.logs.filter((line) => isMaster(line) && line.msg === 'reload started');
  const carried = (): number => started().reduce((sum, line) => sum + (line.mergedRequests as number), 0);
  for (let i = 0; i < 300 && carried() < 7; i++) await sleep(100);
  assert.equal(carried(), 7);
  await reloadsFinished(cluster, started().length);
  running = false;
  await load;

  assert.deepEqual(errors, []);
  assert.ok(started().length >= 2, `${started().length} rollouts ran for 7 SIGHUPs`);
  assert.ok(started().length <= 3, `${started().length} rollouts ran for 7 SIGHUPs`);
  assert.ok(cluster.logs.some((line) => line.msg === 'reload request merged into the pending reload'));
  assert.equal(cluster.logs.filter((line) => line.msg === 'reload succeeded').length, started().length);
  const status = JSON.parse((await runCli(['status', '--json', '--config', cluster.configPath])).stdout) as { workers: Array<{ state: string; generation: number }> };
  assert.equal(status.workers.length, 2);
  for (const worker of status.workers) assert.equal(worker.state, 'ready');
  assert.equal(cluster.workerPids().length, 2);
});

interface RawConnection {
  socket: Socket;
  received: () => string;
  /** 'fin' when the server closed cleanly, 'reset' on ECONNRESET. */
  ended: Promise<'fin' | 'reset' | 'error'>;
}

function rawConnect(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    const ended = new Promise<'fin' | 'reset' | 'error'>((done) => {
      socket.once('end', () => done('fin'));
      socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNRESET' ? 'reset' : 'error'));
    });
    socket.once('connect', () => resolve({ socket, received: () => data, ended }));
    socket.once('error', reject);
  });
}

/** Sends one request and resolves with the response head once the full body arrived, or the way the connection ended. */
function exchange(connection: RawConnection, path: string): Promise<{ head: string } | { ended: 'fin' | 'reset' | 'error' }> {
  const before = connection.received().length;
  return new Promise((resolve) => {
    const check = (): void => {
      const text = connection.received().slice(before);
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd === -1) return;
      const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, headEnd))?.[1] ?? 0);
      if (text.length - headEnd - 4 < length) return;
      connection.socket.off('data', check);
      resolve({ head: text.slice(0, headEnd) });
    };
    connection.socket.on('data', check);
    void connection.ended.then((ended) => {
      connection.socket.off('data', check);
      resolve({ ended });
    });
    connection.socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  });
}

test('idle keep-alive sockets get FIN on reload', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, shutdownTimeout: '3s' } });
  t.after(() => cluster.stop());
  const initial = cluster.workerPids();

  const idle: RawConnection[] = [];
  for (let i = 0; i < 10; i++) {
    const connection = await rawConnect(cluster.port);
    const result = await exchange(connection, '/pid');
    assert.ok('head' in result, 'each idle socket is served one request first');
    assert.match(result.head, /^HTTP\/1\.1 200 /);
    idle.push(connection);
  }

  const signalledAt = Date.now();
  cluster.signal('SIGHUP');
  const endings = await Promise.all(idle.map((connection) => connection.ended));
  assert.deepEqual(endings, Array(10).fill('fin'));
  for (const pid of initial) {
    const stopped = await cluster.waitForLog((line) => line.msg === 'worker stopped' && line.workerPid === pid, 10_000);
    const elapsed = Date.parse(stopped.time as string) - signalledAt;
    assert.ok(elapsed <= 3000 + 1000, `old worker ${pid} exited ${elapsed} ms after SIGHUP`);
  }
});

test('keep-alive client sees no reset through reloads', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2 } });
  t.after(() => cluster.stop());

  const outcomes = { answered: 0, closedByHeader: 0, fin: 0, reset: 0, error: 0 };
  let running = true;
  const client = (async () => {
    let connection = await rawConnect(cluster.port);
    for (let i = 0; running && i < 100_000; i++) {
      const result = await exchange(connection, '/pid');
      if ('head' in result) {
        outcomes.answered++;
        if (/\r\nconnection: close/i.test(result.head)) {
          outcomes.closedByHeader++;
          connection.socket.end();
          connection = await rawConnect(cluster.port);
        }
      } else {
        outcomes[result.ended]++;
        connection.socket.destroy();
        connection = await rawConnect(cluster.port);
      }
      await sleep(Math.floor(Math.random() * 6));
    }
    connection.socket.destroy();
  })();

  for (let reload = 1; reload <= 5; reload++) {
    cluster.signal('SIGHUP');
    await reloadsFinished(cluster, reload);
  }
  running = false;
  await client;

  assert.equal(cluster.logs.filter((line) => line.msg === 'reload succeeded').length, 5);
  assert.equal(outcomes.reset, 0, `resets: ${JSON.stringify(outcomes)}`);
  assert.equal(outcomes.fin, 0, `requests ended by FIN without an answer: ${JSON.stringify(outcomes)}`);
  assert.equal(outcomes.error, 0, JSON.stringify(outcomes));
  assert.ok(outcomes.closedByHeader >= 5, `draining workers announced the close: ${JSON.stringify(outcomes)}`);
  t.diagnostic(JSON.stringify(outcomes));
});

test('HTTP/2 stream completes after GOAWAY', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1, shutdownTimeout: '5s' } });
  t.after(() => cluster.stop());
  const [oldPid] = cluster.workerPids();

  const session = connectHttp2(`http://127.0.0.1:${cluster.port}`);
  t.after(() => session.destroy());
  const goaway = new Promise<{ code: number; lastStreamId: number }>((resolve) => session.once('goaway', (code: number, lastStreamId: number) => resolve({ code, lastStreamId })));
  const stream = session.request({ ':path': '/slow?ms=2000' });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    let status = 0;
    let body = '';
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
  });
  await sleep(300);
  cluster.signal('SIGHUP');

  const away = await goaway;
  assert.equal(away.code, http2Constants.NGHTTP2_NO_ERROR);
  assert.equal(away.lastStreamId, 1, 'the in-flight stream is the last one processed');
  assert.deepEqual(await response, { status: 200, body: 'slept 2000' });

  const fresh = connectHttp2(`http://127.0.0.1:${cluster.port}`);
  t.after(() => fresh.destroy());
  const pid = await new Promise<number>((resolve, reject) => {
    const request = fresh.request({ ':path': '/pid' });
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => resolve((JSON.parse(body) as { pid: number }).pid));
    request.on('error', reject);
  });
  assert.notEqual(pid, oldPid);
  assert.ok(generationPids(cluster, 2).includes(pid), 'the new connection lands on generation 2');
});

test('replacement of a killed worker runs the new generation', async (t) => {
  const dir = tempDir();
  const app = join(dir, 'versioned.mjs');
  writeVersionedApp(app, 'v1');
  const cluster = await TestCluster.start({ config: { app, workers: 2 } });
  t.after(() => cluster.stop());
  assert.equal((await httpGet(cluster.url('/'))).headers['x-app-version'], 'v1');

  writeVersionedApp(app, 'v2');
  const reload = await runCli(['reload', '--config', cluster.configPath]);
  assert.equal(reload.code, 0, reload.stderr);
  const [victim] = cluster.workerPids();
  assert.ok(victim);
  process.kill(victim, 'SIGKILL');
  const replacement = await cluster.waitForLog((line) => isMaster(line) && line.msg === 'worker ready' && (line.workerId as number) > 4, 10_000);
  assert.equal(replacement.workerGeneration, 2);

  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    const response = await httpGet(cluster.url('/'));
    assert.equal(response.headers['x-app-version'], 'v2');
    reached = pidOf(response.body) === replacement.workerPid;
  }
  assert.ok(reached, 'the replacement answered');
});

// The two longest scenarios mostly wait, so they share their time.
describe('long reload scenarios', { concurrency: true }, () => {
  test('failed reload keeps the old generation serving', async (t) => {
    const dir = tempDir();
    const app = join(dir, 'app.mjs');
    writeFileSync(app, `export { default } from ${JSON.stringify(APP)};\n`);
    const cluster = await TestCluster.start({ config: { app, workers: 2 } });
    t.after(() => cluster.stop());
    const initial = cluster.workerPids().sort();
    const config = JSON.parse(readFileSync(cluster.configPath, 'utf8')) as Record<string, unknown>;

    // Requests every 100 ms for the whole test: all must be 200 from the initial workers.
    const seen = new Set<number>();
    const failures: string[] = [];
    let polling = true;
    const poller = (async () => {
      for (let i = 0; polling && i < 1000; i++) {
        try {
          const response = await httpGet(cluster.url('/pid'));
          if (response.status !== 200) failures.push(`status ${response.status}`);
          else seen.add(pidOf(response.body));
        } catch (error) {
          failures.push(String(error));
        }
        await sleep(100);
      }
    })();

    // An application that throws at load: SIGHUP, then the reload command.
    writeFileSync(app, 'throw new Error("broken on purpose");\n');
    cluster.signal('SIGHUP');
    await reloadsFinished(cluster, 1);
    const byCommand = await runCli(['reload', '--config', cluster.configPath]);
    assert.notEqual(byCommand.code, 0);
    assert.match(byCommand.stderr, /reload failed: New worker \d+ of generation \d+ failed to start: .*broken on purpose/);
    let status = await runCli(['status', '--json', '--config', cluster.configPath]);
    assert.equal(status.code, 0, status.stderr);
    const afterApp = JSON.parse(status.stdout) as { lastReload: { result: string; error: string }; reloads: { failed: number } };
    assert.equal(afterApp.lastReload.result, 'failed');
    assert.match(afterApp.lastReload.error, /broken on purpose/);
    assert.equal(afterApp.reloads.failed, 2);

    // A configuration with an invalid value.
    writeFileSync(app, `export { default } from ${JSON.stringify(APP)};\n`);
    writeFileSync(cluster.configPath, JSON.stringify({ ...config, shutdownTimeout: 'soon' }));
    const invalid = await runCli(['reload', '--config', cluster.configPath]);
    assert.notEqual(invalid.code, 0);
    assert.match(invalid.stderr, /reload failed: Invalid configuration: Invalid value for option "shutdownTimeout": "soon"/);
    status = await runCli(['status', '--config', cluster.configPath]);
    assert.match(status.stdout, /last reload FAILED, attempted generation \d+ never served: Invalid configuration/);
    assert.match(status.stdout, /0 succeeded, 3 failed/);

    // The old generation serves for 30 s after the last failure, with unchanged PIDs.
    await sleep(30_000);
    polling = false;
    await poller;
    assert.deepEqual(failures, []);
    assert.deepEqual([...seen].sort(), initial);
    assert.deepEqual(cluster.workerPids().sort(), initial);

    // Fixed: the next reload succeeds.
    writeFileSync(cluster.configPath, JSON.stringify(config));
    const fixed = await runCli(['reload', '--config', cluster.configPath]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stdout, /Reload succeeded/);
    status = await runCli(['status', '--json', '--config', cluster.configPath]);
    const afterFix = JSON.parse(status.stdout) as { lastReload: { result: string }; workers: Array<{ pid: number }> };
    assert.equal(afterFix.lastReload.result, 'succeeded');
    for (const worker of afterFix.workers) assert.ok(!initial.includes(worker.pid));
  });

  test('idle WebSockets see 1001 through ten reloads', async (t) => {
    const shutdownTimeout = 3000;
    const cluster = await TestCluster.start({ config: { app: APP, workers: 2, shutdownTimeout: '3s', maxConnections: 1000, connectionsPerIP: 1000 } });
    t.after(() => cluster.stop());

    // Each client reconnects after every close, so every reload closes all 200 again.
    const codes = new Map<number, number>();
    let reconnecting = true;
    const clients = new Set<WebSocket>();
    const keep = async (): Promise<void> => {
      for (let attempt = 0; reconnecting && attempt < 100; attempt++) {
        const socket = await openWebSocket(cluster.port).catch(() => null);
        if (!socket) {
          await sleep(50);
          continue;
        }
        const closed = new Promise<number>((resolve) => socket.once('close', (closeCode: number) => resolve(closeCode)));
        if (!reconnecting) {
          // Opened after the test stopped reconnecting, so the loop below never saw it.
          socket.close(1000);
          await closed;
          return;
        }
        clients.add(socket);
        const code = await closed;
        clients.delete(socket);
        if (reconnecting) codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    };
    const running = Array.from({ length: 200 }, () => keep());
    for (let i = 0; i < 100 && clients.size < 200; i++) await sleep(50);
    assert.equal(clients.size, 200);

    for (let reload = 0; reload < 10; reload++) {
      cluster.signal('SIGHUP');
      await sleep(2000);
    }
    const requested = (): number => cluster.logs.filter((line) => isMaster(line) && line.msg === 'reload started').reduce((sum, line) => sum + (line.mergedRequests as number), 0);
    for (let i = 0; i < 200 && requested() < 10; i++) await sleep(100);
    const rollouts = cluster.logs.filter((line) => isMaster(line) && line.msg === 'reload started').length;
    await reloadsFinished(cluster, rollouts);
    reconnecting = false;
    for (const socket of clients) socket.close(1000);
    await Promise.all(running);

    assert.deepEqual([...codes.keys()], [1001], `close codes seen: ${JSON.stringify([...codes])}`);
    assert.ok((codes.get(1001) ?? 0) >= 200 * rollouts, `${codes.get(1001)} closes with 1001 for ${rollouts} rollouts`);

    // Replay the master's log: never more than two generations alive, and each drain bounded.
    const alive = new Map<number, number>();
    const drainingSince = new Map<number, number>();
    for (const line of cluster.logs.filter(isMaster)) {
      const pid = line.workerPid as number;
      if (line.msg === 'worker started') alive.set(pid, line.workerGeneration as number);
      if (line.msg === 'worker draining') drainingSince.set(pid, Date.parse(line.time as string));
      if (line.msg === 'worker stopped' || line.msg === 'worker crashed') {
        alive.delete(pid);
        const since = drainingSince.get(pid);
        if (since !== undefined) assert.ok(Date.parse(line.time as string) - since <= shutdownTimeout + 1000, `worker ${pid} drained for longer than shutdownTimeout + 1 s`);
      }
      assert.ok(new Set(alive.values()).size <= 2, `generations alive at once: ${[...new Set(alive.values())].join(', ')}`);
    }
    t.diagnostic(`${rollouts} rollouts for 10 SIGHUPs, ${codes.get(1001)} closes with 1001`);
  });
});
