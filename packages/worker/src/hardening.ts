// Wires the worker's defences against hostile or broken clients: slow-client deadlines, the
// PROXY protocol client address the master learned, and the privilege check.
import type { Socket } from 'node:net';
import type { Config, Logger, MasterMessage } from '@aerys-cluster/shared';
import { setProxiedClient } from './client-address.js';
import { setClientCloseLog, WriteDeadline } from './slow-clients.js';

/** Starts the write deadline sweep over the worker's open sockets and sets the close log. */
export function hardenWorker(config: Readonly<Config>, log: Logger, sockets: () => Iterable<Socket>): WriteDeadline {
  setClientCloseLog(log);
  return new WriteDeadline(config, sockets);
}

/**
 * Applies what the master learned before the hand-off: the PROXY protocol client address, and
 * the bytes it read past the PROXY header, which go back in front of the socket's input.
 */
export function adoptHandOff(socket: Socket, message: Extract<MasterMessage, { type: 'connection' }>): void {
  if (message.client) setProxiedClient(socket, message.client);
  if (message.head) socket.unshift(Buffer.from(message.head, 'base64'));
}

/**
 * Returns an error message when this worker runs as root although `user` is set: the master
 * forks workers with that user's uid, so root here means the switch did not happen.
 */
export function privilegeProblem(config: Readonly<Config>): string | null {
  if (config.user === null || process.getuid?.() !== 0) return null;
  return `Worker runs as root although user is "${config.user}"; refusing to load the application.`;
}
