// End-to-end tests of the admin listener: /metrics aggregated across workers (checked by promtool
// and by a real Prometheus server), /healthz, /readyz, /status and the access log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import WebSocket from 'ws';
import { FIXTURES, TestCluster, tempDir, writeTemp } from './helpers/cluster.js';
import { fetchText, parseSamples, scrapeSamples, sumSamples, type Sample } from './helpers/metrics.js';
import { freePort, httpGet, rawExchange, sleep } from './helpers/net.js';

const APP = join(FIXTURES, 'app.mjs');
const REQUESTS = 'aerys_http_requests_total';
const OPENMETRICS_ACCEPT = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';

function requireTool(command: string, pkg: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
  assert.ok(found, `${command} is not installed; run scripts/install-test-tools.sh (Debian package ${pkg})`);
}

/** Sends `count` GET requests over `parallel` keep-alive connections; returns the ids of the workers that responded. */
async function sendRequests(port: number, count: number, parallel = 10): Promise<Set<number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: parallel });
  const workers = new Set<number>();
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < count) {
      next++;
      const body = await getWithAgent(`http://127.0.0.1:${port}/pid`, agent);
      workers.add((JSON.parse(body) as { worker: number }).worker);
    }
  };
  await Promise.all(Array.from({ length: parallel }, loop));
  agent.destroy();
  return workers;
}

function getWithAgent(url: string, agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`status ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function workerLabels(samples: readonly Sample[], name: string): Set<string> {
  return new Set(samples.filter((s) => s.name === name && s.labels.worker !== undefined).map((s) => s.labels.worker!));
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

test('promtool check and access log', async (t) => {
  requireTool('promtool', 'prometheus');
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, admin: { port: 0 }, accessLog: true } });
  t.after(() => cluster.stop());

  await httpGet(cluster.url('/pid?x=1'));
  await httpGet(cluster.url('/missing'));
  await httpGet(cluster.url('/pid'), { method: 'LINK' });
  const overflow = await rawExchange(cluster.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
  assert.match(overflow, /^HTTP\/1\.1 431 /);

  const text = await fetchText(cluster.adminUrl('/metrics'));
  assert.equal(text.status, 200);
  assert.equal(text.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const check = await new Promise<{ code: number; output: string }>((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }));
    child.stdin?.end(text.body);
  });
  assert.equal(check.output.trim(), '', 'promtool reported problems');
  assert.equal(check.code, 0);

  const samples = parseSamples(text.body);
  assert.equal(sumSamples(samples, REQUESTS, { method: 'GET', status_class: '2xx', protocol: 'http1' }), 1);
  assert.equal(sumSamples(samples, REQUESTS, { method: 'GET', status_class: '4xx' }), 1);
  assert.equal(sumSamples(samples, REQUESTS, { method: 'other', status_class: '4xx' }), 1, 'unknown methods are labelled "other"');
  assert.equal(sumSamples(samples, 'aerys_http_limit_rejections_total', { limit: 'header' }), 1);
  assert.equal(sumSamples(samples, 'aerys_client_closes_total', { reason: 'header_too_large' }), 1);
  assert.equal(sumSamples(samples, 'aerys_http_request_duration_seconds_count', { protocol: 'http1' }), 3);
  assert.ok(sumSamples(samples, 'aerys_http_sent_bytes_total') > 0);
  assert.deepEqual(workerLabels(samples, 'nodejs_heap_size_used_bytes'), new Set(['master', '1', '2']));
  assert.equal(sumSamples(samples, 'aerys_workers', { state: 'ready' }), 2);
  for (const sample of samples) assert.ok(!('path' in sample.labels) && !('client' in sample.labels), `${sample.name} has a path or client label`);

  const openMetrics = await fetchText(cluster.adminUrl('/metrics'), OPENMETRICS_ACCEPT);
  assert.equal(openMetrics.contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  assert.ok(openMetrics.body.endsWith('# EOF\n'));
  assert.match(openMetrics.body, /^# TYPE aerys_http_requests counter$/m);
  assert.equal(sumSamples(parseSamples(openMetrics.body), REQUESTS), 3);

  const lines = cluster.logs.filter((line) => line.msg === 'request');
  assert.equal(lines.length, 3);
  const first = lines.find((line) => line.path === '/pid?x=1');
  assert.ok(first, 'no access log line for /pid?x=1');
  assert.equal(first.method, 'GET');
  assert.equal(first.status, 200);
  assert.equal(first.protocol, 'http1');
  assert.equal(first.client, '127.0.0.1');
  assert.equal(typeof first.bytes, 'number');
  assert.ok((first.bytes as number) > 0);
  assert.equal(typeof first.durationMs, 'number');
  assert.equal(typeof first.worker, 'number');
});

/** Sends one HTTP/2 request on `session` and resolves with its status. */
function http2Request(session: ClientHttp2Session, path: string, body?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ':method': body ? 'POST' : 'GET' });
    let status = 0;
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('error', reject);
    stream.resume();
    stream.on('close', () => resolve(status));
    stream.end(body);
  });
}

test('HTTP/2 and WebSocket metrics', async (t) => {
  const cluster = await TestCluster.start({ config: { app: join(FIXTURES, 'protocols-app.mjs'), workers: 1, admin: { port: 0 }, accessLog: true } });
  t.after(() => cluster.stop());

  const session = connectHttp2(`http://127.0.0.1:${cluster.port}`);
  for (let i = 0; i < 3; i++) assert.equal(await http2Request(session, '/hello'), 200);
  assert.equal(await http2Request(session, '/echo?max=10', Buffer.alloc(100)), 413);

  const ws = new WebSocket(`ws://127.0.0.1:${cluster.port}/`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  for (const text of ['one', 'two']) {
    const echoed = new Promise((resolve) => ws.once('message', resolve));
    ws.send(text);
    await echoed;
  }

  const open = await scrapeSamples(cluster.adminUrl('/metrics'));
  assert.equal(sumSamples(open, REQUESTS, { protocol: 'h2', status_class: '2xx' }), 3);
  assert.equal(sumSamples(open, REQUESTS, { protocol: 'h2', status_class: '4xx', method: 'POST' }), 1);
  assert.equal(sumSamples(open, 'aerys_http_limit_rejections_total', { limit: 'body' }), 1);
  assert.equal(sumSamples(open, 'aerys_http_connections_open', { protocol: 'h2' }), 1);
  assert.equal(sumSamples(open, 'aerys_websocket_connections_open'), 1);
  assert.equal(sumSamples(open, 'aerys_websocket_connections_total'), 1);
  assert.equal(sumSamples(open, 'aerys_websocket_messages_total', { direction: 'received' }), 2);
  assert.equal(sumSamples(open, 'aerys_websocket_messages_total', { direction: 'sent' }), 2);

  session.close();
  ws.close();
  let closed = open;
  for (let i = 0; i < 50 && sumSamples(closed, 'aerys_websocket_connections_open') + sumSamples(closed, 'aerys_http_connections_open') > 0; i++) {
    await sleep(100);
    closed = await scrapeSamples(cluster.adminUrl('/metrics'));
  }
  assert.equal(sumSamples(closed, 'aerys_http_connections_open', { protocol: 'h2' }), 0);
  assert.equal(sumSamples(closed, 'aerys_websocket_connections_open'), 0);
  assert.ok(sumSamples(closed, 'aerys_http_sent_bytes_total', { protocol: 'h2' }) > 0, 'HTTP/2 bytes count when the connection closes');

  const line = cluster.logs.find((entry) => entry.msg === 'request' && entry.protocol === 'h2');
  assert.ok(line, 'no access log line for an HTTP/2 request');
  assert.equal(line.client, '127.0.0.1');
  assert.equal(line.path, '/hello');
});

