// End-to-end tests of worker supervision: crash back-off, heartbeat timeouts, recycling, scaling
// by signal, the configuration-error exit code, and the stop command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { FIXTURES, TestCluster, type LogLine } from './helpers/cluster.js';
import { runCli } from './helpers/cli.js';
import { httpGet, sleep } from './helpers/net.js';

const APP = join(FIXTURES, 'app.mjs');

function isMaster(line: LogLine): boolean {
  return line.worker === 'master';
}

/** Sends one GET over a keep-alive agent; resolves with the status and the PID of the worker that served it. */
function getOn(agent: Agent, url: string): Promise<{ status: number; pid: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, pid: (JSON.parse(body) as { pid: number }).pid }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('crash loop restarts at growing intervals up to the cap', async (t) => {
  const cluster = await TestCluster.start({
    config: { app: join(FIXTURES, 'app-exit-after-ready.mjs'), workers: 1, restartDelay: '100ms', maxRestartDelay: '800ms' },
  });
  t.after(() => cluster.stop());

  let scheduled = 0;
  await cluster.waitForLog((line) => isMaster(line) && line.msg === 'worker restart scheduled with back-off' && ++scheduled >= 7, 30_000);
  const delays = cluster.logs.filter((line) => line.msg === 'worker restart scheduled with back-off').map((line) => line.delayMs as number);
  assert.deepEqual(delays.slice(0, 7), [100, 200, 400, 800, 800, 800, 800]);

  // The forks really are spaced by the delays: each gap is at least the scheduled delay.
  const starts = cluster.logs.filter((line) => isMaster(line) && line.msg === 'worker started').map((line) => Date.parse(line.time as string));
  const crashes = cluster.logs.filter((line) => isMaster(line) && line.msg === 'worker crashed').map((line) => Date.parse(line.time as string));
  for (let i = 0; i < 6; i++) {
    const gap = (starts[i + 1] ?? 0) - (crashes[i] ?? 0);
    assert.ok(gap >= (delays[i] ?? 0) - 5, `restart ${i + 1} came ${gap} ms after the crash, before its ${delays[i]} ms delay`);
  }

  assert.equal(cluster.child.exitCode, null, 'the master stays up');
  const status = await runCli(['status', '--json', '--config', cluster.configPath]);
  assert.equal(status.code, 0, status.stderr);
});

test('busy worker is killed and replaced', async (t) => {
  const workerTimeout = 2000;
  const heartbeatInterval = 1000;
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, workerTimeout: '2s' } });
  t.after(() => cluster.stop());

  // Least-connections routing puts two held connections on the two workers.
  const first = new Agent({ keepAlive: true, maxSockets: 1 });
  const second = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => {
    first.destroy();
    second.destroy();
  });
  const busyPid = (await getOn(first, cluster.url('/pid'))).pid;
  const healthyPid = (await getOn(second, cluster.url('/pid'))).pid;
  assert.notEqual(busyPid, healthyPid);

  const busySince = Date.now();
  request(cluster.url('/busy'), { agent: first }).on('error', () => undefined).end();
  const replaced = cluster.nextLog((line) => isMaster(line) && line.msg === 'worker ready', 10_000);
  for (let i = 0; i < 20; i++) {
    const response = await getOn(second, cluster.url('/pid'));
    assert.equal(response.status, 200);
    assert.equal(response.pid, healthyPid);
    await sleep(100);
  }

  const ready = await replaced;
  const killed = cluster.logs.find((line) => line.msg === 'killing unresponsive worker' && line.workerPid === busyPid);
  assert.ok(killed, 'the busy worker was killed');
  assert.equal(killed.reason, 'heartbeat-timeout');
  const bound = workerTimeout + heartbeatInterval;
  const killedAfter = Date.parse(killed.time as string) - busySince;
  const readyAfter = Date.parse(ready.time as string) - busySince;
  assert.ok(killedAfter <= bound, `killed ${killedAfter} ms after the busy loop began`);
  assert.ok(readyAfter <= bound, `replacement ready ${readyAfter} ms after the busy loop began`);
  t.diagnostic(`killed after ${killedAfter} ms, replacement ready after ${readyAfter} ms`);
});

