// The HTTP/1.1 transport: a Node http.Server that never listens; the gateway feeds it sockets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '@aerys-cluster/shared';
import { guardHttp1Server } from './slow-clients.js';
import { Http1Drain } from './http1-drain.js';

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const drains = new WeakMap<Server, Http1Drain>();

/** Returns the drain state of a server made by createHttp1Server. */
export function http1DrainOf(server: Server): Http1Drain | undefined {
  return drains.get(server);
}

/** Creates the HTTP/1.1 server with the request limits of the configuration. */
export function createHttp1Server(config: Readonly<Config>, listener: Listener): Server {
  let drain: Http1Drain | null = null;
  const server = createServer(
    {
      maxHeaderSize: config.maxHeaderSize,
      keepAliveTimeout: config.connectionTimeout,
      headersTimeout: config.headerTimeout,
      // Node measures requestTimeout from the first byte to the end of the body.
      requestTimeout: config.headerTimeout + config.bodyTimeout,
      // Node's strict parser rejects ambiguous framing (request smuggling); it must stay on.
      insecureHTTPParser: false,
      noDelay: true,
      // How often Node checks the header and request deadlines of every connection.
      connectionsCheckingInterval: 1000,
    },
    admitted,
  );
  function admitted(req: IncomingMessage, res: ServerResponse): void {
    if (drain && !drain.admit(req, res)) return;
    listener(req, res);
  }
  // The pipeline decides about `100 Continue` (readBody sends it when the body fits the limit);
  // such requests go through the drain's accounting like every other.
  server.on('checkContinue', admitted);
  drain = new Http1Drain(server);
  drains.set(server, drain);
  // Node adds `Connection: close` to the last allowed response and responds with 503 beyond it.
  server.maxRequestsPerSocket = config.maxRequestsPerConnection;
  // Node starts tracking connections (header and request deadlines, closeIdleConnections) on
  // 'listening'. This server never listens, since the master hands it sockets, so start it here.
  server.emit('listening');
  guardHttp1Server(server);
  return server;
}