test('health, readiness and status endpoints answer', async (t) => {
  // The application takes a while to load, so the cluster is observably starting.
  const slowApp = writeTemp('slow-start.mjs', "await new Promise((resolve) => setTimeout(resolve, 1500));\nexport default (req, res) => res.end('ok');\n");
  const cluster = await TestCluster.start({ config: { app: slowApp, workers: 1, admin: { port: 0 } }, waitReady: false });
  t.after(() => cluster.stop());

  const listening = await cluster.waitForLog((line) => line.msg === 'admin listener ready', 15_000);
  cluster.adminAddress = listening.admin as string;
  const starting = await fetchText(cluster.adminUrl('/readyz'));
  assert.equal(starting.status, 503);
  assert.equal(starting.body, 'not ready: starting\n');
  assert.equal((await fetchText(cluster.adminUrl('/healthz'))).status, 200);

  await cluster.ready();
  assert.equal((await fetchText(cluster.adminUrl('/readyz'))).status, 200);
  const status = await fetchText(cluster.adminUrl('/status'));
  assert.equal(status.status, 200);
  const snapshot = JSON.parse(status.body) as { state: string; workers: unknown[] };
  assert.equal(snapshot.state, 'running');
  assert.equal(snapshot.workers.length, 1);
  assert.equal((await fetchText(cluster.adminUrl('/nothing'))).status, 404);
});

