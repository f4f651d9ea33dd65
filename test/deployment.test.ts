// The deployment recipes in deploy/, as far as they run without systemd as PID 1, a container
// runtime or a Kubernetes cluster. The systemd unit goes through `systemd-analyze verify`, the
// container entrypoint runs directly, and the Kubernetes manifest is parsed and compared with the
// configuration it deploys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'yaml';
import { EXIT_CONFIG, parseDuration, parseSize, readConfigFile, validateConfig, type Config } from '@aerys-cluster/shared';
import { CLI, FIXTURES, REPO_ROOT, tempDir } from './helpers/cluster.js';
import { httpGet } from './helpers/net.js';

const DEPLOY = join(REPO_ROOT, 'deploy');
const UNIT = join(DEPLOY, 'aerys-cluster.service');
const ENTRYPOINT = join(DEPLOY, 'docker-entrypoint.sh');
/** Seconds between the end of the drain and the service manager's SIGKILL, as the docs require. */
const STOP_MARGIN_SECONDS = 5;

/**
 * Loads and validates deploy/aerys.config.mjs with `env` set, as the recipe's environment would
 * set it. `root` must exist to validate, and /opt/app/public exists only on a server, so it is
 * pointed at an empty temporary directory.
 */
async function loadDeployConfig(env: Record<string, string> = {}): Promise<Readonly<Config>> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    const file = join(DEPLOY, 'aerys.config.mjs');
    const raw = await readConfigFile(file);
    assert.equal(raw.root, '/opt/app/public');
    return validateConfig({ ...raw, root: tempDir() }, DEPLOY);
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** Reads the `Key=value` lines of one section of a unit file. */
function unitSection(text: string, section: string): Map<string, string> {
  const entries = new Map<string, string>();
  let current = '';
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header?.[1]) current = header[1];
    else if (current === section && /^\w+=/.test(line)) entries.set(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1));
  }
  return entries;
}

/**
 * Runs `systemd-analyze verify` on a unit text. verify checks that ExecStart's program exists;
 * on a machine where node is not /usr/bin/node, the running node's path is put in its place.
 */
function verifyUnit(text: string): { status: number | null; stderr: string } {
  const unitText = existsSync('/usr/bin/node') ? text : text.replaceAll('/usr/bin/node', process.execPath);
  const file = join(tempDir(), 'aerys-cluster.service');
  writeFileSync(file, unitText);
  const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 20_000 });
  assert.notEqual(result.error?.message.includes('ENOENT'), true, 'systemd-analyze is installed (Debian package systemd)');
  return { status: result.status, stderr: result.stderr };
}

test('docs embed every recipe file', () => {
  const docs = readFileSync(join(REPO_ROOT, 'docs/deployment.md'), 'utf8');
  for (const name of readdirSync(DEPLOY)) {
    const text = readFileSync(join(DEPLOY, name), 'utf8');
    assert.ok(docs.includes(text), `docs/deployment.md shows deploy/${name} as it is`);
  }
});

test('systemd unit passes systemd-analyze verify', () => {
  const result = verifyUnit(readFileSync(UNIT, 'utf8'));
  assert.equal(result.stderr, '', 'no warnings');
  assert.equal(result.status, 0);
});

test('systemd verify rejects a misspelled directive', () => {
  const result = verifyUnit(readFileSync(UNIT, 'utf8').replace('KillSignal=', 'KillSignl='));
  assert.match(result.stderr, /Unknown key 'KillSignl'/);
});

