// Deadlines for slow clients. Node's http.Server enforces the header deadline (headersTimeout,
// slowloris) and the request deadline (requestTimeout, slow POST), and reports both as
// ERR_HTTP_REQUEST_TIMEOUT. Node has no write deadline (slow read), so a sweep here closes
// connections whose pending output made no progress for writeTimeout. Every connection closed
// this way is counted by reason.
import type { IncomingMessage, Server } from 'node:http';
import { constants as http2Constants, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Config, Logger } from '@aerys-cluster/shared';

export type ClientCloseReason = 'header_timeout' | 'body_timeout' | 'write_timeout' | 'bad_request' | 'header_too_large' | 'http2_flood';

/**
 * Connections this worker closed because of a slow or malformed client, by reason. A metrics
 * exporter reads these as the counter `aerys_client_closes_total{reason="..."}`.
 */
export const clientCloses: Record<ClientCloseReason, number> = {
  header_timeout: 0,
  body_timeout: 0,
  write_timeout: 0,
  bad_request: 0,
  header_too_large: 0,
  http2_flood: 0,
};

/** At most one log line per reason per interval, with the totals; an attack repeats thousands. */
const LOG_INTERVAL_MS = 5000;
const lastLogged = new Map<ClientCloseReason, number>();
/** The worker's logger; set once at start by `setClientCloseLog`. */
let closeLog: Logger | null = null;

/** Sets the logger for client closes; the HTTP servers are created without one. */
export function setClientCloseLog(log: Logger): void {
  closeLog = log;
}

/** Sockets whose request header has arrived and whose body has not ended yet. */
const readingBody = new WeakSet<Socket>();

/** Counts a connection closed for `reason` and logs it, rate-limited per reason. */
export function countClose(reason: ClientCloseReason, client: string | undefined): void {
  clientCloses[reason]++;
  const now = Date.now();
  const log = closeLog;
  if (!log) return;
  if (now - (lastLogged.get(reason) ?? 0) < LOG_INTERVAL_MS) return;
  lastLogged.set(reason, now);
  log.warn({ reason, client, total: clientCloses[reason] }, 'client connection closed');
}

function requestOnStart(req: IncomingMessage): void {
  // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112, section 6.3), so
  // most GETs skip the set and the two listeners below.
  if (req.complete || (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined)) return;
  const socket = req.socket;
  readingBody.add(socket);
  req.once('end', () => readingBody.delete(socket));
  req.once('close', () => readingBody.delete(socket));
}

/** The status line Node's default clientError handler sends for each parser error class. */
function responseFor(code: string | undefined): { status: string; reason: ClientCloseReason } {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: '431 Request Header Fields Too Large', reason: 'header_too_large' };
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return { status: '413 Payload Too Large', reason: 'bad_request' };
  return { status: '400 Bad Request', reason: 'bad_request' };
}

/**
 * Responds to protocol errors and expired deadlines on an HTTP/1.1 server, counting each: 408 for a
 * header or body deadline, 431 for an oversized header, 400 for any other parse error (ambiguous
 * framing included). The connection is always closed, so no byte after the error is parsed.
 */
export function guardHttp1Server(server: Server): void {
  server.prependListener('request', requestOnStart);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    let status: string;
    let reason: ClientCloseReason;
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = '408 Request Timeout';
      reason = readingBody.has(socket) ? 'body_timeout' : 'header_timeout';
    } else if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
      socket.destroy();
      return;
    } else {
      ({ status, reason } = responseFor(error.code));
    }

    countClose(reason, socket.remoteAddress);
    closeLog?.debug({ err: error.message, code: error.code, client: socket.remoteAddress }, 'client error');
    // A response already under way cannot get a second status line; the close alone ends it.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroySoon();
    // destroySoon waits for the write; a client that does not read must not keep the socket.
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}

interface WriteProgress {
  flushed: number;
  since: number;
}

/**
 * Closes connections whose buffered output has not moved for `writeTimeout`: a client that stops
 * reading (slow read) would otherwise pin the response buffers forever. Checked once a second, so
 * a connection closes between writeTimeout and writeTimeout + 1 s after its last progress.
 */
export class WriteDeadline {
  private readonly progress = new WeakMap<Socket, WriteProgress>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly config: Pick<Config, 'writeTimeout'>,
    private readonly sockets: () => Iterable<Socket>,
    intervalMs = Math.min(1000, config.writeTimeout),
  ) {
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sweep(): void {
    const now = Date.now();
    for (const socket of this.sockets()) {
      if (socket.destroyed || socket.writableLength === 0) {
        this.progress.delete(socket);
        continue;
      }
      // bytesWritten counts queued bytes too; subtracting the queue leaves what reached the kernel.
      const flushed = socket.bytesWritten - socket.writableLength;
      const last = this.progress.get(socket);
      if (!last || last.flushed !== flushed) {
        this.progress.set(socket, { flushed, since: now });
        continue;
      }
      if (now - last.since < this.config.writeTimeout) continue;

      this.progress.delete(socket);
      countClose('write_timeout', socket.remoteAddress);
      // A reset discards the unsent bytes at once. A plain close would leave them in the kernel,
      // retransmitted to a peer that does not read, until the orphan timeout.
      socket.resetAndDestroy();
    }
  }
}

/**
 * Cancels an HTTP/2 stream whose request body is still arriving `deadlineMs` after its HEADERS,
 * the HTTP/2 form of the slow POST deadline (Node's requestTimeout covers HTTP/1.1 only). A
 * stream whose body is complete is left alone; the write deadline covers its response.
 */
export function watchHttp2Body(stream: ServerHttp2Stream, deadlineMs: number): void {
  if (stream.endAfterHeaders) return;
  const timer = setTimeout(() => {
    if (stream.closed || stream.destroyed) return;
    // OPEN means the peer has not sent END_STREAM yet; HALF_CLOSED_REMOTE means the body is complete.
    if (stream.state.state !== http2Constants.NGHTTP2_STREAM_STATE_OPEN) return;
    countClose('body_timeout', stream.session?.socket?.remoteAddress);
    stream.close(http2Constants.NGHTTP2_CANCEL);
  }, deadlineMs);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
}
