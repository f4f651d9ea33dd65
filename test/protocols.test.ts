// End-to-end tests of the protocol stack: HTTP/1.1, h2c, h2 and HTTP/1.1 over TLS and WebSocket
// through a real two-worker cluster, with real clients (node:http, node:http2, ws, curl, h2load).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { constants as h2constants } from 'node:http2';
import { promisify } from 'node:util';
import { join } from 'node:path';
import WebSocket from 'ws';
import { FIXTURES, TestCluster } from './helpers/cluster.js';
import { rawExchange, sleep } from './helpers/net.js';
import { DEV_CA, DEV_CERT, DEV_KEY, exchange, openSession, requestOnSession, type Transport } from './helpers/protocols.js';

const run = promisify(execFile);
const APP = join(FIXTURES, 'protocols-app.mjs');
const KiB = 1024;
const MiB = 1024 * KiB;
const MAX_BODY = 128 * KiB;
const SOFT_STREAM_CAP = 128 * KiB;
/** The fixture app's stream() chunk. */
const CHUNK = 64 * KiB;
const HEARTBEAT_MS = 400;
const QUEUED_PING_LIMIT = 2;

let cluster: TestCluster;
let plainPort = 0;
let tlsPort = 0;

before(async () => {
  cluster = await TestCluster.start({
    config: {
      app: APP,
      workers: 2,
      listen: [
        { host: '127.0.0.1', port: 0 },
        { host: '127.0.0.1', port: 0, tls: { cert: DEV_CERT, key: DEV_KEY } },
      ],
      maxBodySize: MAX_BODY,
      softStreamCap: SOFT_STREAM_CAP,
      maxConcurrentStreams: 5,
      websocket: { heartbeatPeriod: HEARTBEAT_MS, queuedPingLimit: QUEUED_PING_LIMIT, maxMessageSize: '2MiB' },
    },
  });
  plainPort = cluster.ports[0] ?? 0;
  tlsPort = cluster.ports[1] ?? 0;
});

after(() => cluster.stop());

function portOf(transport: Transport): number {
  return transport === 'http1' || transport === 'h2c' ? plainPort : tlsPort;
}

const TRANSPORTS: readonly Transport[] = ['http1', 'h2c', 'h2', 'https1'];

/** Worker crashes logged by the master since the cluster started. */
function crashes(): string[] {
  return cluster.logs.filter((line) => line.worker === 'master' && /crash/i.test(line.msg)).map((line) => line.msg);
}

