// The control socket: a unix socket on which `aerys-cluster reload|stop|status` talk to a running
// master in newline-delimited JSON, one request and one response per connection. The socket is
// created with mode 0600, so only the user who runs the master (and root) can control it.
import { chmodSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '@aerys-cluster/shared';
import type { ClusterStatus, ReloadStatus } from './status.js';

export type ControlCommand = 'status' | 'reload' | 'stop';
export const CONTROL_COMMANDS: readonly ControlCommand[] = ['status', 'reload', 'stop'];

export interface ControlRequest {
  command: ControlCommand;
}

export type ControlResponse =
  | { ok: true; command: 'status'; status: ClusterStatus }
  /** `ok` is false when the reload failed, and `reload.error` then contains the reason. */
  | { ok: boolean; command: 'reload'; reload: ReloadStatus }
  /** Sent when the drain starts; the master closes the connection when it exits. */
  | { ok: true; command: 'stop'; pid: number }
  | { ok: false; error: string };

/** Master operations the control socket calls. */
export interface ControlTarget {
  /** The master's logger; it changes with each generation. */
  readonly log: Logger;
  status(): ClusterStatus;
  requestReload(trigger: string): Promise<ReloadStatus>;
  stop(reason: string): Promise<number>;
}

/** Requests longer than this are rejected; a valid one is about 25 bytes. */
const MAX_REQUEST_BYTES = 4096;

export class ControlServer {
  private server: Server | null = null;
  /** Connections of `stop` commands, kept open until the master exits. */
  private readonly stopping = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly target: ControlTarget,
  ) {}

  private get log(): Logger {
    return this.target.log;
  }

  /**
   * Listens on the socket path. A socket file left by a master that died is removed first; a
   * socket that still accepts connections belongs to a running master, and listening fails.
   */
  async listen(): Promise<void> {
    try {
      this.server = await listenOn(this.path, (socket) => this.onConnection(socket));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw controlError(this.path, error);
      if (await answers(this.path)) {
        throw new Error(`Control socket ${this.path} belongs to a running master. Stop that master first, or set controlSocket (or pidFile) to another path.`);
      }
      unlinkSync(this.path);
      this.server = await listenOn(this.path, (socket) => this.onConnection(socket)).catch((retryError: unknown) => {
        throw controlError(this.path, retryError);
      });
    }
    chmodSync(this.path, 0o600);
  }

  /** Stops listening and removes the socket file; `stop` clients see their connection end. */
  close(): void {
    for (const socket of this.stopping) socket.end();
    this.stopping.clear();
    if (!this.server) return;
    this.server.close();
    this.server = null;
    try {
      unlinkSync(this.path);
    } catch {
      // Already removed, for example by an operator cleaning up.
    }
  }

  private onConnection(socket: Socket): void {
    socket.setEncoding('utf8');
    socket.on('error', (error) => this.log.debug({ err: error }, 'control connection error'));
    let buffered = '';
    const onData = (chunk: string): void => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (end === -1) {
        if (buffered.length > MAX_REQUEST_BYTES) reply(socket, { ok: false, error: 'Request too long.' });
        return;
      }
      socket.off('data', onData);
      void this.handle(socket, buffered.slice(0, end));
    };
    socket.on('data', onData);
  }

  private async handle(socket: Socket, line: string): Promise<void> {
    const request = parseRequest(line);
    if (typeof request === 'string') {
      reply(socket, { ok: false, error: request });
      return;
    }

    // `status --watch` requests a snapshot every second or so, so only commands that change something log at info.
    if (request.command === 'status') this.log.debug({ command: request.command }, 'control command received');
    else this.log.info({ command: request.command }, 'control command received');
    switch (request.command) {
      case 'status':
        reply(socket, { ok: true, command: 'status', status: this.target.status() });
        return;
      case 'reload': {
        const reload = await this.target.requestReload('control socket');
        reply(socket, { ok: reload.result === 'succeeded', command: 'reload', reload });
        return;
      }
      case 'stop':
        this.stopping.add(socket);
        socket.write(`${JSON.stringify({ ok: true, command: 'stop', pid: process.pid } satisfies ControlResponse)}\n`);
        void this.target.stop('control socket');
        return;
    }
  }
}

function reply(socket: Socket, response: ControlResponse): void {
  if (socket.destroyed) return;
  socket.end(`${JSON.stringify(response)}\n`);
}

/** Returns the request, or an error text for the client. */
function parseRequest(line: string): ControlRequest | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'Invalid JSON request; send {"command":"status"} followed by a newline.';
  }
  const command = typeof value === 'object' && value !== null ? (value as { command?: unknown }).command : undefined;
  if (typeof command !== 'string' || !(CONTROL_COMMANDS as readonly string[]).includes(command)) {
    return `Unknown command ${JSON.stringify(command)}; expected one of ${CONTROL_COMMANDS.join(', ')}.`;
  }
  return { command: command as ControlCommand };
}

function listenOn(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConnection);
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Resolves true when something accepts connections on the socket path. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function controlError(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new Error(`Cannot create control socket ${path}: ${code}. Check that its directory exists and is writable, or set controlSocket to another path.`);
}
