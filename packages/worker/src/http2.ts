// The HTTP/2 transport: one node:http2 server that never listens. Cleartext connections that
// start with the preface (h2c) and TLS connections that negotiated `h2` are both fed to it. The
// server enforces the header and stream limits through SETTINGS; this module adds the
// per-connection request limit, the idle timeout and draining.
import type { Duplex } from 'node:stream';
import { createServer, type Http2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { Config } from '@aerys-cluster/shared';
import type { RequestListener } from './http-types.js';
import { guardHttp2Session, http2FloodOptions } from './h2-flood.js';

/** Per-session counters; a WeakMap entry dies with its session. */
interface SessionState {
  requests: number;
  openStreams: number;
}

export class Http2Sessions {
  readonly server: Http2Server;
  private readonly open = new Set<Http2Session>();
  private readonly state = new WeakMap<Http2Session, SessionState>();
  private draining = false;

  constructor(
    private readonly config: Readonly<Config>,
    listener: RequestListener,
  ) {
    this.server = createServer(
      {
        settings: {
          // nghttp2 resets streams over this limit with RST_STREAM(REFUSED_STREAM).
          maxConcurrentStreams: config.maxConcurrentStreams,
          // A header block over this size gets the stream reset; the session stays up.
          maxHeaderListSize: config.maxHeaderSize,
          enablePush: false,
        },
        maxSendHeaderBlockLength: config.maxHeaderSize,
        ...http2FloodOptions(config),
      },
      listener,
    );
    this.server.on('session', (session: Http2Session) => this.track(session));
    this.server.on('stream', (stream: ServerHttp2Stream) => this.countStream(stream));
  }

  /** Serves an HTTP/2 connection: a cleartext socket after the preface or a TLS socket after ALPN `h2`. */
  accept(socket: Duplex): void {
    this.server.emit('connection', socket);
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * Sends GOAWAY(NO_ERROR) on every session (RFC 9113, section 6.8): the client opens no new
   * streams, the open ones finish, and Node closes the session after the last one.
   */
  drain(): void {
    this.draining = true;
    for (const session of this.open) closeGracefully(session);
  }

  private track(session: Http2Session): void {
    this.open.add(session);
    this.state.set(session, { requests: 0, openStreams: 0 });
    guardHttp2Session(session, this.config);
    session.once('close', () => this.open.delete(session));
    session.on('error', sessionOnError);
    // The timeout fires after connectionTimeout without any frame. A session with open streams
    // (a long poll, a slow upload) stays open.
    // NOTE: no timeout bounds an HTTP/2 stream that stays silent; headerTimeout and bodyTimeout
    // apply to HTTP/1.1 only.
    session.setTimeout(this.config.connectionTimeout, () => {
      if ((this.state.get(session)?.openStreams ?? 0) === 0) closeGracefully(session);
    });
    if (this.draining) closeGracefully(session);
  }

  private countStream(stream: ServerHttp2Stream): void {
    const session = stream.session;
    const state = session ? this.state.get(session) : undefined;
    if (!session || !state) return;

    state.requests++;
    state.openStreams++;
    stream.once('close', () => state.openStreams--);
    // The GOAWAY names this stream as the last one processed, so it still completes.
    if (state.requests >= this.config.maxRequestsPerConnection) closeGracefully(session);
  }
}

function closeGracefully(session: Http2Session): void {
  if (session.closed || session.destroyed) return;
  // close() sends GOAWAY(NO_ERROR) with the last processed stream id and destroys the session
  // once its open streams have finished.
  session.close();
}

function sessionOnError(this: Http2Session): void {
  // Protocol errors and resets from clients end the session; Node has already sent GOAWAY.
  this.destroy();
}

/**
 * Size of a header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113, section 6.5.2):
 * name and value lengths plus 32 bytes per field. `rawHeaders` alternates names and values.
 */
export function headerListSize(rawHeaders: readonly string[]): number {
  let size = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    size += Buffer.byteLength(rawHeaders[i] ?? '') + Buffer.byteLength(rawHeaders[i + 1] ?? '') + 32;
  }
  return size;
}
