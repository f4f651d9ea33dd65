// The scenarios: what load each one drives, which contenders it compares, and which of them are
// the baselines its ratios are computed against. `kind` selects how the runner measures it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { h2load, wrk } from './load.mjs';
import { BENCH_DIR } from './paths.mjs';
import { OPEN_FILES } from './processes.mjs';

/** h2load's load shape in both HTTP/2 scenarios: 10 connections of 10 concurrent streams. */
const H2_CLIENTS = 10;
const H2_STREAMS = 10;
/** WebSocket load: connections, messages in flight on each, and message size in bytes. */
export const WS_LOAD = { connections: 50, depth: 4, size: 64 };

export const SCENARIOS = [
  {
    name: 'hello-keepalive',
    title: 'Keep-alive hello world (HTTP/1.1, wrk)',
    kind: 'throughput',
    purpose: 'hello',
    tool: 'wrk',
    contenders: ['aerys-cluster', 'node-cluster', 'node-single', 'pm2', 'nginx'],
    baselines: ['node-cluster', 'nginx'],
  },
  {
    name: 'hello-close',
    title: 'New connection per request (HTTP/1.1, Connection: close, wrk)',
    kind: 'throughput',
    purpose: 'hello',
    tool: 'wrk',
    close: true,
    contenders: ['aerys-cluster', 'node-cluster', 'node-single', 'pm2', 'nginx'],
    baselines: ['node-cluster', 'nginx'],
  },
  {
    name: 'h2c',
    title: `HTTP/2 cleartext, prior knowledge (h2load, ${H2_CLIENTS} connections x ${H2_STREAMS} streams)`,
    kind: 'throughput',
    purpose: 'h2c',
    tool: 'h2load',
    contenders: ['aerys-cluster', 'node-http2'],
    baselines: ['node-http2'],
  },
  {
    name: 'h2-tls',
    title: `HTTP/2 over TLS, ALPN h2 (h2load, ${H2_CLIENTS} connections x ${H2_STREAMS} streams)`,
    kind: 'throughput',
    purpose: 'h2-tls',
    tool: 'h2load',
    contenders: ['aerys-cluster', 'node-http2'],
    baselines: ['node-http2'],
  },
  {
    name: 'static-1k',
    title: 'Static file of 1 KiB (HTTP/1.1 keep-alive, wrk)',
    kind: 'throughput',
    purpose: 'static',
    path: '/file-1k.bin',
    tool: 'wrk',
    contenders: ['aerys-cluster', 'nginx', 'express'],
    baselines: ['nginx', 'express'],
  },
  {
    name: 'static-1m',
    title: 'Static file of 1 MiB (HTTP/1.1 keep-alive, wrk)',
    kind: 'throughput',
    purpose: 'static',
    path: '/file-1m.bin',
    tool: 'wrk',
    contenders: ['aerys-cluster', 'nginx', 'express'],
    baselines: ['nginx', 'express'],
  },
  {
    name: 'ws-echo',
    title: `WebSocket echo, messages per second (${WS_LOAD.connections} connections x ${WS_LOAD.depth} in flight, ${WS_LOAD.size} B)`,
    kind: 'throughput',
    purpose: 'ws',
    tool: 'ws',
    contenders: ['aerys-cluster', 'ws'],
    baselines: ['ws'],
  },
  {
    name: 'idle',
    title: 'Idle keep-alive connections: resident memory per connection',
    kind: 'idle',
    purpose: 'hello',
    tool: 'wrk',
    contenders: ['aerys-cluster', 'node-cluster', 'node-single', 'nginx'],
    baselines: ['node-cluster', 'node-single'],
  },
  {
    name: 'scrape',
    title: 'Keep-alive hello world while /metrics is scraped every second (HTTP/1.1, wrk)',
    kind: 'throughput',
    purpose: 'hello',
    tool: 'wrk',
    contenders: ['aerys-cluster', 'aerys-scraped'],
    baselines: ['aerys-cluster'],
    subject: 'aerys-scraped',
  },
  {
    name: 'reload',
    title: 'Keep-alive hello world while a reload (SIGHUP) starts every 5 s',
    kind: 'reload',
    purpose: 'hello',
    tool: 'wrk',
    contenders: ['aerys-cluster'],
    baselines: [],
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((scenario) => scenario.name);

/** Returns the request path a scenario loads. */
export function scenarioPath(scenario) {
  return scenario.path ?? (scenario.purpose === 'ws' ? '/' : '/hello');
}

/** Measures `duration` seconds of the scenario's load against `url`. */
export function measure(scenario, url, settings, duration) {
  switch (scenario.tool) {
    case 'wrk':
      return wrk({ url, connections: settings.connections, duration, close: scenario.close === true });
    case 'h2load':
      return h2load({ url, clients: H2_CLIENTS, streams: H2_STREAMS, duration });
    case 'ws':
      return wsEcho(url, duration);
    default:
      throw new Error(`Unknown load tool ${scenario.tool}.`);
  }
}

/** Runs the WebSocket echo client in its own process, so it does not share the runner's event loop. */
function wsEcho(url, duration) {
  return new Promise((resolve, reject) => {
    const args = [join(BENCH_DIR, 'clients/ws-echo.mjs'), url, WS_LOAD.connections, WS_LOAD.depth, WS_LOAD.size, duration].map(String);
    const child = spawn('sh', ['-c', `ulimit -n ${OPEN_FILES} 2>/dev/null; exec "$@"`, 'sh', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), duration * 1000 + 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(output.trim().split('\n').pop()));
      } catch (error) {
        reject(new Error(`WebSocket echo client failed (${error.message}): ${output.slice(-1000)}`));
      }
    });
  });
}