test('worker is recycled after maxRequestsPerWorker', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, maxRequestsPerWorker: 20 } });
  t.after(() => cluster.stop());
  const initial = cluster.workerPids();

  for (let i = 0; i < 60; i++) assert.equal((await httpGet(cluster.url('/pid'))).status, 200);
  const recycled = await cluster.waitForLog((line) => line.msg === 'recycling worker', 10_000);
  assert.equal(recycled.reason, 'recycle');
  assert.ok((recycled.requests as number) >= 20);
  const stopped = await cluster.waitForLog((line) => line.msg === 'worker stopped' && line.workerPid === recycled.workerPid, 10_000);
  assert.equal(stopped.reason, 'recycle');

  // The replacement was ready before the old worker drained.
  const master = cluster.logs.filter(isMaster);
  const replacementReady = master.findIndex((line, index) => index > master.indexOf(recycled) && line.msg === 'worker ready');
  const drained = master.findIndex((line) => line.msg === 'worker draining' && line.workerPid === recycled.workerPid);
  assert.notEqual(replacementReady, -1, 'a replacement reported ready');
  assert.ok(replacementReady < drained, 'the replacement was ready before the old worker drained');
  assert.ok(initial.includes(recycled.workerPid as number));
  for (let i = 0; i < 10; i++) assert.equal((await httpGet(cluster.url('/pid'))).status, 200);
});

test('worker above maxWorkerMemory is recycled', async (t) => {
  // Every Node process uses more than 1 MiB, so the first heartbeat triggers the recycle.
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1, maxWorkerMemory: '1MiB' } });
  t.after(() => cluster.stop());
  const recycled = await cluster.waitForLog((line) => line.msg === 'recycling worker', 10_000);
  assert.equal(recycled.reason, 'memory');
  assert.ok((recycled.rssBytes as number) > 1024 * 1024);
  const stopped = await cluster.waitForLog((line) => line.msg === 'worker stopped' && line.workerPid === recycled.workerPid, 10_000);
  assert.equal(stopped.reason, 'memory');
});

test('SIGTTIN adds and SIGTTOU removes a worker', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2 } });
  t.after(() => cluster.stop());

  cluster.signal('SIGTTIN');
  await cluster.waitForLog((line) => line.msg === 'worker added', 10_000);
  let status = JSON.parse((await runCli(['status', '--json', '--config', cluster.configPath])).stdout) as { workers: Array<{ state: string }> };
  assert.equal(status.workers.filter((worker) => worker.state === 'ready').length, 3);

  cluster.signal('SIGTTOU');
  const removed = await cluster.waitForLog((line) => line.msg === 'removing worker', 10_000);
  await cluster.waitForLog((line) => line.msg === 'worker stopped' && line.workerPid === removed.workerPid && line.reason === 'scale-down', 10_000);
  status = JSON.parse((await runCli(['status', '--json', '--config', cluster.configPath])).stdout) as { workers: Array<{ state: string }> };
  assert.equal(status.workers.length, 2);
  assert.equal((await httpGet(cluster.url('/pid'))).status, 200);
});

test('configuration exit code is never respawned', async () => {
  const cluster = await TestCluster.start({
    config: { app: join(FIXTURES, 'app-exit-after-ready.mjs'), workers: 2 },
    env: { AERYS_TEST_EXIT_CODE: '78' },
  });
  const exit = await cluster.waitExit(10_000);
  assert.equal(exit.code, 78);
  assert.equal(cluster.logs.filter((line) => line.msg === 'worker exited with a configuration error; not restarting it').length, 2);
  assert.ok(!cluster.logs.some((line) => line.msg === 'worker restart scheduled with back-off'));
  assert.ok(cluster.logs.some((line) => line.msg === 'no worker left and none will be restarted; stopping the master'));
});

test('stop command drains and waits for the exit', async () => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, shutdownTimeout: '5s' } });
  const inFlight = httpGet(cluster.url('/slow?ms=1000'));
  await sleep(200);

  const status = await runCli(['status', '--config', cluster.configPath]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^WORKER +PID +GEN +STATE +UPTIME +CONNS +REQ\/S +RSS$/m);
  assert.match(status.stdout, /last reload none/);

  const stop = await runCli(['stop', '--config', cluster.configPath]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`Stopped the master \\(PID ${cluster.pid}\\)`));
  // The command returned after the master exited, and the slow request finished first.
  assert.ok(cluster.child.exitCode !== null || cluster.child.signalCode !== null || (await cluster.waitExit(500)).code === 0);
  const response = await inFlight;
  assert.equal(response.status, 200);
  const ready = cluster.logs.find((line) => line.msg === 'cluster ready');
  assert.ok(ready);
  assert.ok(!existsSync(ready.controlSocket as string), 'the control socket is removed');

  const again = await runCli(['status', '--config', cluster.configPath]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /Cannot reach the master on .*: ENOENT\. Is the cluster running\?/);
});

test('second master on the same control socket exits', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1 } });
  t.after(() => cluster.stop());

  const second = await runCli(['start', '--config', cluster.configPath], 20_000);
  assert.equal(second.code, 1);
  assert.match(second.stderr + second.stdout, /Control socket .* belongs to a running master/);
  assert.equal((await httpGet(cluster.url('/pid'))).status, 200);
  const status = await runCli(['status', '--json', '--config', cluster.configPath]);
  assert.equal((JSON.parse(status.stdout) as { pid: number }).pid, cluster.pid);
});
