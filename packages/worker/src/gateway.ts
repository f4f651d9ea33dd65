// The gateway receives the sockets the master hands over and gives each to the transport of its
// listener. It is the one place that tracks every open connection, so draining starts here.
import type { Socket } from 'node:net';
import type { Config, Logger } from '@aerys-cluster/shared';
import { ConnectionRegistry } from './connections.js';

/** A protocol stack that takes ownership of accepted sockets. */
export interface Transport {
  accept(socket: Socket): void;
  /** Starts draining: close idle connections, finish in-flight requests. */
  drain(): void;
}

export class Gateway {
  readonly registry: ConnectionRegistry;
  private draining = false;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly transports: readonly Transport[],
    private readonly log: Logger,
    report: (accepted: number[], closed: number[]) => void,
  ) {
    this.registry = new ConnectionRegistry(report);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Takes a socket handed over by the master. */
  accept(id: number, listener: number, socket: Socket): void {
    const transport = this.transports[listener];
    this.registry.add(id, socket);
    if (!transport || this.draining) {
      socket.destroy();
      return;
    }
    socket.on('error', socketOnError);
    transport.accept(socket);
  }

  /** Closes idle connections now and again after each response, until none is left. */
  closeIdle(): void {
    for (const transport of this.transports) transport.drain();
  }

  /** Starts draining; `done` runs once every connection has closed. */
  drain(done: () => void): void {
    if (this.draining) return;
    this.draining = true;
    this.log.info({ open: this.registry.size }, 'draining');
    this.closeIdle();
    this.registry.whenEmpty(done);
  }
}

function socketOnError(this: Socket): void {
  // Resets and timeouts from clients are routine; the socket closes and its close is reported.
  this.destroy();
}