for (const transport of TRANSPORTS) {
  test(`request matrix over ${transport}`, async () => {
    const port = portOf(transport);
    const expectedVersion = transport === 'h2c' || transport === 'h2' ? '2.0' : '1.1';

    const hello = await exchange(transport, port, '/hello');
    assert.equal(hello.status, 200);
    assert.equal(hello.httpVersion, expectedVersion);
    assert.equal(hello.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(hello.headers['x-route'], 'hello');
    assert.equal(hello.body.toString(), `hello over HTTP/${expectedVersion}\n`);

    const head = await exchange(transport, port, '/hello', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(hello.body.length));
    assert.equal(head.body.length, 0);

    const payload = Buffer.from(`posted over ${transport} `.repeat(500));
    const echo = await exchange(transport, port, '/echo', { method: 'POST', body: payload, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(echo.status, 200);
    assert.ok(echo.body.equals(payload), 'echoed body differs');

    const missing = await exchange(transport, port, '/missing');
    assert.equal(missing.status, 404);

    const notAllowed = await exchange(transport, port, '/hello', { method: 'PROPFIND' });
    assert.equal(notAllowed.status, 405);
    assert.equal(notAllowed.headers.allow, 'GET, POST, PUT, PATCH, HEAD, OPTIONS, DELETE');
  });
}

test('curl negotiates HTTP/2 by prior knowledge and ALPN', async () => {
  const prior = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', '--http2-prior-knowledge', `http://127.0.0.1:${plainPort}/hello`]);
  assert.equal(prior.stdout, '2 200');
  const alpn = await run('curl', ['-s', '-k', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', '--http2', `https://127.0.0.1:${tlsPort}/hello`]);
  assert.equal(alpn.stdout, '2 200');
  const noAlpn = await run('curl', ['-s', '-k', '--no-alpn', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `https://127.0.0.1:${tlsPort}/hello`]);
  assert.equal(noAlpn.stdout, '1.1 200', 'a client without ALPN gets HTTP/1.1');
});

test('h2load completes 1000 requests on h2c and TLS', async () => {
  for (const url of [`http://127.0.0.1:${plainPort}/hello`, `https://127.0.0.1:${tlsPort}/hello`]) {
    // -m stays at the advertised maxConcurrentStreams (5), so no stream is refused.
    const { stdout } = await run('h2load', ['-n', '1000', '-c', '4', '-m', '5', url], { timeout: 30_000 });
    assert.match(stdout, /requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed, 0 errored, 0 timeout/, stdout);
    assert.match(stdout, /status codes: 1000 2xx/, stdout);
    if (url.startsWith('https')) assert.match(stdout, /Application protocol: h2/);
  }
});

interface StreamStats {
  pid: number;
  maxBuffered: number;
  waits: number;
  lastStreamBytes: number;
  completed: number;
  rejected: number;
  running: number;
}

/** Fetches the stream statistics of the worker with `pid` over fresh connections until that worker responds. */
async function streamStatsOf(pid: number): Promise<StreamStats> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const response = await exchange('http1', plainPort, '/stream-stats');
    const stats = JSON.parse(response.body.toString()) as StreamStats;
    if (stats.pid === pid) return stats;
  }
  throw new Error(`worker ${pid} did not answer /stream-stats in 40 connections`);
}

/** Reads a 50 MiB response over HTTP/1.1 in bursts with pauses in between; resolves with the worker pid and bytes. */
function slowReadHttp1(bytes: number): Promise<{ pid: number; received: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: plainPort, path: `/stream?bytes=${bytes}`, agent: false }, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        // Each time another 8 MiB arrived, stop reading for a while so the worker's output backs up.
        if (received % (8 * MiB) < chunk.length) {
          res.pause();
          setTimeout(() => res.resume(), 250);
        }
      });
      res.on('end', () => resolve({ pid: Number(res.headers['x-worker-pid']), received }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function slowReadHttp2(bytes: number): Promise<{ pid: number; received: number }> {
  return new Promise((resolve, reject) => {
    const session = openSession(`http://127.0.0.1:${plainPort}`);
    const stream = session.request({ ':path': `/stream?bytes=${bytes}` });
    let pid = 0;
    let received = 0;
    stream.on('response', (headers) => {
      pid = Number(headers['x-worker-pid']);
    });
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received % (8 * MiB) < chunk.length) {
        stream.pause();
        setTimeout(() => stream.resume(), 250);
      }
    });
    stream.on('end', () => {
      session.close();
      resolve({ pid, received });
    });
    stream.on('error', reject);
  });
}

test('slow reader keeps buffered bytes under softStreamCap plus one chunk', async (t) => {
  const bytes = 50 * MiB;
  for (const read of [slowReadHttp1, slowReadHttp2]) {
    const { pid, received } = await read(bytes);
    assert.equal(received, bytes);
    const stats = await streamStatsOf(pid);
    assert.ok(stats.waits > 0, `stream() never reached softStreamCap in worker ${pid}, so the cap was not exercised`);
    assert.ok(stats.maxBuffered <= SOFT_STREAM_CAP + CHUNK, `worker ${pid} buffered ${stats.maxBuffered} bytes, over ${SOFT_STREAM_CAP + CHUNK}`);
    t.diagnostic(`${read.name}: worker ${pid} max buffered ${stats.maxBuffered} bytes, stream() waited ${stats.waits} times`);
  }
});

