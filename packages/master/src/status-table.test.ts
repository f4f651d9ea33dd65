import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatDuration, formatStatus } from './status-table.js';
import type { ClusterStatus } from './status.js';

const status: ClusterStatus = {
  pid: 100,
  state: 'running',
  generation: 3,
  uptimeSeconds: 3725,
  listeners: [{ address: '::1', port: 8080, tls: true }],
  connections: { open: 2, admitted: 10, rejected: { per_ip: 1, max_connections: 0, no_worker: 0 }, clientPrefixes: 1 },
  workers: [{ id: 7, pid: 101, generation: 3, state: 'draining', uptimeSeconds: 65, connections: 2, requests: 9, rssBytes: 52 * 1024 * 1024, requestsPerSecond: 12.5 }],
  lastReload: { at: '2026-12-04T20:57:20.919Z', result: 'failed', generation: 3, error: 'Invalid configuration: x', trigger: 'SIGHUP', durationMs: 40 },
  reloads: { succeeded: 2, failed: 1 },
};

test('status table shows workers and the failed reload', () => {
  const text = formatStatus(status);
  assert.match(text, /PID 100, running, generation 3, up 1h 2m/);
  assert.match(text, /listeners +\[::1\]:8080 \(TLS\)/);
  assert.match(text, /rejected: per_ip 1/);
  assert.match(text, /last reload FAILED, attempted generation 3 never served: Invalid configuration: x \(at 2026-12-04T20:57:20\.919Z, SIGHUP, 0\.0 s\) \(2 succeeded, 1 failed\)/);
  assert.match(text, /^7 +101 +3 +draining +1m 5s +2 +12\.5 +52\.0 MiB$/m);
});

test('durations and sizes read at a glance', () => {
  assert.equal(formatDuration(59), '59s');
  assert.equal(formatDuration(90_061), '1d 1h');
  assert.equal(formatBytes(0), '-');
  assert.equal(formatBytes(1536), '1.5 KiB');
});
