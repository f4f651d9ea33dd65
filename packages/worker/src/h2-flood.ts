// HTTP/2 flood limits. A peer can make a server work without sending requests: PING and SETTINGS
// frames each demand an ACK, and HEADERS followed at once by RST_STREAM (rapid reset,
// CVE-2023-44487) starts a request the client never waits for. These control frames share one
// budget per session of `maxFramesPerSecond`, sustained, with a burst of twice that. A session
// over budget gets GOAWAY(ENHANCE_YOUR_CALM) and is destroyed.
//
// Two floods are invisible to JavaScript and left to Node's own limits, set here:
// - empty DATA frames (CVE-2019-9518): Node counts each as an invalid frame, and a session with
//   more than `maxSessionInvalidFrames` is destroyed with GOAWAY;
// - CONTINUATION frames (CVE-2024-27983): nghttp2 1.61 (Node 20.12.1 and later) ends a session
//   whose header block spans more than 8 CONTINUATION frames, with GOAWAY.
import { constants, type Http2Session, type SecureServerOptions, type ServerHttp2Stream } from 'node:http2';
import type { Config } from '@aerys-cluster/shared';
import { countClose, watchHttp2Body } from './slow-clients.js';

/** Node options that bound what one HTTP/2 session may cost; spread into createServer's options. */
export function http2FloodOptions(config: Pick<Config, 'maxFramesPerSecond' | 'maxConcurrentStreams'>): SecureServerOptions {
  return {
    // Invalid frames (empty DATA among them) a session may send in its lifetime; a legitimate
    // client sends none, so the control-frame rate is a generous bound.
    maxSessionInvalidFrames: config.maxFramesPerSecond,
    // Streams refused because maxConcurrentStreams was reached, before the session is destroyed.
    maxSessionRejectedStreams: config.maxConcurrentStreams * 5,
    // Pings the server sent and waits on; the peer's pings are counted in the frame budget.
    maxOutstandingPings: 10,
    // Entries in one SETTINGS frame; RFC 9113 defines 6 settings.
    maxSettings: 32,
  };
}

/** A token bucket: a burst of `capacity` frames, refilled at `perSecond`. */
class FrameBudget {
  private tokens: number;
  private updatedAt = performance.now();

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {
    this.tokens = capacity;
  }

  /** Spends one frame; returns false once the budget is exhausted. */
  spend(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

const budgets = new WeakMap<Http2Session, FrameBudget>();

function spendFrame(session: Http2Session): void {
  const budget = budgets.get(session);
  if (!budget || budget.spend() || session.destroyed) return;
  countClose('http2_flood', session.socket?.remoteAddress);
  // The GOAWAY goes out first; destroy() flushes it and closes the socket. Passing the code to
  // destroy() instead would need an Error too, which the session emits as 'error'.
  session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
  session.destroy();
}

function sessionOnPing(this: Http2Session): void {
  spendFrame(this);
}

function sessionOnRemoteSettings(this: Http2Session): void {
  spendFrame(this);
}

function sessionOnStream(this: Http2Session, stream: ServerHttp2Stream): void {
  // A stream that closes with an error code was reset: by the peer's RST_STREAM (a rapid reset
  // when it follows HEADERS at once) or by the server refusing it. 'aborted' would miss resets
  // that arrive after the application ended its response, which rapid reset relies on.
  stream.once('close', () => {
    if (stream.rstCode !== constants.NGHTTP2_NO_ERROR) spendFrame(this);
  });
}

/**
 * Counts sessions that Node's own limits ended for a flood. nghttp2's checks surface as
 * ERR_HTTP2_ERROR with messages such as "Too many CONTINUATION frames following a HEADER frame"
 * and "Flooding was detected in this HTTP/2 session" (more than 1000 queued ACKs, when a burst of
 * PING or SETTINGS arrives in one read before this budget runs); other protocol errors share the
 * code, so the message decides.
 */
function sessionOnError(this: Http2Session, error: NodeJS.ErrnoException): void {
  const flood = error.code === 'ERR_HTTP2_TOO_MANY_INVALID_FRAMES' || (error.code === 'ERR_HTTP2_ERROR' && /flood|too many/i.test(error.message));
  if (flood) countClose('http2_flood', this.socket?.remoteAddress);
}

/**
 * Attaches the control-frame budget to a new server session, and the body deadline
 * (headerTimeout + bodyTimeout, as for HTTP/1.1) to each of its streams.
 */
export function guardHttp2Session(session: Http2Session, config: Pick<Config, 'maxFramesPerSecond' | 'headerTimeout' | 'bodyTimeout'>): void {
  const bodyDeadline = config.headerTimeout + config.bodyTimeout;
  session.on('stream', (stream: ServerHttp2Stream) => watchHttp2Body(stream, bodyDeadline));
  budgets.set(session, new FrameBudget(config.maxFramesPerSecond * 2, config.maxFramesPerSecond));
  session.on('error', sessionOnError);
  session.on('ping', sessionOnPing);
  session.on('remoteSettings', sessionOnRemoteSettings);
  session.on('stream', sessionOnStream);
}
