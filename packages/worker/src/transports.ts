// The protocol stack of a worker and the transports that feed it. Every listener shares one
// HTTP/1.1 server, one HTTP/2 server and one WebSocket gateway; a transport only decides which of
// them gets a connection:
//
//   cleartext listener: first bytes == HTTP/2 preface ? HTTP/2 (h2c) : HTTP/1.1 (+ WebSocket)
//   TLS listener:       handshake, then ALPN "h2" ? HTTP/2 : HTTP/1.1 (+ WebSocket)
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import type { Config, Logger } from '@aerys-cluster/shared';
import type { Transport } from './gateway.js';
import type { HttpRequest, HttpResponse, RequestListener } from './http-types.js';
import { Http2ServerRequest } from 'node:http2';
import { sendError } from './handler.js';
import { Http2Sessions, headerListSize } from './http2.js';
import { createHttp1Server, http1DrainOf } from './http1.js';
import { trackConnection } from './metrics.js';
import { detectProtocol } from './preface.js';
import { loadTlsOptions } from './tls.js';
import { WebSocketGateway } from './websocket.js';
import type { WebSocketHandler } from './app.js';

export interface StackOptions {
  config: Readonly<Config>;
  listener: RequestListener;
  websocket: WebSocketHandler | null;
  log: Logger;
}

/** The HTTP/1.1, HTTP/2 and WebSocket servers of one worker, and how each drains. */
export class ProtocolStack {
  readonly http1: Server;
  readonly http2: Http2Sessions;
  readonly websocket: WebSocketGateway;
  constructor(private readonly options: StackOptions) {
    const { config, log } = options;
    const listener = this.checkHttp2HeaderSize(options.listener);
    this.http1 = createHttp1Server(config, listener);
    this.http2 = new Http2Sessions(config, listener);
    this.websocket = new WebSocketGateway(config.websocket, options.websocket, log);

    // The pipeline decides about `100 Continue`: readBody sends it when the body fits the limit.
    this.http2.server.on('checkContinue', listener);
    this.http1.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  /**
   * Starts draining every protocol: idle HTTP/1.1 connections close and in-flight responses get
   * `Connection: close` (the HTTP/1.1 drain tracks them); HTTP/2 sessions get GOAWAY; WebSockets
   * get close 1001. Safe to call repeatedly.
   */
  drain(): void {
    // Idle keep-alive connections get a grace for a next request, then a half-close (FIN), never
    // the reset that closeIdleConnections() can cause; see http1-drain.ts.
    const http1Drain = http1DrainOf(this.http1);
    if (http1Drain) http1Drain.drain();
    else this.http1.closeIdleConnections();
    this.http2.drain();
    this.websocket.drain();
  }

  private checkHttp2HeaderSize(listener: RequestListener): RequestListener {
    const maxHeaderSize = this.options.config.maxHeaderSize;
    return (req: HttpRequest, res: HttpResponse) => {
      // nghttp2 enforces maxHeaderSize only once the client has acknowledged the SETTINGS, so the
      // streams of the client's first flight are checked here.
      if (req instanceof Http2ServerRequest && headerListSize(req.rawHeaders) > maxHeaderSize) {
        sendError(res, 431);
        return;
      }
      listener(req, res);
    };
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (WebSocketGateway.isWebSocketUpgrade(req)) {
      this.websocket.upgrade(req, socket, head);
      return;
    }
    // RFC 9110, section 7.8: a server may ignore Upgrade. Node has already detached the parser,
    // so the request is served on its own response object and the connection closes after it.
    if (!(socket instanceof Socket)) {
      socket.destroy();
      return;
    }
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => {
      res.detachSocket(socket);
      socket.end();
    });
    this.options.listener(req, res);
  }
}

/** A cleartext TCP listener: HTTP/2 with prior knowledge (h2c) or HTTP/1.1, by the first bytes. */
export class CleartextTransport implements Transport {
  constructor(
    private readonly stack: ProtocolStack,
    private readonly detectTimeoutMs: number,
  ) {}

  accept(socket: Socket): void {
    detectProtocol(socket, this.detectTimeoutMs, (protocol) => {
      trackConnection(socket, protocol === 'h2c' ? 'h2' : 'http1');
      if (protocol === 'h2c') {
        // The HTTP/2 session reads the bytes put back into the socket before it starts reading.
        this.stack.http2.accept(socket);
        return;
      }
      // Node's HTTP/1.1 parser reads the socket's handle directly and never reads bytes put back
      // into the stream; resuming the stream replays them through its 'data' listener.
      this.stack.http1.emit('connection', socket);
      socket.resume();
    });
  }

  drain(): void {
    this.stack.drain();
  }
}

/** A TLS listener: HTTP/2 or HTTP/1.1 as negotiated by ALPN; no ALPN means HTTP/1.1. */
export class TlsTransport implements Transport {
  private readonly server: TlsServer;

  constructor(
    private readonly stack: ProtocolStack,
    tlsOptions: TlsOptions,
    handshakeTimeoutMs: number,
    log: Logger,
  ) {
    this.server = createTlsServer({ ...tlsOptions, handshakeTimeout: handshakeTimeoutMs });
    this.server.on('secureConnection', (tlsSocket: TLSSocket) => this.dispatch(tlsSocket));
    this.server.on('tlsClientError', (error: Error & { code?: string }, tlsSocket: TLSSocket) => {
      // Failed handshakes (scanners, old clients, timeouts) are routine, so they log at debug.
      log.debug({ err: error.message, code: error.code }, 'TLS handshake failed');
      tlsSocket.destroy();
    });
  }

  accept(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  drain(): void {
    this.stack.drain();
  }

  private dispatch(tlsSocket: TLSSocket): void {
    tlsSocket.on('error', tlsSocketOnError);
    trackConnection(tlsSocket, tlsSocket.alpnProtocol === 'h2' ? 'h2' : 'http1');
    if (tlsSocket.alpnProtocol === 'h2') this.stack.http2.accept(tlsSocket);
    else this.stack.http1.emit('connection', tlsSocket);
  }
}

function tlsSocketOnError(this: TLSSocket): void {
  // Resets from clients are routine; destroying the TLS socket closes the TCP socket under it.
  this.destroy();
}

/**
 * Builds one transport per configured listener, in `listen` order, over one shared stack.
 * Reads the certificates of TLS listeners; throws TlsConfigError when one cannot be used.
 */
export function createTransports(options: StackOptions): Transport[] {
  const { config, log } = options;
  const stack = new ProtocolStack(options);
  return config.listen.map((listener, index) =>
    listener.tls === null
      ? new CleartextTransport(stack, config.headerTimeout)
      : new TlsTransport(stack, loadTlsOptions(index, listener.tls), config.headerTimeout, log),
  );
}
