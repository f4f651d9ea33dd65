// End-to-end tests of the cluster core: a real cluster started by the CLI, real sockets on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { cpSync, writeFileSync, mkdirSync, symlinkSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CLI, FIXTURES, REPO_ROOT, TestCluster, tempDir } from './helpers/cluster.js';
import { closedWithoutResponse, freePort, httpGet, openConnection, rawExchange, requestOn, sleep } from './helpers/net.js';

const APP = join(FIXTURES, 'app.mjs');

/** A copy of the fixture site with a random binary file and a symlink that leaves the root. */
function makeSite(): { root: string; blob: Buffer; outside: string } {
  const dir = tempDir();
  const root = join(dir, 'site');
  cpSync(join(FIXTURES, 'site'), root, { recursive: true });
  const blob = randomBytes(300_000);
  writeFileSync(join(root, 'blob.bin'), blob);
  const outside = join(dir, 'secret.txt');
  writeFileSync(outside, 'SECRET-OUTSIDE-ROOT\n');
  symlinkSync(outside, join(root, 'escape.txt'));
  mkdirSync(join(root, 'empty-dir'));
  return { root, blob, outside };
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port }, () => server.close(() => resolve(true)));
  });
}

/** True while the process runs; a zombie has exited and freed its resources, so it counts as gone. */
function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

test('two workers answer fresh connections on one port', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2 } });
  t.after(() => cluster.stop());

  const pids = new Set<number>();
  for (let i = 0; i < 20 && pids.size < 2; i++) {
    const response = await httpGet(cluster.url('/pid'));
    assert.equal(response.status, 200);
    pids.add((JSON.parse(response.body.toString()) as { pid: number }).pid);
  }
  assert.equal(pids.size, 2);
  assert.ok(!pids.has(cluster.pid), 'the master never answers requests');
});

test('static files are byte-identical with their content type', async (t) => {
  const site = makeSite();
  const cluster = await TestCluster.start({ config: { app: APP, root: site.root } });
  t.after(() => cluster.stop());

  const blob = await httpGet(cluster.url('/blob.bin'));
  assert.equal(blob.status, 200);
  assert.equal(blob.headers['content-type'], 'application/octet-stream');
  assert.ok(blob.body.equals(site.blob), 'body differs from the file');

  const css = await httpGet(cluster.url('/style.css'));
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.equal(css.body.toString(), readFileSync(join(site.root, 'style.css'), 'utf8'));

  const index = await httpGet(cluster.url('/'));
  assert.equal(index.status, 200);
  assert.match(index.body.toString(), /index of the fixture site/);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');

  const redirect = await httpGet(cluster.url('/sub?x=1'));
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, '/sub/?x=1');
  assert.equal((await httpGet(cluster.url('/sub/'))).body.toString(), 'nested\n');

  const head = await httpGet(cluster.url('/blob.bin'), { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(site.blob.length));
  assert.equal(head.body.length, 0);
});

test('missing file is 404', async (t) => {
  const site = makeSite();
  const cluster = await TestCluster.start({ config: { root: site.root } });
  t.after(() => cluster.stop());

  assert.equal((await httpGet(cluster.url('/nope.txt'))).status, 404);
  assert.equal((await httpGet(cluster.url('/empty-dir/'))).status, 404);
});

test('traversal never leaves root', async (t) => {
  const site = makeSite();
  const cluster = await TestCluster.start({ config: { root: site.root } });
  t.after(() => cluster.stop());

  const targets = [
    '/../secret.txt',
    '/../../../../etc/passwd',
    '/%2e%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/sub/..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/%252e%252e/secret.txt',
    '/escape.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/secret.txt%00.html',
  ];
  for (const target of targets) {
    // Raw bytes, so no client normalises the path before it is sent.
    const response = await rawExchange(cluster.port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    assert.doesNotMatch(response, /SECRET-OUTSIDE-ROOT/, `${target} leaked a file outside root`);
    assert.doesNotMatch(response, /root:x:0:0/, `${target} leaked /etc/passwd`);
    assert.match(response, /^HTTP\/1\.1 (400|404) /, `${target}: ${response.slice(0, 40)}`);
  }

  const malformed = await rawExchange(cluster.port, 'GET /%E0%A4%A HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  assert.match(malformed, /^HTTP\/1\.1 400 /);
});

test('per-IP limit holds across workers', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, connectionsPerIP: 3, maxConnections: 100 } });
  t.after(() => cluster.stop());

  const held = [];
  for (let i = 0; i < 3; i++) {
    const connection = await openConnection(cluster.port, '127.0.0.2');
    assert.match(await requestOn(connection, '/pid'), /^HTTP\/1\.1 200 /, `held connection ${i + 1} is served`);
    held.push(connection);
  }

  const fourth = await openConnection(cluster.port, '127.0.0.2');
  assert.ok(await closedWithoutResponse(fourth), 'the fourth connection from 127.0.0.2 is closed without a response');

  const other = await openConnection(cluster.port, '127.0.0.3');
  assert.match(await requestOn(other, '/pid'), /^HTTP\/1\.1 200 /, '127.0.0.3 still gets in');
  other.socket.destroy();

  for (const connection of held) connection.socket.destroy();
  await Promise.all(held.map((c) => c.closed));

  // Close reports travel back in batches; the next connection is admitted once they arrived.
  let admitted = false;
  for (let attempt = 0; attempt < 20 && !admitted; attempt++) {
    const again = await openConnection(cluster.port, '127.0.0.2');
    admitted = await requestOn(again, '/pid').then(
      () => true,
      () => false,
    );
    again.socket.destroy();
    if (!admitted) await sleep(50);
  }
  assert.ok(admitted, '127.0.0.2 is admitted again after its connections closed');
  // The rejection is logged with its reason.
  await cluster.waitForLog((line) => line.msg.startsWith('connection rejected') && line.reason === 'per_ip', 2000);
});

