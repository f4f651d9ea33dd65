// The servers compared. Each contender starts for one purpose of a scenario (hello world over
// HTTP/1.1, static files, h2c, h2 over TLS, WebSocket echo) on a free port of 127.0.0.1 with the
// same worker count, and returns an instance: the URL to load, the root PIDs whose process trees
// make up its memory, and stop().
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BENCH_DIR, REPO_ROOT } from './paths.mjs';
import { waitUntilServing } from './probe.mjs';
import { OPEN_FILES, freePort, startProcess, stopProcess } from './processes.mjs';

const execFileAsync = promisify(execFile);
const SERVERS = join(BENCH_DIR, 'servers');
const CLI = join(REPO_ROOT, 'packages/master/bin/aerys-cluster.js');
/** Keep-alive timeout of nginx and aerys-cluster, equal to the bare servers' (see servers/common.mjs). */
const KEEP_ALIVE_SECONDS = 65;

/** The request path and probe protocol of each purpose. */
export const PURPOSES = {
  hello: { path: '/hello', protocol: 'http1' },
  static: { path: null, protocol: 'http1' },
  h2c: { path: '/hello', protocol: 'h2' },
  'h2-tls': { path: '/hello', protocol: 'h2' },
  ws: { path: '/', protocol: 'ws' },
};

function urlFor(purpose, port, path) {
  if (purpose === 'h2-tls') return `https://127.0.0.1:${port}${path}`;
  if (purpose === 'ws') return `ws://127.0.0.1:${port}${path}`;
  return `http://127.0.0.1:${port}${path}`;
}

