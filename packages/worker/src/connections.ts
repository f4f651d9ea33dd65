// The worker's side of connection accounting: every socket the master handed over is tracked by
// the id the master gave it. Takeovers and closes are reported back in one message per turn of the
// event loop, so a burst of connections costs one IPC message, not one per connection.
import type { Socket } from 'node:net';

export type Report = (accepted: number[], closed: number[]) => void;

export class ConnectionRegistry {
  private readonly open = new Map<number, Socket>();
  private accepted: number[] = [];
  private closed: number[] = [];
  private scheduled = false;
  private onEmpty: (() => void) | null = null;

  constructor(private readonly report: Report) {}

  get size(): number {
    return this.open.size;
  }

  sockets(): IterableIterator<Socket> {
    return this.open.values();
  }

  /** Tracks a socket until its 'close' event; the id is the master's. */
  add(id: number, socket: Socket): void {
    this.open.set(id, socket);
    this.accepted.push(id);
    this.schedule();
    socket.once('close', () => this.remove(id));
  }

  /** Calls `callback` once no connection is open (at once when none is). */
  whenEmpty(callback: () => void): void {
    if (this.open.size === 0) {
      this.flush();
      callback();
      return;
    }
    this.onEmpty = callback;
  }

  private remove(id: number): void {
    if (!this.open.delete(id)) return;
    this.closed.push(id);
    this.schedule();

    if (this.open.size === 0 && this.onEmpty) {
      const callback = this.onEmpty;
      this.onEmpty = null;
      this.flush();
      callback();
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends the pending reports now. */
  flush(): void {
    this.scheduled = false;
    if (this.accepted.length === 0 && this.closed.length === 0) return;
    const accepted = this.accepted;
    const closed = this.closed;
    this.accepted = [];
    this.closed = [];
    this.report(accepted, closed);
  }
}