test('maxConnections closes the seventh connection', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, maxConnections: 6, connectionsPerIP: 100 } });
  t.after(() => cluster.stop());

  const held = [];
  for (let i = 0; i < 6; i++) {
    const connection = await openConnection(cluster.port, `127.0.0.${10 + i}`);
    assert.match(await requestOn(connection, '/pid'), /^HTTP\/1\.1 200 /);
    held.push(connection);
  }
  const seventh = await openConnection(cluster.port, '127.0.0.30');
  assert.ok(await closedWithoutResponse(seventh), 'the seventh connection is closed without a response');
  await cluster.waitForLog((line) => line.reason === 'max_connections', 2000);
  for (const connection of held) connection.socket.destroy();
});

test('trusted proxy is exempt from connectionsPerIP', async (t) => {
  const cluster = await TestCluster.start({
    config: { app: APP, connectionsPerIP: 2, maxConnections: 100, trustedProxies: ['127.0.0.4/32'] },
  });
  t.after(() => cluster.stop());

  const held = [];
  for (let i = 0; i < 6; i++) {
    const connection = await openConnection(cluster.port, '127.0.0.4');
    assert.match(await requestOn(connection, '/pid'), /^HTTP\/1\.1 200 /, `proxy connection ${i + 1} is served`);
    held.push(connection);
  }
  for (const connection of held) connection.socket.destroy();
});

test('killed worker is replaced and requests keep succeeding', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2 } });
  t.after(() => cluster.stop());

  const initial = cluster.workerPids();
  const [victim] = initial;
  assert.ok(victim);
  process.kill(victim, 'SIGKILL');

  // Requests during the restart go to the surviving worker.
  for (let i = 0; i < 20; i++) assert.equal((await httpGet(cluster.url('/pid'))).status, 200);

  await cluster.waitForLog((line) => line.worker === 'master' && line.msg === 'worker ready' && !initial.includes(line.workerPid as number));
  assert.ok(cluster.logs.some((line) => line.msg === 'worker crashed' && line.workerPid === victim));
  assert.equal(cluster.workerPids().length, 2);
  assert.ok(!cluster.workerPids().includes(victim));

  const pids = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const response = await httpGet(cluster.url('/pid'));
    assert.equal(response.status, 200);
    pids.add((JSON.parse(response.body.toString()) as { pid: number }).pid);
  }
  assert.ok(!pids.has(victim));
});

test('SIGTERM lets an in-flight request finish', async () => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, shutdownTimeout: '5s' } });
  const inFlight = httpGet(cluster.url('/slow?ms=1500'));
  await sleep(200);
  cluster.signal('SIGTERM');

  const response = await inFlight;
  assert.equal(response.status, 200);
  assert.equal(response.body.toString(), 'slept 1500');
  const exit = await cluster.waitExit();
  assert.equal(exit.code, 0);
  assert.ok(await isPortFree(cluster.port), 'the port is released');
});

test('SIGTERM closes idle keep-alive connections at once', async () => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, shutdownTimeout: '10s' } });
  const idle = [];
  for (let i = 0; i < 4; i++) {
    const connection = await openConnection(cluster.port);
    assert.match(await requestOn(connection, '/pid'), /^HTTP\/1\.1 200 /);
    idle.push(connection);
  }
  const started = Date.now();
  cluster.signal('SIGTERM');
  await Promise.all(idle.map((connection) => connection.closed));
  const exit = await cluster.waitExit();
  assert.equal(exit.code, 0);
  assert.ok(Date.now() - started < 2000, `shutdown took ${Date.now() - started} ms with only idle connections open`);
});

