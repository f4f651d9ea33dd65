// Log output as operators see it: readable lines on a real pseudo-terminal (util-linux `script`),
// JSON lines into a pipe, and the lifecycle events that docs/configuration.md names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, REPO_ROOT, TestCluster, tempDir, writeTemp } from './helpers/cluster.js';

const APP = join(FIXTURES, 'app.mjs');

/** Events of one start, one worker crash and one stop, in the order they happen. */
const LIFECYCLE = [
  'worker started',
  'worker ready',
  'cluster ready',
  'worker crashed',
  'signal received',
  'shutting down',
  'drain requested',
  'drained; exiting',
  'worker stopped',
  'master stopped',
];

/** A pretty line: time, colored level, process column, message. */
const PRETTY_LINE = /^\d\d:\d\d:\d\d\.\d{3} \x1b\[\d+m(?:TRACE|DEBUG|INFO |WARN |ERROR|FATAL)\x1b\[0m (?:master|w\d+\/g\d+) +\S/;

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Waits until `read()` contains `text`; rejects after `timeoutMs` with what was read. */
async function waitForText(read: () => string, text: string | RegExp, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const output = read();
    if (typeof text === 'string' ? output.includes(text) : text.test(output)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${String(text)}; output so far:\n${read()}`);
}

test('terminal gets readable lines', async (t) => {
  assert.equal(spawnSync('script', ['--version']).status, 0, 'util-linux `script` is installed (Debian package bsdutils)');

  const dir = tempDir();
  const pidFile = join(dir, 'aerys.pid');
  const config = join(dir, 'aerys.config.json');
  writeFileSync(config, JSON.stringify({ listen: [{ host: '127.0.0.1', port: 0 }], workers: 1, admin: false, app: APP, pidFile }));

  // `script` runs the command on a new pseudo-terminal, so the CLI's stdout is a real TTY.
  const command = `${shellQuote(process.execPath)} ${shellQuote(CLI)} start --config ${shellQuote(config)}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const read = (): string => output;

  await waitForText(read, 'cluster ready');
  const workerPid = Number(/worker ready workerId=1 workerPid=(\d+)/.exec(output)?.[1]);
  assert.ok(workerPid > 0, `worker PID in ${output}`);
  process.kill(workerPid, 'SIGKILL');
  await waitForText(read, /worker crashed[^\n]*\n[\s\S]*worker ready workerId=2/);

  process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
  await waitForText(read, 'master stopped');
  await exited;

  const lines = output.split(/\r?\n/).filter((line) => line.trim() !== '');
  for (const line of lines) assert.match(line, PRETTY_LINE);
  for (const event of LIFECYCLE) {
    assert.ok(lines.some((line) => line.includes(` ${event}`)), `"${event}" is logged`);
  }
  assert.ok(lines.some((line) => / w2\/g1 +worker ready app=/.test(line)), 'worker lines carry id and generation');
});

test('pipe gets JSON lines', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1 } });
  t.after(() => cluster.stop());
  const first = cluster.workerPids()[0] ?? 0;
  process.kill(first, 'SIGKILL');
  await cluster.waitForLog((line) => line.msg === 'worker ready' && line.workerPid !== first && line.worker === 'master');
  await cluster.stop();

  assert.deepEqual(cluster.stderr, [], 'every stdout line is JSON');
  const messages = cluster.logs.map((line) => line.msg);
  for (const event of LIFECYCLE.filter((name) => name !== 'signal received')) {
    assert.ok(messages.includes(event), `"${event}" is logged`);
  }
  for (const line of cluster.logs) {
    assert.equal(typeof line.time, 'string');
    assert.equal(typeof line.pid, 'number');
    assert.ok(line.worker === 'master' || typeof line.worker === 'number');
  }
});

test('log level flag hides lower levels', () => {
  const broken = writeTemp('broken-app.mjs', 'export default 42;\n');
  const config = writeTemp('aerys.config.json', JSON.stringify({ listen: [{ host: '127.0.0.1', port: 0 }], workers: 1, admin: false, app: broken }));
  const result = spawnSync(process.execPath, [CLI, 'start', '--config', config, '--log-level', 'error'], { encoding: 'utf8', timeout: 20_000 });

  assert.equal(result.status, 78);
  const lines = result.stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { level: string; msg: string });
  assert.ok(lines.length > 0, 'errors are still written');
  for (const line of lines) assert.ok(['error', 'fatal'].includes(line.level), `${line.level} "${line.msg}" is at least error`);
  assert.ok(lines.some((line) => line.msg === 'application failed to load'));
});
