import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, validateConfig, parseListenAddress } from './config.js';
import { OPTIONS } from './options.js';

function rejects(input: unknown): ConfigError {
  try {
    validateConfig(input, '/srv');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('configuration was accepted');
}

test('empty configuration gets every default', () => {
  const config = validateConfig({}, '/srv');
  assert.equal(config.maxConnections, 1000);
  assert.equal(config.connectionsPerIP, 30);
  assert.equal(config.maxBodySize, 131072);
  assert.equal(config.maxHeaderSize, 32768);
  assert.equal(config.softStreamCap, 131072);
  assert.equal(config.maxConcurrentStreams, 20);
  assert.equal(config.maxRequestsPerConnection, 1000);
  assert.equal(config.connectionTimeout, 6000);
  assert.equal(config.shutdownTimeout, 3000);
  assert.equal(config.maxFramesPerSecond, 60);
  assert.deepEqual(config.allowedMethods, ['GET', 'POST', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'DELETE']);
  assert.equal(config.websocket.maxMessageSize, 2 * 1024 * 1024);
  assert.equal(config.websocket.heartbeatPeriod, 10_000);
  assert.equal(config.websocket.queuedPingLimit, 3);
  assert.equal(config.ipv4Prefix, 32);
  assert.equal(config.ipv6Prefix, 56);
  assert.ok(config.workers >= 1);
  assert.deepEqual(config.admin, { host: '127.0.0.1', port: 9180, scrapeTimeout: 1000 });
});

test('result is frozen', () => {
  const config = validateConfig({}, '/srv');
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.websocket));
  assert.ok(Object.isFrozen(config.listen[0]));
});

test('unknown option suggests the closest name', () => {
  const error = rejects({ maxConnection: 10 });
  assert.equal(error.code, 'AERYS_CONFIG_UNKNOWN_OPTION');
  assert.equal(error.option, 'maxConnection');
  assert.match(error.message, /did you mean "maxConnections"\?/i);
});

test('unknown nested option names its path', () => {
  const error = rejects({ websocket: { maxMessageSzie: 1 } });
  assert.equal(error.option, 'websocket.maxMessageSzie');
  assert.match(error.message, /maxMessageSize/);
});

test('unrelated unknown option lists known names', () => {
  const error = rejects({ frobnicate: true });
  assert.match(error.message, /Known options: listen, workers/);
});

test('out-of-range value names option, value and range', () => {
  const error = rejects({ connectionsPerIP: 0 });
  assert.equal(error.code, 'AERYS_CONFIG_OUT_OF_RANGE');
  assert.match(error.message, /"connectionsPerIP"/);
  assert.match(error.message, /: 0\./);
  assert.match(error.message, /Accepted range: 1 to 10000000/);
});

test('wrong type names the expected form', () => {
  const error = rejects({ workers: 'four' });
  assert.equal(error.code, 'AERYS_CONFIG_INVALID_VALUE');
  assert.match(error.message, /"workers": "four"\. Expected an integer/);
});

test('sizes and durations accept units', () => {
  const config = validateConfig({ maxBodySize: '2MiB', connectionTimeout: '1.5s', shutdownTimeout: 250 }, '/srv');
  assert.equal(config.maxBodySize, 2 * 1024 * 1024);
  assert.equal(config.connectionTimeout, 1500);
  assert.equal(config.shutdownTimeout, 250);
});

test('size with an unknown unit is rejected', () => {
  const error = rejects({ maxBodySize: '2MB' });
  assert.match(error.message, /"maxBodySize": "2MB"\. Expected an integer number of bytes or a string such as "128KiB"/);
});

test('listener needs a valid host and port', () => {
  assert.match(rejects({ listen: [{ host: 'example', port: 80 }] }).message, /listen\[0\]\.host/);
  assert.match(rejects({ listen: [{ host: '127.0.0.1', port: 70000 }] }).message, /listen\[0\]\.port/);
  assert.match(rejects({ listen: [] }).message, /at least one listener/);
});

test('listener strings and TLS paths resolve', () => {
  const config = validateConfig({ listen: ['[::1]:8443', { host: '0.0.0.0', port: 443, tls: { cert: 'c.pem', key: 'k.pem' } }] }, '/srv');
  assert.deepEqual(config.listen[0], { host: '::1', port: 8443, tls: null, proxyProtocol: false });
  assert.equal(config.listen[1]?.tls?.cert, '/srv/c.pem');
});

test('paths resolve against the configuration directory', () => {
  const config = validateConfig({ root: 'public', app: '/abs/app.mjs' }, '/srv');
  assert.equal(config.root, '/srv/public');
  assert.equal(config.app, '/abs/app.mjs');
});

test('methods are checked and upper-cased', () => {
  assert.deepEqual(validateConfig({ allowedMethods: ['get', 'HEAD'] }, '/srv').allowedMethods, ['GET', 'HEAD']);
  assert.match(rejects({ allowedMethods: ['FETCH'] }).message, /allowedMethods\[0\]/);
});

test('trusted proxies must be CIDR blocks', () => {
  assert.match(rejects({ trustedProxies: ['10.0.0.0/40'] }).message, /trustedProxies\[0\]/);
});

test('admin false disables the admin listener', () => {
  assert.equal(validateConfig({ admin: false }, '/srv').admin, null);
});

test('--listen parsing', () => {
  assert.deepEqual(parseListenAddress('--listen', '127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListenAddress('--listen', '[::1]:8080'), { host: '::1', port: 8080 });
  assert.deepEqual(parseListenAddress('--listen', ':8080'), { host: '0.0.0.0', port: 8080 });
  assert.throws(() => parseListenAddress('--listen', '8080'), /HOST:PORT/);
});

test('every option has documentation', () => {
  for (const [name, spec] of Object.entries(OPTIONS)) {
    assert.ok(spec.doc.length > 10, `option ${name} has no doc`);
    for (const [field, fieldSpec] of Object.entries(spec.fields ?? {})) {
      assert.ok(fieldSpec.doc.length > 10, `option ${name}.${field} has no doc`);
    }
  }
});