test('stalled reader holds the producer; disconnect rejects stream()', async (t) => {
  const total = 50 * MiB;
  for (const transport of ['http1', 'h2c'] as const) {
    // The client reads the first chunk, then stops reading, and `disconnect` drops the connection.
    const { pid, disconnect } = await new Promise<{ pid: number; disconnect: () => void }>((resolve, reject) => {
      if (transport === 'http1') {
        const req = httpRequest({ host: '127.0.0.1', port: plainPort, path: `/stream?bytes=${total}`, agent: false }, (res) => {
          res.once('data', () => {
            res.pause();
            resolve({ pid: Number(res.headers['x-worker-pid']), disconnect: () => req.destroy() });
          });
        });
        req.on('error', () => undefined);
        req.end();
        return;
      }
      const session = openSession(`http://127.0.0.1:${plainPort}`);
      const stream = session.request({ ':path': `/stream?bytes=${total}` });
      stream.on('response', (headers) => {
        stream.once('data', () => {
          stream.pause();
          resolve({ pid: Number(headers['x-worker-pid']), disconnect: () => session.destroy() });
        });
      });
      stream.on('error', reject);
    });

    await sleep(700);
    const stalled = await streamStatsOf(pid);
    assert.equal(stalled.running, 1, `the ${transport} stream in worker ${pid} is still running`);
    // Kernel socket buffers on loopback take a few MiB; everything past them waits in stream().
    assert.ok(stalled.lastStreamBytes < total / 4, `worker ${pid} produced ${stalled.lastStreamBytes} bytes for a stalled ${transport} reader`);
    t.diagnostic(`${transport}: a stalled reader let worker ${pid} produce ${stalled.lastStreamBytes} of ${total} bytes`);
    disconnect();

    let stats = await streamStatsOf(pid);
    for (let attempt = 0; attempt < 20 && stats.running > 0; attempt++) {
      await sleep(100);
      stats = await streamStatsOf(pid);
    }
    assert.equal(stats.running, 0, `the producer in worker ${pid} kept running after ${transport} disconnect`);
    assert.ok(stats.rejected >= 1, `stream() did not reject in worker ${pid} over ${transport}`);
  }
});

test('body over maxBodySize gets 413 on every path', async () => {
  const announced = await rawExchange(
    plainPort,
    `POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`,
    3000,
  );
  assert.match(announced, /^HTTP\/1\.1 413 /, 'Content-Length over the limit is answered before any body byte');
  assert.match(announced, /connection: close/i);

  const body = Buffer.alloc(MAX_BODY + 1, 0x62);
  const chunked = await rawExchange(
    plainPort,
    Buffer.concat([
      Buffer.from(`POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n`),
      body,
      Buffer.from('\r\n0\r\n\r\n'),
    ]),
    // The connection stays open after this 413, so the exchange ends at the timeout.
    500,
  );
  assert.match(chunked, /^HTTP\/1\.1 413 /, 'chunked body one byte over');

  const session = openSession(`http://127.0.0.1:${plainPort}`);
  try {
    const overH2 = await requestOnSession(session, '/echo', { method: 'POST', body }).catch((error: { rstCode?: number }) => error);
    if ('status' in overH2) assert.equal(overH2.status, 413);
    else assert.ok(overH2.rstCode !== undefined, 'HTTP/2 body over the limit is answered with 413 or a reset');
  } finally {
    session.close();
  }

  const atLimit = Buffer.alloc(MAX_BODY, 0x63);
  for (const transport of ['http1', 'h2c'] as const) {
    const accepted = await exchange(transport, plainPort, '/echo', { method: 'POST', body: atLimit });
    assert.equal(accepted.status, 200, `body at the limit over ${transport}`);
    assert.equal(accepted.body.length, MAX_BODY);
  }
});