test('readyz turns 503 when SIGTERM arrives', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1, admin: { port: 0 }, shutdownTimeout: 5000 } });
  t.after(() => cluster.stop());
  assert.equal((await fetchText(cluster.adminUrl('/readyz'))).status, 200);

  // An in-flight request keeps the worker draining, so the master stays up until it is complete.
  const inFlight = httpGet(cluster.url('/slow?ms=1500'));
  await sleep(200);
  cluster.signal('SIGTERM');
  await cluster.waitForLog((line) => line.msg === 'signal received');
  const readiness = await fetchText(cluster.adminUrl('/readyz'));
  assert.equal(readiness.status, 503);
  assert.equal(readiness.body, 'not ready: stopping\n');

  // The master logs "signal received", sets its state to stopping and closes its listeners in one
  // synchronous handler, so the admin listener cannot respond in between.
  await cluster.waitForLog((line) => line.msg === 'shutting down');
  assert.equal((await inFlight).status, 200, 'the in-flight request is still answered');
});

test('drained worker sends its final counts', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, admin: { port: 0 }, shutdownTimeout: 5000 } });
  t.after(() => cluster.stop());
  // No scrape before the drain, so the exited worker's counts can only come from its final report.
  const workers = await sendRequests(cluster.port, 200, 4);
  assert.equal(workers.size, 2, 'both workers served requests');

  const inFlight = httpGet(cluster.url('/slow?ms=2500'));
  await sleep(200);
  cluster.signal('SIGTERM');
  await cluster.waitForLog((line) => line.msg === 'worker stopped');
  const samples = await scrapeSamples(cluster.adminUrl('/metrics'));
  assert.equal(sumSamples(samples, 'aerys_workers', { state: 'draining' }), 1);
  assert.equal(sumSamples(samples, REQUESTS), 200);
  assert.equal((await inFlight).status, 200);
});

describe('request counter across workers', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start({ config: { app: APP, workers: 2, admin: { port: 0 } } });
  });
  after(() => cluster.stop());

  test('1,000 requests sum exactly on every scrape', async () => {
    const workers = await sendRequests(cluster.port, 1000);
    assert.equal(workers.size, 2, 'both workers served requests');

    for (let i = 0; i < 20; i++) {
      const samples = await scrapeSamples(cluster.adminUrl('/metrics'));
      assert.equal(sumSamples(samples, REQUESTS), 1000, `scrape ${i + 1}`);
      assert.equal(sumSamples(samples, 'aerys_http_request_duration_seconds_count'), 1000, `scrape ${i + 1}`);
    }
  });

  test('counter never falls after kill -9 and SIGHUP', async () => {
    const victim = cluster.workerPids()[0]!;
    const values: number[] = [];
    const record = async (): Promise<void> => {
      values.push(sumSamples(await scrapeSamples(cluster.adminUrl('/metrics')), REQUESTS));
    };

    await record();
    process.kill(victim, 'SIGKILL');
    await cluster.waitForLog((line) => line.msg === 'worker crashed' && line.workerPid === victim);
    await record();
    cluster.signal('SIGHUP');
    for (let i = 0; values.length < 20; i++) {
      if (i % 4 === 0) await sendRequests(cluster.port, 10, 2);
      await record();
      await sleep(100);
    }
    // Scrapes after the rollout finished see only new-generation workers plus the kept totals.
    await cluster.waitForLog((line) => line.worker === 'master' && line.msg === 'reload succeeded', 15_000);
    for (let i = 0; i < 3; i++) await record();

    for (let i = 1; i < values.length; i++) assert.ok(values[i]! >= values[i - 1]!, `scrape ${i + 1} fell: ${values.join(', ')}`);
    assert.ok(values.every((value) => value >= 1000), `a scrape is below 1000: ${values.join(', ')}`);
    const samples = await scrapeSamples(cluster.adminUrl('/metrics'));
    assert.ok(sumSamples(samples, 'aerys_worker_restarts_total', { reason: 'crash' }) >= 1);
  });
});

test('scrape with a blocked worker', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, admin: { port: 0, scrapeTimeout: 1000 }, workerTimeout: 30_000, shutdownTimeout: 1000 } });
  t.after(() => cluster.stop());
  await sendRequests(cluster.port, 20, 2);
  const before = await scrapeSamples(cluster.adminUrl('/metrics'));
  assert.equal(sumSamples(before, 'aerys_metrics_scrape_worker_timeouts_total'), 0);

  // The blocked request is not awaited: stopping the cluster kills its worker at shutdownTimeout.
  void httpGet(cluster.url('/block?ms=8000')).catch(() => null);
  const blocking = await cluster.waitForLog((line) => line.msg === 'fixture blocking');
  const scrape = await fetchText(cluster.adminUrl('/metrics'));
  assert.equal(scrape.status, 200);
  assert.ok(scrape.elapsedMs < 2000, `the scrape took ${Math.round(scrape.elapsedMs)} ms`);

  const samples = parseSamples(scrape.body);
  assert.deepEqual(workerLabels(samples, 'nodejs_heap_size_used_bytes'), new Set(['master', String(blocking.worker === 1 ? 2 : 1)]));
  assert.ok(sumSamples(samples, 'aerys_metrics_scrape_worker_timeouts_total') >= 1);
  assert.ok(sumSamples(samples, REQUESTS) >= 20, 'the blocked worker counts with its last known values');
});

