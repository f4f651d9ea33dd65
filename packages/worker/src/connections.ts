// The worker's side of connection accounting: every socket the master handed over is tracked by
// the id the master gave it, and its close is reported back in batches.
import type { Socket } from 'node:net';

/** Close reports wait at most this long, so the master's per-client counts lag by no more. */
const REPORT_DELAY_MS = 5;
/** A batch this large is sent at once. */
const REPORT_BATCH = 256;

export type ReportClosed = (ids: number[]) => void;

export class ConnectionRegistry {
  private readonly open = new Map<number, Socket>();
  private pending: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private onEmpty: (() => void) | null = null;

  constructor(private readonly report: ReportClosed) {}

  get size(): number {
    return this.open.size;
  }

  sockets(): IterableIterator<Socket> {
    return this.open.values();
  }

  /** Tracks a socket until its 'close' event; the id is the master's. */
  add(id: number, socket: Socket): void {
    this.open.set(id, socket);
    socket.once('close', () => this.closed(id));
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

  private closed(id: number): void {
    if (!this.open.delete(id)) return;
    this.pending.push(id);
    if (this.pending.length >= REPORT_BATCH) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), REPORT_DELAY_MS);

    if (this.open.size === 0 && this.onEmpty) {
      const callback = this.onEmpty;
      this.onEmpty = null;
      this.flush();
      callback();
    }
  }

  /** Sends the pending close reports now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const ids = this.pending;
    this.pending = [];
    this.report(ids);
  }
}
