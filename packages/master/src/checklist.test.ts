import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '@aerys-cluster/shared';
import { formatBytes, readOpenFilesLimit, runChecklist, type MachineFacts } from './checklist.js';

const GiB = 1024 ** 3;
const roomy: MachineFacts = { openFilesLimit: 65536, memoryBytes: 16 * GiB, cpus: 8, uid: 0 };

function codes(input: Record<string, unknown>, machine: MachineFacts = roomy): string[] {
  return runChecklist(validateConfig({ workers: 4, ...input }), machine).map((finding) => finding.code);
}

test('defaults pass on a roomy machine', () => {
  assert.deepEqual(codes({}), []);
});

test('open files limit below maxConnections + 100', () => {
  assert.deepEqual(codes({ maxConnections: 1000 }, { ...roomy, openFilesLimit: 1099 }), ['open-files-limit']);
  assert.deepEqual(codes({ maxConnections: 1000 }, { ...roomy, openFilesLimit: 1100 }), []);
  assert.deepEqual(codes({ maxConnections: 1000 }, { ...roomy, openFilesLimit: null }), []);
});

test('stream buffers above memory', () => {
  // 1 MiB x 5000 x 100 x 2 = 976.6 GiB, above 16 GiB.
  const [finding] = runChecklist(validateConfig({ workers: 4, softStreamCap: '1MiB', maxConnections: 5000, maxConcurrentStreams: 100 }), roomy);
  assert.equal(finding?.code, 'stream-buffer-memory');
  assert.equal(finding?.values.worstCaseBytes, 1024 * 1024 * 5000 * 100 * 2);
  assert.match(finding?.message ?? '', /1048576 x 5000 x 100 x 2 = 976\.6 GiB, above the machine's memory of 16\.0 GiB/);
});

test('body memory, workers, admin and per-IP', () => {
  assert.deepEqual(codes({ maxBodySize: '1GiB', maxConnections: 100 }), ['body-memory']);
  assert.deepEqual(codes({ workers: 9 }), ['workers-above-cpus']);
  assert.deepEqual(codes({ admin: { host: '0.0.0.0' } }), ['admin-not-loopback']);
  assert.deepEqual(codes({ admin: { host: '::1' } }), []);
  assert.deepEqual(codes({ maxConnections: 10, connectionsPerIP: 11 }), ['per-ip-above-max-connections']);
});

test('user without root warns', () => {
  assert.deepEqual(codes({ user: 'nobody' }, { ...roomy, uid: 1000 }), ['user-without-root']);
  assert.deepEqual(codes({ user: 'nobody' }, roomy), []);
});

test('open files limit parses /proc/self/limits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'limits-'));
  const file = join(dir, 'limits');
  writeFileSync(file, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n');
  assert.equal(readOpenFilesLimit(file), 1024);
  writeFileSync(file, 'Max open files            unlimited            unlimited            files\n');
  assert.equal(readOpenFilesLimit(file), null);
  assert.equal(readOpenFilesLimit(join(dir, 'missing')), null);
});

test('formatBytes rounds to one decimal', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(16 * GiB), '16.0 GiB');
});