test('Prometheus scrapes the admin listener', async (t) => {
  requireTool('prometheus', 'prometheus');
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, admin: { port: 0 } } });
  t.after(() => cluster.stop());
  await sendRequests(cluster.port, 50, 5);

  const dir = tempDir('aerys-prometheus-');
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', '  - job_name: aerys', '    static_configs:', `      - targets: ['${cluster.adminAddress}']`, ''].join('\n'),
  );
  const port = await freePort();
  const prometheus = spawn('prometheus', [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  const exited = new Promise((resolve) => prometheus.once('exit', resolve));
  t.after(async () => {
    prometheus.kill('SIGTERM');
    await exited;
  });

  const api = `http://127.0.0.1:${port}/api/v1`;
  let health = '';
  let value = '';
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (health !== 'up' || value !== '50')) {
    await sleep(500);
    try {
      const targets = JSON.parse((await fetchText(`${api}/targets`)).body) as { data: { activeTargets: Array<{ health: string }> } };
      health = targets.data.activeTargets[0]?.health ?? '';
      const query = JSON.parse((await fetchText(`${api}/query?query=sum(${REQUESTS})`)).body) as { data: { result: Array<{ value: [number, string] }> } };
      value = query.data.result[0]?.value[1] ?? '';
    } catch {
      // Prometheus is still starting.
    }
  }
  assert.equal(health, 'up');
  assert.equal(value, '50');
});

test('scrape cost with 4 workers stays low', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 4, admin: { port: 0 } } });
  t.after(() => cluster.stop());
  await sendRequests(cluster.port, 100, 8);

  const times: number[] = [];
  for (let round = 0; round < 10; round++) {
    const scrapes = await Promise.all(Array.from({ length: 10 }, () => fetchText(cluster.adminUrl('/metrics'))));
    for (const scrape of scrapes) {
      assert.equal(scrape.status, 200);
      times.push(scrape.elapsedMs);
    }
  }
  const p95 = percentile(times, 0.95);
  t.diagnostic(`scrape p95 ${p95.toFixed(1)} ms over ${times.length} scrapes (10 parallel)`);
  assert.ok(p95 < 250, `scrape p95 is ${p95.toFixed(1)} ms`);

  if (spawnSync('sh', ['-c', 'command -v wrk']).status !== 0) {
    t.diagnostic('wrk is not installed; the throughput comparison is skipped');
    return;
  }
  // The first run only warms up the JIT of every worker. The measured runs alternate, so a trend
  // in the load of a shared machine affects both kinds alike. Each run starts once the master has
  // seen the previous run's connections close, so routing spreads the new ones over all workers.
  await wrkRequestsPerSecond(cluster.url('/pid'), 1);
  const quiet: number[] = [];
  const scraped: number[] = [];
  for (let round = 0; round < 2; round++) {
    await waitForNoConnections(cluster);
    quiet.push(await wrkRequestsPerSecond(cluster.url('/pid')));
    await waitForNoConnections(cluster);
    scraped.push(await whileScraping(cluster, () => wrkRequestsPerSecond(cluster.url('/pid'))));
  }
  const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
  t.diagnostic(`throughput ${mean(quiet).toFixed(0)} req/s without scrapes (${quiet.map((v) => v.toFixed(0)).join(', ')}), ` + `${mean(scraped).toFixed(0)} req/s while scraping every second (${scraped.map((v) => v.toFixed(0)).join(', ')})`);
});

/** Runs `work` while scraping /metrics once a second. */
async function whileScraping<T>(cluster: TestCluster, work: () => Promise<T>): Promise<T> {
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      await fetchText(cluster.adminUrl('/metrics'));
      await sleep(1000);
    }
  })();
  try {
    return await work();
  } finally {
    scraping = false;
    await scraper;
  }
}

async function waitForNoConnections(cluster: TestCluster): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const status = JSON.parse((await fetchText(cluster.adminUrl('/status'))).body) as { connections: { open: number } };
    if (status.connections.open === 0) return;
    await sleep(100);
  }
  throw new Error('client connections were still open 5 s after wrk finished');
}

function wrkRequestsPerSecond(url: string, seconds = 2): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', '-c10', `-d${seconds}s`, url], (error, stdout) => {
      if (error) return reject(error);
      const match = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      if (!match) return reject(new Error(`no Requests/sec in wrk output: ${stdout}`));
      resolve(Number(match[1]));
    });
  });
}