test('readBody limit can be raised or lowered per request', async () => {
  const lowered = await exchange('http1', plainPort, '/echo?max=10', { method: 'POST', body: 'eleven byte' });
  assert.equal(lowered.status, 413);
  const big = Buffer.alloc(MAX_BODY * 2, 0x64);
  const raised = await exchange('h2', tlsPort, `/echo?max=${MAX_BODY * 2}`, { method: 'POST', body: big });
  assert.equal(raised.status, 200);
  assert.equal(raised.body.length, big.length);
});

test('Expect: 100-continue gets 100, 413 or 417 before the body', async () => {
  const fits = await new Promise<string>((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port: plainPort });
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !text.includes('200 OK')) socket.write('hello');
      if (text.includes('\r\n\r\nhello')) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', reject);
    socket.write('POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  });
  assert.match(fits, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);

  const tooLarge = await rawExchange(plainPort, `POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${MAX_BODY + 1}\r\nExpect: 100-continue\r\n\r\n`, 3000);
  assert.match(tooLarge, /^HTTP\/1\.1 413 /, 'no 100 Continue for a body over the limit');

  // Node responds with 417 and keeps the connection open, so the exchange ends at the timeout.
  const unknown = await rawExchange(plainPort, 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: something-else\r\n\r\n', 500);
  assert.match(unknown, /^HTTP\/1\.1 417 /);
});

/** Max resident memory (KiB) of each worker as reported by /memory. */
async function maxRssByWorker(): Promise<Map<number, number>> {
  const result = new Map<number, number>();
  for (let attempt = 0; attempt < 40 && result.size < 2; attempt++) {
    const response = await exchange('http1', plainPort, '/memory');
    const memory = JSON.parse(response.body.toString()) as { pid: number; maxRssKiB: number };
    result.set(memory.pid, memory.maxRssKiB);
  }
  return result;
}

test('rejected 200 MiB body does not grow worker memory', async () => {
  const before = await maxRssByWorker();
  const total = 200 * MiB;
  const block = Buffer.alloc(MiB, 0x65);

  // A raw socket, because node:http's client stops sending once the response has ended.
  const outcome = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port: plainPort });
    const chunkHeader = Buffer.from(`${block.length.toString(16)}\r\n`);
    let sent = 0;
    let response = '';
    socket.on('data', (chunk: Buffer) => {
      response += chunk.toString('latin1');
    });
    socket.on('error', reject);
    const pump = (): void => {
      while (sent < total) {
        sent += block.length;
        socket.write(chunkHeader);
        socket.write(block);
        if (!socket.write('\r\n')) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end('0\r\n\r\n', () => {
        socket.destroy();
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0), sent });
      });
    };
    socket.write('POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n');
    pump();
  });
  assert.equal(outcome.status, 413);
  assert.equal(outcome.sent, total, 'the server drops the rest of the body instead of resetting the upload');

  // Read buffers become garbage at the rate the body arrives, so the peak rises by some tens of
  // MiB before the collector runs. Uploads of 20 MiB and 400 MiB peaked about as high as 200 MiB,
  // while a buffered body would add its full 200 MiB.
  const afterUpload = await maxRssByWorker();
  for (const [pid, maxRss] of afterUpload) {
    const growthKiB = maxRss - (before.get(pid) ?? maxRss);
    assert.ok(growthKiB < 64 * KiB, `worker ${pid} max RSS grew by ${growthKiB} KiB`);
  }
});

test('64 KiB header gets 431 on HTTP/1.1 and a refused stream on HTTP/2', async () => {
  const big = 'a'.repeat(64 * KiB);
  const http1 = await rawExchange(plainPort, `GET /hello HTTP/1.1\r\nHost: localhost\r\nX-Big: ${big}\r\n\r\n`, 3000);
  assert.match(http1, /^HTTP\/1\.1 431 /);

  const session = openSession(`http://127.0.0.1:${plainPort}`);
  try {
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    const refused = await requestOnSession(session, '/hello', { headers: { 'x-big': big } }).then(
      (response) => response.status,
      (error: { rstCode?: number; code?: string }) => error.rstCode ?? error.code,
    );
    assert.ok(refused === 431 || refused === h2constants.NGHTTP2_ENHANCE_YOUR_CALM, `oversized header list got ${String(refused)}`);
    const after = await requestOnSession(session, '/hello');
    assert.equal(after.status, 200, 'the session serves the next stream');
  } finally {
    session.close();
  }

  const survivor = await exchange('http1', plainPort, '/hello');
  assert.equal(survivor.status, 200);
  assert.deepEqual(crashes(), []);
});

