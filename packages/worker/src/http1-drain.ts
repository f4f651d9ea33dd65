// Graceful draining of HTTP/1.1 connections. Node's server.closeIdleConnections() destroys idle
// sockets; when a keep-alive request is already on its way, the kernel then replies to it with a
// reset. Here a connection is closed only where HTTP/1.1 allows it without losing a request:
//
//   connection state at drain            what the draining worker does
//   response in flight                   adds "Connection: close"; Node closes after it
//   idle between requests                waits IDLE_GRACE_MS for a next request, which is
//                                        answered with "Connection: close"; then sends FIN
//   accepted, no request yet             waits for the first request, answers it with
//                                        "Connection: close"
//   shutdownTimeout reached              the worker exits; the kernel closes what is left
//
// FIN is a half-close: the worker keeps reading until the client closes its side (or LINGER_MS
// passed), so a request that crosses the FIN is read and dropped instead of hitting a closed
// socket, and the client sees a clean end of stream, never a reset. That request is not run,
// because its response could not be sent; the client may retry it on a new connection.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long a half-closed connection may stay open waiting for the client's FIN. */
const LINGER_MS = 1000;
/**
 * Idle time after which a draining worker closes a keep-alive connection. A client in the middle
 * of a conversation sends its next request within milliseconds and gets "Connection: close" on
 * it. A client idle this long likely stays idle, so waiting costs little, while closing earlier
 * would race more requests.
 */
const IDLE_GRACE_MS = 500;

interface ConnectionState {
  /** Requests whose responses have not finished. */
  active: number;
  /** Requests received on this connection. */
  served: number;
  /** True once the worker sent FIN; requests that arrive later get no response. */
  halfClosed: boolean;
  /** Date.now() when the last response ended; 0 before the first one. */
  idleSince: number;
  closeTimer: NodeJS.Timeout | null;
  responses: Set<ServerResponse>;
}

export class Http1Drain {
  private readonly connections = new Map<Socket, ConnectionState>();
  private draining = false;

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => this.track(socket));
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Admits a request before the application runs. Returns false for a request that arrived on a
   * connection the worker already half-closed. Its response could not be sent, so the application
   * does not run it either, and the socket is closed.
   */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const state = this.connections.get(req.socket);
    if (!state) return true;
    if (state.halfClosed) {
      req.socket.destroy();
      return false;
    }

    state.active++;
    state.served++;
    state.responses.add(res);
    if (this.draining) res.setHeader('Connection', 'close');
    res.once('close', () => this.onResponseClose(req.socket, state, res));
    return true;
  }

  /**
   * Starts draining: in-flight responses whose headers are not sent yet get `Connection: close`,
   * idle keep-alive connections are half-closed. Calling it again closes connections that became
   * idle since.
   */
  drain(): void {
    this.draining = true;
    for (const [socket, state] of this.connections) {
      for (const res of state.responses) if (!res.headersSent) res.setHeader('Connection', 'close');
      if (state.active === 0 && state.served > 0) closeWhenIdle(socket, state);
    }
  }

  private track(socket: Socket): void {
    const state: ConnectionState = { active: 0, served: 0, halfClosed: false, idleSince: 0, closeTimer: null, responses: new Set() };
    this.connections.set(socket, state);
    socket.once('close', () => this.connections.delete(socket));
  }

  private onResponseClose(socket: Socket, state: ConnectionState, res: ServerResponse): void {
    state.active--;
    state.responses.delete(res);
    if (state.active > 0) return;
    state.idleSince = Date.now();
    // Node closes a connection whose response carried "Connection: close" by itself; one whose
    // response went out with keep-alive before the drain began is idle now.
    if (this.draining) closeWhenIdle(socket, state);
  }
}

/** Half-closes the connection once it has been idle for IDLE_GRACE_MS; a new request defers it. */
function closeWhenIdle(socket: Socket, state: ConnectionState): void {
  if (state.closeTimer || state.halfClosed) return;
  const check = (): void => {
    state.closeTimer = null;
    // A request in flight ends with "Connection: close", or schedules this check again.
    if (state.active > 0 || socket.destroyed) return;
    const wait = state.idleSince + IDLE_GRACE_MS - Date.now();
    if (wait > 0) {
      state.closeTimer = setTimeout(check, wait).unref();
      return;
    }
    halfClose(socket, state);
  };
  check();
}

/** True when the socket left the HTTP/1.1 parser: upgraded to a WebSocket, or closed. */
function leftParser(socket: Socket): boolean {
  // NOTE: Node sets `socket.parser` to null when it hands a socket to an 'upgrade' listener. This
  // check relies on that undocumented field (Node 20 lib/_http_server.js) to leave WebSockets alone.
  return (socket as Socket & { parser?: unknown }).parser == null;
}

function halfClose(socket: Socket, state: ConnectionState): void {
  if (state.halfClosed || socket.destroyed || leftParser(socket)) return;
  state.halfClosed = true;
  socket.end();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}
