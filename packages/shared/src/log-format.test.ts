import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLogLine, resolveLogFormat } from './log-format.js';

test('auto format follows the terminal', () => {
  assert.equal(resolveLogFormat(undefined, true), 'pretty');
  assert.equal(resolveLogFormat('auto', false), 'json');
  assert.equal(resolveLogFormat('json', true), 'json');
  assert.equal(resolveLogFormat('pretty', false), 'pretty');
});

test('pretty line has columns then fields', () => {
  const json = JSON.stringify({ level: 'info', time: '2026-12-04T20:51:03.118Z', pid: 7, worker: 'master', generation: 1, workerId: 2, path: '/a b', msg: 'worker ready' });
  assert.equal(formatLogLine(json, false), '20:51:03.118 INFO  master   worker ready workerId=2 path="/a b"\n');
});

test('pretty worker column shows id and generation', () => {
  const json = JSON.stringify({ level: 'warn', time: '2026-12-04T20:51:03.118Z', pid: 7, worker: 3, generation: 2, msg: 'drain timed out' });
  assert.equal(formatLogLine(json, true), '20:51:03.118 \x1b[33mWARN \x1b[0m w3/g2    drain timed out\n');
});

test('pretty error prints its stack', () => {
  const json = JSON.stringify({ level: 'error', time: 'x', worker: 1, generation: 1, err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (app.mjs:1:1)' }, msg: 'application error' });
  const text = formatLogLine(json, false);
  assert.match(text, /application error err=\n {4}Error: boom\n {8}at f \(app\.mjs:1:1\)\n$/);
});

test('non-JSON line passes through', () => {
  assert.equal(formatLogLine('plain text', false), 'plain text\n');
});