test('sixth concurrent stream is refused at maxConcurrentStreams 5', async () => {
  const session = openSession(`http://127.0.0.1:${plainPort}`);
  try {
    // All six go out in the first write, before the server's SETTINGS can reach the client.
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        requestOnSession(session, '/slow?ms=600').then(
          (response) => response.status,
          (error: { rstCode?: number }) => `reset ${error.rstCode}`,
        ),
      ),
    );
    assert.deepEqual(results.filter((result) => result === 200).length, 5, JSON.stringify(results));
    assert.deepEqual(results.filter((result) => result === `reset ${h2constants.NGHTTP2_REFUSED_STREAM}`).length, 1, JSON.stringify(results));
  } finally {
    session.close();
  }
});

function echoOnce(url: string, message: string | Buffer): Promise<{ reply: Buffer | null; code: number; extensions: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca: DEV_CA });
    let reply: Buffer | null = null;
    ws.on('open', () => ws.send(message));
    ws.on('message', (data: Buffer) => {
      reply = data;
      ws.close(1000);
    });
    ws.on('close', (code) => resolve({ reply, code, extensions: ws.extensions }));
    ws.on('error', (error) => {
      if (ws.readyState !== WebSocket.CLOSED) return;
      reject(error);
    });
  });
}

test('WebSocket echo over ws:// and wss://', async () => {
  for (const url of [`ws://127.0.0.1:${plainPort}/ws`, `wss://localhost:${tlsPort}/ws`]) {
    const { reply, code, extensions } = await echoOnce(url, `ping over ${url}`);
    assert.equal(reply?.toString(), `ping over ${url}`);
    assert.equal(code, 1000);
    assert.equal(extensions, '', 'permessage-deflate is off by default');
  }
});

test('3 MiB WebSocket message closes with 1009', async () => {
  const { reply, code } = await echoOnce(`ws://127.0.0.1:${plainPort}/ws`, Buffer.alloc(3 * MiB));
  assert.equal(reply, null);
  assert.equal(code, 1009);
});

test('WebSocket peer that ignores pings is terminated', async () => {
  const limitMs = HEARTBEAT_MS * (QUEUED_PING_LIMIT + 1);
  const result = await new Promise<{ elapsedMs: number; pings: number }>((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port: plainPort });
    let upgradedAt = 0;
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (upgradedAt === 0 && received.includes('\r\n\r\n')) {
        assert.match(received.toString('latin1'), /^HTTP\/1\.1 101 /);
        upgradedAt = performance.now();
        received = received.subarray(received.indexOf('\r\n\r\n') + 4);
      }
    });
    socket.on('close', () => {
      // Unmasked server ping frames with an empty payload: 0x89 0x00.
      let pings = 0;
      for (let i = 0; i + 1 < received.length; i++) if (received[i] === 0x89 && received[i + 1] === 0x00) pings++;
      resolve({ elapsedMs: performance.now() - upgradedAt, pings });
    });
    socket.on('error', reject);
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
  assert.equal(result.pings, QUEUED_PING_LIMIT, 'the peer was pinged queuedPingLimit times before termination');
  // Timers on a loaded 2-core machine fire late, so the check allows 250 ms of scheduling delay.
  assert.ok(result.elapsedMs <= limitMs + 250, `terminated after ${Math.round(result.elapsedMs)} ms, limit ${limitMs} ms`);
});

test('no worker crashed during the protocol tests', () => {
  assert.deepEqual(crashes(), []);
  assert.equal(cluster.workerPids().length, 2);
});
