// Wires the worker's defences against hostile or broken clients into the HTTP/1.1 server:
// protocol-error responses, slow-client deadlines and the client address behind proxies.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Config, Logger, MasterMessage } from '@aerys-cluster/shared';
import { exposeClientAddress, setProxiedClient } from './client-address.js';
import { guardHttp1Server, WriteDeadline } from './slow-clients.js';

/** Installs the error responses, deadlines and client address on the server; returns the write sweep. */
export function hardenHttp1(server: Server, config: Readonly<Config>, log: Logger, sockets: () => Iterable<Socket>): WriteDeadline {
  guardHttp1Server(server, log);
  exposeClientAddress(server, config.trustedProxies);
  return new WriteDeadline(config, sockets, log);
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
