// Privilege separation: the master binds a port below 1024 as root and the workers run as the
// configured user, never as root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { FIXTURES, TestCluster } from './helpers/cluster.js';
import { httpGet } from './helpers/net.js';
import { isRoot } from './helpers/attack.js';

const APP = join(FIXTURES, 'hardening-app.mjs');
const notRoot = isRoot() ? false : 'the master must start as root to bind port 80 and switch workers to another user';

/** Returns the user name of a running process, from ps. */
function processUser(pid: number): string {
  return execFileSync('ps', ['-o', 'user=', '-p', String(pid)], { encoding: 'utf8' }).trim();
}

test('workers run as nobody on port 80', { skip: notRoot }, async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 2, user: 'nobody', listen: [{ host: '127.0.0.1', port: 80 }] } });
  t.after(() => cluster.stop());

  assert.equal(cluster.port, 80);
  assert.equal(processUser(cluster.pid), 'root', 'the master keeps root to bind listeners');
  const workers = cluster.workerPids();
  assert.equal(workers.length, 2);
  for (const pid of workers) assert.equal(processUser(pid), 'nobody', `worker ${pid}`);

  const response = await httpGet('http://127.0.0.1:80/client');
  assert.equal(response.status, 200);
  const body = JSON.parse(response.body.toString()) as { uid: number; pid: number };
  assert.equal(body.uid, Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim()));
  assert.ok(workers.includes(body.pid));
});

test('user root is rejected before start', { skip: notRoot }, async () => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1, user: 'root' }, waitReady: false });
  const exit = await cluster.waitExit(10_000);
  assert.equal(exit.code, 78);
  assert.match(cluster.stderr.join('\n'), /\[?user\]?.*workers must not run as root/);
});