test('killing the master ends every worker', async () => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2 } });
  const workers = cluster.workerPids();
  assert.equal(workers.length, 2);

  cluster.signal('SIGKILL');
  await cluster.waitExit();
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline && workers.some(isAlive)) await sleep(50);
  assert.deepEqual(workers.filter(isAlive), [], 'workers outlived the master by more than 2 s');
  assert.ok(await isPortFree(cluster.port), 'the port can be bound again');
});

test('misspelled option exits before binding', async () => {
  const port = await freePort();
  const dir = tempDir();
  const configPath = join(dir, 'bad.json');
  writeFileSync(configPath, JSON.stringify({ listen: [{ host: '127.0.0.1', port }], maxConnection: 10 }));

  const child = spawn(process.execPath, [CLI, 'start', '--config', configPath], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  let bound = false;
  const watcher = setInterval(() => {
    void isPortFree(port).then((free) => {
      if (!free) bound = true;
    });
  }, 5);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearInterval(watcher);

  assert.notEqual(code, 0);
  assert.match(stderr, /Unknown option "maxConnection"/);
  assert.match(stderr, /Did you mean "maxConnections"\?/);
  assert.equal(stdout, '', 'nothing started, so nothing was logged');
  assert.equal(bound, false, 'the port was never bound');
});

test('invalid value names option, value and range', () => {
  let stderr = '';
  try {
    execFileSync(process.execPath, [CLI, 'start', '--listen', '127.0.0.1:0', '--workers', '0'], { cwd: REPO_ROOT, stdio: 'pipe' });
  } catch (error) {
    stderr = String((error as { stderr: Buffer }).stderr);
  }
  assert.match(stderr, /Option "workers" is out of range: 0\. Accepted range: 1 to 1024/);
});

test('application that fails to load stops startup', async () => {
  const dir = tempDir();
  const app = join(dir, 'broken.mjs');
  writeFileSync(app, 'throw new Error("broken on purpose");\n');
  const cluster = await TestCluster.start({ config: { app, workers: 2 }, waitReady: false });
  const exit = await cluster.waitExit(15_000);
  assert.equal(exit.code, 78);
  assert.ok(cluster.logs.some((line) => line.msg === 'application failed to load' && String(line.err).includes('broken on purpose')));
  assert.ok(
    cluster.stderr.some((line) => line.includes('cluster failed to start: Cannot load application') && line.includes('broken on purpose')),
    `stderr names the reason: ${cluster.stderr.join('\n')}`,
  );
});

test('application outside the repository imports the package', async (t) => {
  const dir = tempDir('aerys-app-');
  const app = join(dir, 'app.mjs');
  writeFileSync(
    app,
    [
      "import { readBody } from 'aerys-cluster';",
      'export default async function (req, res) {',
      '  const body = await readBody(req);',
      "  res.end(`got ${body.length} bytes`);",
      '}',
      '',
    ].join('\n'),
  );
  const cluster = await TestCluster.start({ config: { app, workers: 1 } });
  t.after(() => cluster.stop());
  const response = await httpGet(cluster.url('/'), { method: 'POST', body: 'hello' });
  assert.equal(response.status, 200);
  assert.equal(response.body.toString(), 'got 5 bytes');
});

test('PID file names the master', async (t) => {
  const pidFile = join(tempDir(), 'aerys.pid');
  const cluster = await TestCluster.start({ config: { app: APP }, args: ['--pid-file', pidFile] });
  t.after(() => cluster.stop());
  assert.equal(readFileSync(pidFile, 'utf8').trim(), String(cluster.pid));
});

test('application error becomes 500 and the worker survives', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1 } });
  t.after(() => cluster.stop());
  const before = cluster.workerPids();
  assert.equal((await httpGet(cluster.url('/throw'))).status, 500);
  assert.equal((await httpGet(cluster.url('/pid'))).status, 200);
  assert.deepEqual(cluster.workerPids(), before);
});

test('method outside allowedMethods gets 405 with Allow', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1, allowedMethods: ['GET', 'HEAD'] } });
  t.after(() => cluster.stop());
  const response = await httpGet(cluster.url('/pid'), { method: 'POST', body: 'x' });
  assert.equal(response.status, 405);
  assert.equal(response.headers.allow, 'GET, HEAD');
});
