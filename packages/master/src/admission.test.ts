import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admission, type RoutableWorker } from './admission.js';

function worker(id: number): RoutableWorker {
  return { id, open: 0, connections: new Set() };
}

const base = { maxConnections: 6, connectionsPerIP: 3, ipv4Prefix: 32, ipv6Prefix: 56, trustedProxies: ['10.9.0.0/16'] };

test('per-prefix limit rejects the fourth connection', () => {
  const admission = new Admission(base);
  const workers = [worker(1), worker(2)];
  for (let i = 0; i < 3; i++) assert.equal(admission.admit('127.0.0.2', workers).admitted, true);
  assert.deepEqual(admission.admit('127.0.0.2', workers), { admitted: false, reason: 'per_ip' });
  assert.equal(admission.admit('127.0.0.3', workers).admitted, true);
});

test('release lets the prefix in again', () => {
  const admission = new Admission(base);
  const workers = [worker(1)];
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) {
    const result = admission.admit('::ffff:127.0.0.2', workers);
    assert.ok(result.admitted);
    ids.push(result.id);
  }
  admission.release(ids[0] ?? 0);
  assert.equal(admission.admit('127.0.0.2', workers).admitted, true);
  assert.equal(admission.prefixes, 1);
});

test('global limit rejects the seventh connection', () => {
  const admission = new Admission({ ...base, connectionsPerIP: 100 });
  const workers = [worker(1), worker(2)];
  for (let i = 0; i < 6; i++) assert.equal(admission.admit(`127.0.0.${i + 2}`, workers).admitted, true);
  assert.deepEqual(admission.admit('127.0.0.20', workers), { admitted: false, reason: 'max_connections' });
});

test('least-connections routing balances workers', () => {
  const admission = new Admission({ ...base, connectionsPerIP: 100, maxConnections: 100 });
  const workers = [worker(1), worker(2), worker(3)];
  for (let i = 0; i < 30; i++) admission.admit('127.0.0.2', workers);
  assert.deepEqual(workers.map((w) => w.open), [10, 10, 10]);
});

test('worker share caps each worker', () => {
  const admission = new Admission({ ...base, connectionsPerIP: 100, maxConnections: 4 });
  const busy = worker(1);
  const idle = worker(2);
  busy.open = 2;
  assert.equal(admission.share(2), 2);
  const result = admission.admit('127.0.0.2', [busy, idle]);
  assert.ok(result.admitted);
  assert.equal(result.worker, idle);
});

test('trusted proxy is exempt from the per-prefix limit', () => {
  const admission = new Admission(base);
  const workers = [worker(1)];
  for (let i = 0; i < 6; i++) assert.equal(admission.admit('10.9.1.1', workers).admitted, true);
  assert.equal(admission.prefixes, 0);
});

test('no routable worker is its own reason', () => {
  const admission = new Admission(base);
  assert.deepEqual(admission.admit('127.0.0.2', []), { admitted: false, reason: 'no_worker' });
  assert.equal(admission.open, 0);
});

test('releasing a worker frees its connections and prefixes', () => {
  const admission = new Admission(base);
  const dead = worker(1);
  for (let i = 0; i < 3; i++) admission.admit('127.0.0.2', [dead]);
  admission.releaseWorker(dead);
  assert.equal(admission.open, 0);
  assert.equal(admission.prefixes, 0);
  assert.equal(dead.open, 0);
});