/** Starts a process and waits until it serves `url`, or stops it again when it does not. */
async function serve(command, args, { url, protocol, ctx }) {
  const child = startProcess(command, args);
  ctx.primaryPids?.add(child.pid);
  try {
    await waitUntilServing(url, protocol, { child });
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { url, child, roots: [child.pid], stop: () => stopProcess(child) };
}

/**
 * Returns the aerys-cluster configuration of the benchmark: the defaults, except the limits that the
 * load generators would otherwise hit (each is stated in docs/benchmarks.md).
 */
export function aerysConfig(ctx, purpose, port) {
  const listener = { host: '127.0.0.1', port };
  if (purpose === 'h2-tls') listener.tls = { cert: ctx.tls.cert, key: ctx.tls.key };
  const limits = {};
  // h2load does not reconnect after GOAWAY, so the default of 1000 requests per connection would
  // end the run after 10 x 1000 requests.
  if (purpose === 'h2c' || purpose === 'h2-tls') limits.maxRequestsPerConnection = 2 ** 31 - 1;
  // The echo load sends about 200 messages per second on each connection, over the default flood
  // limit of 100 frames per second.
  if (purpose === 'ws') limits.websocket = { maxFramesPerSecond: 1_000_000, maxBytesPerMinute: 1024 ** 3 };
  return {
    ...limits,
    listen: [listener],
    workers: ctx.workers,
    app: purpose === 'static' ? null : join(SERVERS, 'app.mjs'),
    root: purpose === 'static' ? ctx.staticRoot : null,
    // Metrics stay on; port 0 keeps parallel runs from colliding on the default admin port.
    admin: { host: '127.0.0.1', port: 0 },
    // wrk opens all of its connections from 127.0.0.1; the default of 30 would reject 20 of 50.
    connectionsPerIP: 1024,
    // The idle-connection scenario holds up to 10,000 connections at once.
    maxConnections: 20_000,
    connectionTimeout: KEEP_ALIVE_SECONDS * 1000,
  };
}

/** Time the cluster may take from start to its "cluster ready" log line. */
const AERYS_READY_TIMEOUT_MS = 30_000;

/**
 * aerys-cluster through its CLI, as an operator starts it. It is ready when the master logs
 * "cluster ready" (every worker reported ready); whether it serves the purpose's protocol is
 * the scenario's feature probe, not part of the start.
 */
const aerys = {
  name: 'aerys-cluster',
  purposes: ['hello', 'static', 'h2c', 'h2-tls', 'ws'],
  async start(ctx, purpose, path) {
    const port = await freePort();
    const configPath = join(ctx.dir, `aerys-${purpose}-${port}.json`);
    writeFileSync(configPath, JSON.stringify(aerysConfig(ctx, purpose, port), null, 2));

    const logListeners = new Set();
    let signalReady;
    let admin = null;
    const ready = new Promise((resolve) => (signalReady = resolve));
    const child = startProcess(process.execPath, [...(ctx.nodeArgs?.('aerys-cluster') ?? []), CLI, 'start', '--config', configPath], {
      onLine: (line) => {
        if (line.includes('"msg":"cluster ready"')) {
          admin = JSON.parse(line).admin ?? null;
          signalReady();
        }
        for (const listener of logListeners) listener(line);
      },
    });
    ctx.primaryPids?.add(child.pid);

    let timer;
    const outcome = await Promise.race([
      ready.then(() => 'ready'),
      child.exited.then(({ code }) => `exited with code ${code}`),
      new Promise((resolve) => (timer = setTimeout(() => resolve(`not ready within ${AERYS_READY_TIMEOUT_MS} ms`), AERYS_READY_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (outcome !== 'ready') {
      await stopProcess(child);
      throw new Error(`aerys-cluster ${outcome}: ${child.output.text.slice(-1500)}`);
    }
    return {
      url: urlFor(purpose, port, path),
      admin,
      child,
      roots: [child.pid],
      logListeners,
      stop: () => stopProcess(child),
    };
  },
};

/** How often the scraped contender's /metrics is fetched, as a Prometheus server with a 1 s interval would. */
const SCRAPE_INTERVAL_MS = 1000;

/**
 * aerys-cluster while a scraper fetches /metrics from the admin listener every second, to show
 * what a scrape costs the requests served at the same time. The scraper runs in the runner's own
 * process, as a Prometheus server would run outside the cluster.
 */
const aerysScraped = {
  name: 'aerys-scraped',
  purposes: ['hello'],
  async start(ctx, purpose, path) {
    const instance = await aerys.start(ctx, purpose, path);
    if (!instance.admin) {
      await instance.stop();
      throw new Error('aerys-cluster logged no admin listener address, so there is nothing to scrape.');
    }
    const stats = { scrapes: 0, failures: 0 };
    const scrape = () =>
      fetch(`http://${instance.admin}/metrics`)
        .then((response) => response.text())
        .then(
          () => stats.scrapes++,
          () => stats.failures++,
        );
    const timer = setInterval(scrape, SCRAPE_INTERVAL_MS);
    return {
      ...instance,
      scrapeStats: stats,
      stop: async () => {
        clearInterval(timer);
        await instance.stop();
      },
    };
  },
};

/** Defines a Node contender that runs one of the scripts in bench/servers. */
function nodeScript(name, script, purposes, extraArgs = () => []) {
  return {
    name,
    purposes,
    async start(ctx, purpose, path) {
      const port = await freePort();
      // node:cluster forks workers with the primary's execArgv, so profiling flags reach them too.
      const args = [...(ctx.nodeArgs?.(name) ?? []), join(SERVERS, script), String(port), String(ctx.workers), ...extraArgs(ctx, purpose)];
      return serve(process.execPath, args, {
        url: urlFor(purpose, port, path),
        protocol: PURPOSES[purpose].protocol,
        ctx,
      });
    },
  };
}

const nodeCluster = nodeScript('node-cluster', 'node-cluster.mjs', ['hello']);
const nodeSingle = nodeScript('node-single', 'node-single.mjs', ['hello']);
const nodeHttp2 = nodeScript('node-http2', 'http2-cluster.mjs', ['h2c', 'h2-tls'], (ctx, purpose) =>
  purpose === 'h2-tls' ? [ctx.tls.cert, ctx.tls.key] : [],
);
const bareWs = nodeScript('ws', 'ws-cluster.mjs', ['ws']);
const express = nodeScript('express', 'express-static.mjs', ['static'], (ctx) => [ctx.staticRoot]);

/** nginx from Debian: the fixed response from `return 200`, files with sendfile. */
const nginx = {
  name: 'nginx',
  purposes: ['hello', 'static'],
  async start(ctx, purpose, path) {
    const port = await freePort();
    const prefix = join(ctx.dir, `nginx-${port}`);
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    const configPath = join(prefix, 'nginx.conf');
    writeFileSync(configPath, nginxConfig(ctx, port, prefix));
    return serve('nginx', ['-p', prefix, '-c', configPath, '-e', join(prefix, 'logs/error.log'), '-g', 'daemon off;'], {
      url: urlFor(purpose, port, path),
      protocol: 'http1',
      ctx,
    });
  },
};

export function nginxConfig(ctx, port, prefix) {
  // As root, nginx would switch its workers to "nobody", which cannot read the run's private directory.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes ${ctx.workers};
worker_rlimit_nofile ${OPEN_FILES};
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events {
  worker_connections 30000;
}
http {
  access_log off;
  keepalive_timeout ${KEEP_ALIVE_SECONDS}s;
  keepalive_requests 1000;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  types { application/octet-stream bin; }
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port} backlog=511;
    root ${ctx.staticRoot};
    location = /hello {
      default_type text/plain;
      return 200 "Hello, world!\\n";
    }
  }
}
`;
}

/**
 * PM2 in cluster mode, running the single-process script in each instance. PM2_HOME is private to
 * the run, so its daemon never meets another PM2 on the machine; stop() kills that daemon.
 */
const pm2 = {
  name: 'pm2',
  purposes: ['hello'],
  async start(ctx, purpose, path) {
    const bin = join(BENCH_DIR, 'node_modules/.bin/pm2');
    if (!existsSync(bin)) throw new Error('pm2 is not installed in bench/node_modules; run pnpm install');
    const port = await freePort();
    const home = join(ctx.dir, `pm2-${port}`);
    const env = { ...process.env, PM2_HOME: home };
    const ecosystem = join(ctx.dir, `pm2-${port}.json`);
    writeFileSync(
      ecosystem,
      JSON.stringify({
        apps: [{ name: `bench-${port}`, script: join(SERVERS, 'node-single.mjs'), instances: ctx.workers, exec_mode: 'cluster', autorestart: false, env: { PORT: String(port) } }],
      }),
    );
    const shell = (args) => execFileAsync('sh', ['-c', `ulimit -n ${OPEN_FILES} 2>/dev/null; exec "$@"`, 'sh', bin, ...args], { env, timeout: 60_000 });
    const stop = async () => {
      await shell(['kill']).catch(() => undefined);
    };
    try {
      await shell(['start', ecosystem]);
      const url = urlFor(purpose, port, path);
      await waitUntilServing(url, PURPOSES[purpose].protocol);
      const daemon = Number(readFileSync(join(home, 'pm2.pid'), 'utf8'));
      return { url, child: null, roots: [daemon], stop };
    } catch (error) {
      await stop();
      throw error;
    }
  },
};

export const CONTENDERS = [aerys, aerysScraped, nodeCluster, nodeSingle, pm2, nginx, express, nodeHttp2, bareWs];
export const CONTENDER_NAMES = CONTENDERS.map((contender) => contender.name);

export function contenderByName(name) {
  return CONTENDERS.find((contender) => contender.name === name);
}
