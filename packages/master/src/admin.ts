// The admin listener: /metrics for Prometheus, /healthz and /readyz for load balancers and
// orchestrators, /status for operators. It runs in the master, so it responds even while every
// worker is busy. It stays open until the master exits, so /readyz can report the shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { formatHostPort, type AdminConfig, type Logger, type MetricFamily } from '@aerys-cluster/shared';
import { contentType, negotiateFormat, writeExposition, type ExpositionFormat } from './exposition.js';
import type { Master } from './master.js';
import type { ClusterMetrics } from './metrics.js';
import { statusSnapshot } from './status.js';

const TEXT = 'text/plain; charset=utf-8';

/** Expositions already written for a merged result, which parallel scrapes share. */
const written = new WeakMap<readonly MetricFamily[], Partial<Record<ExpositionFormat, string>>>();

function exposition(families: readonly MetricFamily[], format: ExpositionFormat): string {
  let formats = written.get(families);
  if (!formats) {
    formats = {};
    written.set(families, formats);
  }
  formats[format] ??= writeExposition(families, format);
  return formats[format];
}

export class AdminServer {
  private readonly server: Server;

  private constructor(
    private readonly master: Master,
    private readonly metrics: ClusterMetrics,
    private readonly config: Readonly<AdminConfig>,
    private readonly log: Logger,
  ) {
    this.server = createServer((req, res) => this.route(req, res));
    // Scrapers keep connections alive between scrapes; a short idle timeout is enough for a 1 s interval.
    this.server.keepAliveTimeout = 5000;
  }

  /** Binds the admin listener and resolves with the server and its bound "host:port". */
  static async start(master: Master, metrics: ClusterMetrics, config: Readonly<AdminConfig>, log: Logger): Promise<{ admin: AdminServer; address: string }> {
    const admin = new AdminServer(master, metrics, config, log);
    const address = await admin.listen();
    log.info({ admin: address }, 'admin listener ready');
    return { admin, address };
  }

  private listen(): Promise<string> {
    const { host, port } = this.config;
    return new Promise((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => {
        reject(new Error(`Cannot listen on the admin address ${formatHostPort(host, port)}: ${error.code ?? error.message}. Choose another admin.port, or set admin to false.`));
      });
      this.server.listen({ host, port }, () => {
        const bound = this.server.address();
        resolve(typeof bound === 'object' && bound ? formatHostPort(bound.address, bound.port) : formatHostPort(host, port));
      });
    });
  }

  /** Stops accepting and closes every admin connection, idle or not. */
  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, TEXT, 'method not allowed; use GET\n', { Allow: 'GET, HEAD' });
      return;
    }

    const path = (req.url ?? '/').split('?', 1)[0];
    switch (path) {
      case '/metrics':
        this.serveMetrics(req, res);
        return;
      case '/healthz':
        send(res, 200, TEXT, 'ok\n');
        return;
      case '/readyz':
        this.serveReadiness(res);
        return;
      case '/status':
        send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(statusSnapshot(this.master))}\n`);
        return;
      default:
        send(res, 404, TEXT, 'not found; the admin listener serves /metrics, /healthz, /readyz and /status\n');
    }
  }

  /** Responds 200 only while running, so a load balancer stops sending new connections once stopping begins. */
  private serveReadiness(res: ServerResponse): void {
    const state = this.master.state;
    if (state === 'running') send(res, 200, TEXT, 'ready\n');
    else send(res, 503, TEXT, `not ready: ${state}\n`);
  }

  private serveMetrics(req: IncomingMessage, res: ServerResponse): void {
    const format = negotiateFormat(req.headers.accept);
    this.metrics.scrape(this.config.scrapeTimeout).then(
      (families) => send(res, 200, contentType(format), exposition(families, format)),
      (error: unknown) => {
        this.log.error({ err: error }, 'metrics scrape failed');
        send(res, 500, TEXT, 'metrics scrape failed; see the master log\n');
      },
    );
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