test('systemd unit covers the drain', async () => {
  const config = await loadDeployConfig();
  const service = unitSection(readFileSync(UNIT, 'utf8'), 'Service');

  assert.equal(service.get('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(service.get('KillSignal'), 'SIGTERM');
  assert.equal(service.get('KillMode'), 'mixed');
  assert.equal(service.get('RestartPreventExitStatus'), String(EXIT_CONFIG));

  const stopMs = parseDuration(service.get('TimeoutStopSec'));
  assert.ok(stopMs !== undefined, 'TimeoutStopSec has a unit');
  assert.ok(stopMs >= config.shutdownTimeout + STOP_MARGIN_SECONDS * 1000, `TimeoutStopSec ${stopMs} ms covers shutdownTimeout ${config.shutdownTimeout} ms`);

  const files = Number(service.get('LimitNOFILE'));
  assert.ok(files >= config.maxConnections + 100, `LimitNOFILE ${files} >= maxConnections + 100`);
  assert.ok(service.get('ExecStart')?.includes('--config /etc/aerys/aerys.config.mjs'));
});

test('entrypoint execs the master and stops cleanly', async (t) => {
  const dir = tempDir();
  const config = join(dir, 'aerys.config.json');
  writeFileSync(config, JSON.stringify({ listen: [{ host: '127.0.0.1', port: 0 }], workers: 1, admin: false, app: join(FIXTURES, 'app.mjs') }));

  const child = spawn('sh', [ENTRYPOINT], { env: { ...process.env, AERYS_CONFIG: config, AERYS_CLUSTER_BIN: CLI }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });

  const ready = await new Promise<{ pid: number; listeners: Array<{ address: string }> }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no "cluster ready" line within 20 s')), 20_000);
    lines.on('line', (text) => {
      const line = JSON.parse(text) as { msg: string; pid: number; listeners: Array<{ address: string }> };
      if (line.msg !== 'cluster ready') return;
      clearTimeout(timer);
      resolve(line);
    });
  });
  assert.equal(ready.pid, child.pid, 'the master replaced the shell');

  const address = ready.listeners[0]?.address ?? '';
  const response = await httpGet(`http://${address}/pid`);
  assert.equal(response.status, 200);

  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('entrypoint rejects a missing configuration', () => {
  const result = spawnSync('sh', [ENTRYPOINT], { env: { ...process.env, AERYS_CONFIG: '/nonexistent/aerys.config.mjs' }, encoding: 'utf8' });
  assert.equal(result.status, EXIT_CONFIG);
  assert.match(result.stderr, /\/nonexistent\/aerys\.config\.mjs is missing or unreadable/);
});

interface Container {
  env: Array<{ name: string; value: string }>;
  ports: Array<{ name: string; containerPort: number }>;
  resources: { limits: { cpu: string; memory: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  lifecycle: { preStop: { exec: { command: string[] } } };
}

test('kubernetes manifest matches its configuration', async () => {
  const manifest = parse(readFileSync(join(DEPLOY, 'kubernetes.yaml'), 'utf8')) as {
    spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } } };
  };
  const pod = manifest.spec.template.spec;
  const container = pod.containers[0];
  assert.ok(container, 'one container');

  // The image sets the listener ports (Dockerfile ENV), the manifest the rest.
  const imageEnv = /^ENV (.+)$/m.exec(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'))?.[1] ?? '';
  const env: Record<string, string> = Object.fromEntries(imageEnv.split(' ').map((pair) => pair.split('=') as [string, string]));
  for (const variable of container.env) env[variable.name] = variable.value;
  const config = await loadDeployConfig(env);

  const port = (name: string): number | undefined => container.ports.find((entry) => entry.name === name)?.containerPort;
  assert.equal(config.admin?.host, '0.0.0.0', 'the kubelet reaches the admin listener on the pod IP');
  assert.equal(port('admin'), config.admin?.port);
  assert.deepEqual(config.listen.map((listener) => listener.port).sort(), [port('http'), port('https')].sort());

  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(container.readinessProbe.httpGet.port, 'admin');
  assert.equal(container.livenessProbe.httpGet.path, '/healthz');

  const [command, seconds] = container.lifecycle.preStop.exec.command;
  assert.equal(command, 'sleep');
  const minimum = Number(seconds) + config.shutdownTimeout / 1000 + STOP_MARGIN_SECONDS;
  assert.ok(pod.terminationGracePeriodSeconds >= minimum, `grace ${pod.terminationGracePeriodSeconds} s >= preStop + drain + margin (${minimum} s)`);

  assert.equal(config.workers, Number(container.resources.limits.cpu), 'one worker per CPU of the limit');
  const memory = parseSize(container.resources.limits.memory.replace(/i$/, 'iB')) ?? 0;
  const buffers = config.softStreamCap * config.maxConnections * config.maxConcurrentStreams * 2;
  assert.ok(buffers <= memory, `worst-case stream buffers ${buffers} bytes fit the ${memory} byte limit`);
});
