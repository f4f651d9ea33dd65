// The WebSocket gateway: HTTP/1.1 upgrade requests go to `ws` in noServer mode, and each accepted
// socket gets the limits of the `websocket` options: message size (1009), frame and byte rates
// (1008), heartbeat pings, and a deadline for the closing handshake.
//
//   server                                   client
//     | --- close(1001 / 1008) ---------------> |
//     |                                         |   the client responds within closePeriod,
//     | <-------------------------- close ----- |   or the socket is destroyed
//     | --- TCP FIN ---------------------------> |
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger, WebSocketConfig } from '@aerys-cluster/shared';
import type { WebSocketHandler } from './app.js';
import { MeteredWebSocket } from './metered-websocket.js';
import { websocketClosed, websocketMessage, websocketOpened } from './metrics.js';
import { RateBucket } from './rate-bucket.js';

/** RFC 6455, section 7.4.1. */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_INTERNAL_ERROR = 1011;

/** The frame rate is averaged over this many seconds: a peer may burst that many seconds' worth. */
const FRAME_RATE_WINDOW_SECONDS = 3;

interface Peer {
  missedPongs: number;
  frames: RateBucket;
  bytes: RateBucket;
  closeTimer: NodeJS.Timeout | null;
}

export class WebSocketGateway {
  private readonly server: WebSocketServer;
  private readonly peers = new Map<WebSocket, Peer>();
  private heartbeat: NodeJS.Timeout | null = null;
  private draining = false;

  constructor(
    private readonly config: Readonly<WebSocketConfig>,
    private readonly handler: WebSocketHandler | null,
    private readonly log: Logger,
  ) {
    this.server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: config.maxMessageSize,
      perMessageDeflate: config.perMessageDeflate,
      WebSocket: MeteredWebSocket,
    });
  }

  get size(): number {
    return this.peers.size;
  }

  /** True for an upgrade this gateway takes; other upgrades (such as h2c) are served as HTTP/1.1. */
  static isWebSocketUpgrade(req: IncomingMessage): boolean {
    return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
  }

  /** Completes or rejects a WebSocket handshake on an HTTP/1.1 connection. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.handler) {
      rejectHandshake(socket, 404);
      return;
    }
    if (this.draining) {
      rejectHandshake(socket, 503);
      return;
    }
    // ws responds to an invalid handshake (version, key, method) with 400 itself.
    this.server.handleUpgrade(req, socket, head, (ws) => this.open(ws, req, socket));
  }

  /** Closes every socket with 1001 (going away); each must finish the handshake within closePeriod. */
  drain(): void {
    this.draining = true;
    for (const ws of this.peers.keys()) this.close(ws, CLOSE_GOING_AWAY, 'server is restarting');
  }

  private open(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    const { maxFramesPerSecond, maxBytesPerMinute } = this.config;
    const peer: Peer = {
      missedPongs: 0,
      frames: new RateBucket(maxFramesPerSecond * FRAME_RATE_WINDOW_SECONDS, maxFramesPerSecond),
      bytes: new RateBucket(maxBytesPerMinute, maxBytesPerMinute / 60),
      closeTimer: null,
    };
    this.peers.set(ws, peer);
    this.startHeartbeat();
    websocketOpened();
    ws.on('message', websocketOnMessage);

    // Raw bytes count toward maxBytesPerMinute whatever they carry, including frame headers.
    socket.on('data', (chunk: Buffer) => {
      if (!peer.bytes.take(chunk.length)) this.close(ws, CLOSE_POLICY_VIOLATION, 'byte rate limit exceeded');
    });
    // NOTE: ws reports whole messages, so a fragmented message counts as one frame here.
    const countFrame = (): void => {
      if (!peer.frames.take(1)) this.close(ws, CLOSE_POLICY_VIOLATION, 'frame rate limit exceeded');
    };
    ws.on('message', countFrame);
    ws.on('ping', countFrame);
    ws.on('pong', () => {
      countFrame();
      peer.missedPongs = 0;
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws has already started the close (1009 for a message over maxPayload, 1002 for a protocol error).
      this.log.debug({ err: error.message, code: error.code }, 'websocket error');
    });
    ws.once('close', () => {
      websocketClosed();
      if (peer.closeTimer) clearTimeout(peer.closeTimer);
      this.peers.delete(ws);
      if (this.peers.size === 0) this.stopHeartbeat();
    });

    if (this.draining) {
      this.close(ws, CLOSE_GOING_AWAY, 'server is restarting');
      return;
    }
    this.runHandler(ws, req);
  }

  private runHandler(ws: WebSocket, req: IncomingMessage): void {
    const failed = (error: unknown): void => {
      this.log.error({ err: error, path: req.url }, 'websocket handler error');
      this.close(ws, CLOSE_INTERNAL_ERROR, 'internal error');
    };
    try {
      const result = this.handler?.(ws, req);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  /** Starts the closing handshake and destroys the socket if the peer does not finish it in time. */
  private close(ws: WebSocket, code: number, reason: string): void {
    const peer = this.peers.get(ws);
    if (!peer || peer.closeTimer) return;
    ws.close(code, reason);
    peer.closeTimer = setTimeout(() => ws.terminate(), this.config.closePeriod);
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => this.ping(), this.config.heartbeatPeriod);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (!this.heartbeat) return;
    clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /**
   * Pings every peer once per heartbeatPeriod. A peer that left queuedPingLimit pings unanswered
   * is terminated at the next tick, so a dead peer goes within heartbeatPeriod x (queuedPingLimit + 1).
   */
  private ping(): void {
    for (const [ws, peer] of this.peers) {
      if (peer.missedPongs >= this.config.queuedPingLimit) {
        this.log.debug({ missedPongs: peer.missedPongs }, 'websocket peer stopped answering pings; terminated');
        ws.terminate();
        continue;
      }
      peer.missedPongs++;
      ws.ping();
    }
  }
}

function websocketOnMessage(): void {
  websocketMessage('received');
}

function rejectHandshake(socket: Duplex, status: number): void {
  const body = `${status} ${STATUS_CODES[status] ?? 'Error'}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
