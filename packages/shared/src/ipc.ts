// The IPC protocol between master and workers: one discriminated union per direction, keyed by
// `type`. Each side dispatches through a handler table typed over its union, so adding a message
// without handling it is a compile error rather than a silent drop.
import type { MetricFamily } from './metrics.js';

/** Messages from the master to a worker. */
export type MasterMessage =
  /**
   * A client socket handed over; the socket travels as the IPC handle beside this message.
   * `head` (base64) holds bytes the master read past a PROXY protocol header.
   */
  | { type: 'connection'; id: number; listener: number; client: ClientAddress | null; head?: string }
  /** Stop taking work: close idle connections, finish in-flight requests, then exit. */
  | { type: 'drain'; reason: DrainReason }
  /** Return the worker's metrics in a `metrics` message carrying the same `seq`. */
  | { type: 'collect-metrics'; seq: number };

/** Messages from a worker to the master. */
export type WorkerMessage =
  /** The application is loaded and certificates are read; the worker can take connections. */
  | { type: 'ready' }
  /**
   * Connections taken over and connections closed since the last report, by the ids the master
   * assigned. The master keeps its copy of a socket until the worker reports it accepted, so a
   * worker that dies before that does not lose the connection.
   */
  | { type: 'connections'; accepted: number[]; closed: number[] }
  /** Periodic liveness report with counters the supervisor uses for recycling. */
  | { type: 'heartbeat'; requests: number; rss: number }
  /** The worker cannot start (application failed to load, invalid certificate) and will exit. */
  | { type: 'fatal'; code: string; message: string }
  /**
   * Reply to `collect-metrics`: prom-client's JSON form of every metric of this worker. A worker
   * that finished draining sends one with seq 0 before it exits, so the master keeps its final counts.
   */
  | { type: 'metrics'; seq: number; metrics: MetricFamily[] };

/** A client address learned from a PROXY protocol header, when the listener enables it. */
export interface ClientAddress {
  address: string;
  port: number;
}

export type DrainReason = 'reload' | 'shutdown' | 'recycle' | 'scale-down' | 'memory';

export type MessageType<M extends { type: string }> = M['type'];

/** A table with one handler per message type of union M. */
export type HandlerTable<M extends { type: string }, Extra extends unknown[] = []> = {
  [K in M['type']]: (message: Extract<M, { type: K }>, ...extra: Extra) => void;
};

const MASTER_TYPES: ReadonlySet<string> = new Set<MasterMessage['type']>(['connection', 'drain', 'collect-metrics']);
const WORKER_TYPES: ReadonlySet<string> = new Set<WorkerMessage['type']>(['ready', 'connections', 'heartbeat', 'fatal', 'metrics']);

function hasType(value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/** True for an object that is one of the master's messages (other cluster traffic is ignored). */
export function isMasterMessage(value: unknown): value is MasterMessage {
  return hasType(value) && MASTER_TYPES.has(value.type);
}

/** True for an object that is one of a worker's messages. */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return hasType(value) && WORKER_TYPES.has(value.type);
}
