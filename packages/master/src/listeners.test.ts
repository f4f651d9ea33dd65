import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listenerKeys } from './listeners.js';

test('listener keys tell repeated port 0 apart', () => {
  const keys = listenerKeys([
    { host: '127.0.0.1', port: 0 },
    { host: '127.0.0.1', port: 0 },
    { host: '::1', port: 8443 },
    { host: '127.0.0.1', port: 0 },
  ]);
  assert.deepEqual(keys, ['127.0.0.1:0', '127.0.0.1:0#2', '[::1]:8443', '127.0.0.1:0#3']);
});
