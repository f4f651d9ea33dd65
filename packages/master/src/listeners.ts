// Binding the public listeners. The master accepts every connection itself with pauseOnConnect,
// so no byte is read before the socket reaches a worker.
import { createServer, type Server, type Socket } from 'node:net';
import { formatHostPort, type ListenerConfig } from '@aerys-cluster/shared';

export interface BoundListener {
  /** Position in `listen`; workers use it to find the listener's TLS and protocol settings. */
  index: number;
  /** The configured HOST:PORT, which identifies the listener across reloads. */
  readonly key: string;
  config: ListenerConfig;
  server: Server;
  /** The bound address, with the real port when the configuration asked for port 0. */
  address: string;
  port: number;
}

export type ConnectionCallback = (socket: Socket, listener: BoundListener) => void;

/** Raised when a listener cannot be bound; names the address and the system error. */
export class BindError extends Error {
  readonly code: string;

  constructor(config: ListenerConfig, cause: NodeJS.ErrnoException) {
    const where = formatHostPort(config.host, config.port);
    const fix =
      cause.code === 'EADDRINUSE'
        ? 'Stop the process that uses it or choose another port.'
        : cause.code === 'EACCES'
          ? 'Ports below 1024 need root or CAP_NET_BIND_SERVICE.'
          : 'Check the address.';
    super(`Cannot listen on ${where}: ${cause.code ?? cause.message}. ${fix}`);
    this.name = 'BindError';
    this.code = cause.code ?? 'EBIND';
  }
}

function listenOnce(server: Server, config: ListenerConfig): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(new BindError(config, error));
    server.once('error', onError);
    // 511 is Node's default backlog; the kernel caps it at net.core.somaxconn.
    server.listen({ host: config.host, port: config.port, backlog: 511 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Returns the identity of each listener of a `listen` list: its configured HOST:PORT, with "#2",
 * "#3"... for repeats, since several listeners may ask for port 0 on one host. A reload keeps the
 * bound socket of every listener whose key stays in the configuration, even when its TLS settings
 * change, because the master only accepts sockets and TLS happens in the workers.
 */
export function listenerKeys(configs: ReadonlyArray<Pick<ListenerConfig, 'host' | 'port'>>): string[] {
  const seen = new Map<string, number>();
  return configs.map((config) => {
    const address = formatHostPort(config.host, config.port);
    const count = (seen.get(address) ?? 0) + 1;
    seen.set(address, count);
    return count === 1 ? address : `${address}#${count}`;
  });
}

/** Binds one listener; on failure nothing stays open. */
export async function bindListener(index: number, config: ListenerConfig, onConnection: ConnectionCallback, key = listenerKeys([config])[0] ?? ''): Promise<BoundListener> {
  const server = createServer({ pauseOnConnect: true });
  await listenOnce(server, config);

  const address = server.address();
  const bound: BoundListener = {
    index,
    key,
    config,
    server,
    address: typeof address === 'object' && address ? address.address : config.host,
    port: typeof address === 'object' && address ? address.port : config.port,
  };
  server.on('connection', (socket: Socket) => onConnection(socket, bound));
  return bound;
}

/** Binds every listener in order; when one fails, the ones already bound are closed again. */
export async function bindListeners(configs: readonly ListenerConfig[], onConnection: ConnectionCallback): Promise<BoundListener[]> {
  const bound: BoundListener[] = [];
  try {
    const keys = listenerKeys(configs);
    for (const [index, config] of configs.entries()) bound.push(await bindListener(index, config, onConnection, keys[index]));
  } catch (error) {
    await closeListeners(bound);
    throw error;
  }
  return bound;
}

/** Stops accepting on every listener; established connections are not affected. */
export function closeListeners(listeners: readonly BoundListener[]): Promise<void> {
  return Promise.all(
    listeners.map((listener) => new Promise<void>((resolve) => listener.server.close(() => resolve()))),
  ).then(() => undefined);
}
