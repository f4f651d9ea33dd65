// Worker process entry point, forked by the master with node:cluster. It loads the application,
// reports ready, takes the sockets the master hands over, and drains on the master's request.
import cluster from 'node:cluster';
import type { Socket } from 'node:net';
import { EXIT_CONFIG, createLogger, isMasterMessage, type Config, type HandlerTable, type MasterMessage, type WorkerMessage } from '@aerys-cluster/shared';
import { loadApplication } from './app.js';
import { Gateway, type Transport } from './gateway.js';
import { createPipeline } from './handler.js';
import { adoptHandOff, hardenWorker, privilegeProblem } from './hardening.js';
import { withClientAddress } from './client-address.js';
import { collectMetrics, observeRequest, setAccessLog } from './metrics.js';
import { StaticFiles } from './static.js';
import { TlsConfigError } from './tls.js';
import { createTransports } from './transports.js';

/** Interval of the liveness report; the master's workerTimeout must be several of these. */
const HEARTBEAT_INTERVAL_MS = 1000;

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

function readConfig(): Readonly<Config> {
  const text = process.env.AERYS_CONFIG;
  if (!text || !cluster.isWorker) {
    process.stderr.write('aerys-cluster worker: start the cluster with `aerys-cluster start`; this file is forked by the master.\n');
    process.exit(EXIT_CONFIG);
  }
  return JSON.parse(text) as Config;
}

async function main(): Promise<void> {
  const config = readConfig();
  const generation = Number(process.env.AERYS_GENERATION ?? '1');
  const workerId = cluster.worker?.id ?? 0;
  const log = createLogger({ level: config.logLevel, worker: workerId, generation });

  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception; worker exits');
    process.exit(1);
  });
  // The master coordinates shutdown; a terminal's Ctrl-C reaches the whole process group.
  process.on('SIGINT', () => log.debug('SIGINT ignored; the master coordinates shutdown'));

  const privilegeError = privilegeProblem(config);
  if (privilegeError) {
    log.fatal(privilegeError);
    send({ type: 'fatal', code: 'AERYS_WORKER_ROOT', message: privilegeError });
    process.exit(EXIT_CONFIG);
  }

  let app;
  try {
    app = await loadApplication(config.app);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.fatal({ err: message }, 'application failed to load');
    send({ type: 'fatal', code: 'AERYS_APP_INVALID', message });
    process.exit(EXIT_CONFIG);
  }

  let requests = 0;
  const staticFiles = config.root ? new StaticFiles(config.root, config.static) : null;
  const pipeline = withClientAddress(createPipeline({ config, app, staticFiles, log, isDraining: () => gateway.isDraining }), config.trustedProxies);
  // The access log writes at info whatever logLevel is: turning it on is the request for those lines.
  if (config.accessLog) setAccessLog(log.child({}, { level: 'info' }));
  const countingPipeline: typeof pipeline = (req, res) => {
    requests++;
    observeRequest(req, res);
    pipeline(req, res);
  };

  let transports: Transport[];
  try {
    transports = createTransports({ config, listener: countingPipeline, websocket: app.websocket, log });
  } catch (error) {
    if (!(error instanceof TlsConfigError)) throw error;
    log.fatal({ err: error.message }, 'TLS certificate failed to load');
    send({ type: 'fatal', code: error.code, message: error.message });
    process.exit(EXIT_CONFIG);
  }
  const gateway = new Gateway(config, transports, log, (accepted, closed) => send({ type: 'connections', accepted, closed }));
  hardenWorker(config, log, () => gateway.registry.sockets());

  const drain = (reason: string): void => {
    if (gateway.isDraining) return;
    log.info({ reason }, 'drain requested');
    gateway.drain(() => {
      log.info('drained; exiting');
      // The final counts go to the master first, so its totals include this worker's last requests.
      void sendFinalMetrics().finally(() => process.exit(0));
    });
    setTimeout(() => {
      log.warn({ open: gateway.registry.size, shutdownTimeoutMs: config.shutdownTimeout }, 'drain timed out; exiting with connections open');
      gateway.registry.flush();
      process.exit(0);
    }, config.shutdownTimeout).unref();
  };
  process.on('SIGTERM', () => drain('SIGTERM'));

  const handlers: HandlerTable<MasterMessage, [Socket | undefined]> = {
    connection: (message, socket) => {
      if (socket) adoptHandOff(socket, message);
      if (socket) gateway.accept(message.id, message.listener, socket);
      else send({ type: 'connections', accepted: [message.id], closed: [message.id] });
    },
    drain: (message) => drain(message.reason),
    'collect-metrics': (message) => {
      // Without a reply the master leaves this worker out of the scrape and counts a timeout.
      collectMetrics().then(
        (metrics) => send({ type: 'metrics', seq: message.seq, metrics }),
        (error: unknown) => log.error({ err: error }, 'metrics collection failed'),
      );
    },
  };
  process.on('message', (raw: unknown, handle: unknown) => {
    if (!isMasterMessage(raw)) return;
    const handler = handlers[raw.type] as (message: MasterMessage, socket: Socket | undefined) => void;
    handler(raw, handle as Socket | undefined);
  });

  setInterval(() => send({ type: 'heartbeat', requests, rss: process.memoryUsage.rss() }), HEARTBEAT_INTERVAL_MS).unref();
  send({ type: 'ready' });
  log.info({ app: config.app, root: config.root }, 'worker ready');
}

/** Sends the metrics with seq 0 (not a reply) and resolves once the message is written, or after 1 s. */
async function sendFinalMetrics(): Promise<void> {
  if (!process.connected || !process.send) return;
  const metrics = await collectMetrics();
  await new Promise<void>((resolve) => {
    setTimeout(resolve, 1000).unref();
    process.send?.({ type: 'metrics', seq: 0, metrics } satisfies WorkerMessage, undefined, {}, () => resolve());
  });
}

void main();
