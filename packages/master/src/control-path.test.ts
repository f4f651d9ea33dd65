import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlSocketPath } from './control-path.js';

test('controlSocket wins over the PID file', () => {
  assert.equal(controlSocketPath({ controlSocket: '/run/a.sock', pidFile: '/run/a.pid', configFile: '/etc/a.json' }), '/run/a.sock');
});

test('PID file path gets .sock appended', () => {
  assert.equal(controlSocketPath({ controlSocket: null, pidFile: '/run/aerys.pid', configFile: '/etc/a.json' }), '/run/aerys.pid.sock');
});

test('derived path depends on the configuration file', () => {
  const first = controlSocketPath({ controlSocket: null, pidFile: null, configFile: '/etc/a.json' });
  const again = controlSocketPath({ controlSocket: null, pidFile: null, configFile: '/etc/a.json' });
  const other = controlSocketPath({ controlSocket: null, pidFile: null, configFile: '/etc/b.json' });
  assert.equal(first, again);
  assert.notEqual(first, other);
  assert.match(first, /aerys-cluster-\d+-[0-9a-f]{16}\.sock$/);
});
