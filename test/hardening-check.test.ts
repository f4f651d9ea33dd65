// `aerys-cluster check` on the sample configurations of docs/hardening.md, and the same
// checklist logged by a starting master.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, FIXTURES, REPO_ROOT, TestCluster, writeTemp } from './helpers/cluster.js';
import { isRoot } from './helpers/attack.js';

const CONFIGS = join(REPO_ROOT, 'examples/configs');

function check(file: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, 'check', '--config', file], { encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Options named in `warning [OPTION]` lines. */
function warned(stdout: string): string[] {
  return [...stdout.matchAll(/^warning \[([^\]]+)\]/gm)].map((match) => match[1] ?? '');
}

test('check passes the production samples', () => {
  for (const name of ['production.json', 'behind-haproxy.json']) {
    const result = check(join(CONFIGS, name));
    assert.equal(result.status, 0, `${name}: ${result.stderr}`);
    assert.match(result.stdout, /is valid/);
    // The descriptor limit depends on the shell that runs the test; every other check must pass.
    assert.deepEqual(warned(result.stdout).filter((option) => option !== 'maxConnections'), [], `${name}: ${result.stdout}`);
  }
});

test('check warns with numbers on unsafe samples', () => {
  const memory = check(join(CONFIGS, 'unsafe-memory.json'));
  assert.equal(memory.status, 0, memory.stderr);
  assert.deepEqual(warned(memory.stdout), ['maxConnections', 'softStreamCap', 'maxBodySize', 'workers']);
  assert.match(memory.stdout, /ulimit -n\) is \d+, below maxConnections \+ 100 = 10000100/);
  assert.match(memory.stdout, /= 1073741824 x 10000000 x 1000 x 2 = [\d.]+ EiB, above the machine's memory of [\d.]+ [KMGT]iB/);
  assert.match(memory.stdout, /= 68719476736 x 10000000 = [\d.]+ PiB/);
  assert.match(memory.stdout, /workers is 1024, more than the \d+ CPUs/);
  assert.match(memory.stdout, /fix: /);

  const exposure = check(join(CONFIGS, 'unsafe-exposure.json'));
  assert.equal(exposure.status, 0, exposure.stderr);
  assert.deepEqual(warned(exposure.stdout), ['admin.host', 'connectionsPerIP']);
  assert.match(exposure.stdout, /listens on 0\.0\.0\.0/);
  assert.match(exposure.stdout, /connectionsPerIP is 500, above maxConnections 100/);
});

test('check fails naming the invalid option', () => {
  const unknown = check(join(CONFIGS, 'invalid-option.json'));
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /\[maxConnection\] Unknown option "maxConnection"\. Did you mean "maxConnections"\?/);

  const value = check(join(CONFIGS, 'invalid-value.json'));
  assert.equal(value.status, 1);
  assert.match(value.stderr, /\[headerTimeout\] Invalid value for option "headerTimeout": "10 minutes"/);
});

test('check rejects an unknown user', { skip: isRoot() ? false : 'users are only looked up when the master runs as root' }, () => {
  const file = writeTemp('user.json', JSON.stringify({ user: 'aerys-no-such-user' }));
  const result = check(file);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /\[user\] .*"aerys-no-such-user" does not exist/);
});

test('start logs the checklist warnings', async (t) => {
  const cluster = await TestCluster.start({ config: { app: join(FIXTURES, 'hardening-app.mjs'), workers: 1, maxConnections: 50, connectionsPerIP: 80 } });
  t.after(() => cluster.stop());
  const line = await cluster.waitForLog((l) => l.msg === 'unsafe setting' && l.check === 'per-ip-above-max-connections', 2000);
  assert.equal(line.level, 'warn');
  assert.equal(line.connectionsPerIP, 80);
  assert.equal(line.maxConnections, 50);
  assert.match(String(line.fix), /connectionsPerIP/);
});
