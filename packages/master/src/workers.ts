// The master's table of worker processes: forking with the configuration, lifecycle states, and
// the typed message dispatch from each worker.
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { isWorkerMessage, type Config, type MasterMessage, type WorkerMessage } from '@aerys-cluster/shared';
import type { Socket } from 'node:net';
import type { RoutableWorker } from './admission.js';
import { listenerKeys, type BoundListener } from './listeners.js';
import type { ProxyHeader } from './proxy-protocol.js';
import { cachedWorkerIdentity } from './privileges.js';

/**
 * Lifecycle of a worker, each state a fact the master observed:
 *
 *   starting --ready--> ready --drain--> draining --exit--> exited
 *       \___________________\________________________exit____/
 */
export type WorkerState = 'starting' | 'ready' | 'draining' | 'exited';

/** A connection on its way to a worker. */
export interface HandOff {
  socket: Socket;
  listener: BoundListener;
  address: string;
  /** Client address and bytes the master read with a PROXY protocol header, on listeners that use it. */
  proxied: ProxyHeader | null;
}

export interface WorkerSlot extends RoutableWorker {
  readonly id: number;
  readonly pid: number;
  readonly generation: number;
  readonly process: ClusterWorker;
  readonly config: Readonly<Config>;
  state: WorkerState;
  /** Date.now() at fork. */
  readonly forkedAt: number;
  /** Date.now() of the ready message, or 0 before it. */
  readyAt: number;
  /** Date.now() of the last heartbeat (or of the fork, before the first one). */
  lastHeartbeat: number;
  /** Requests served, from the last heartbeat. */
  requests: number;
  /** Resident set size in bytes, from the last heartbeat. */
  rss: number;
  /**
   * Sockets sent to this worker that it has not reported accepted yet. The master keeps its copy
   * of each until then and routes it to another worker if this one dies first.
   */
  readonly handOffs: Map<number, HandOff>;
  /** Reason the master stopped the worker; an exit while this is null is a crash. */
  stopReason: string | null;
  /** Position of each listener in this worker's `listen`, by listener key. */
  readonly listenerIndex: ReadonlyMap<string, number>;
  /** Requests per second between the last two heartbeats. */
  requestRate: number;
  /** Request count at which the worker is recycled (maxRequestsPerWorker plus jitter); Infinity when off. */
  recycleAt: number;
  /** True once the worker waits in the recycle queue, so it is queued once. */
  recycleRequested: boolean;
}

/** Recycling thresholds spread over this fraction above maxRequestsPerWorker, so workers do not all recycle at once. */
const RECYCLE_JITTER = 0.1;

/** Environment variables that carry a worker's identity and configuration at fork. */
export const WORKER_ENV = {
  config: 'AERYS_CONFIG',
  generation: 'AERYS_GENERATION',
  packageUrl: 'AERYS_PACKAGE_URL',
} as const;

let setupDone = false;

function setupOnce(): void {
  if (setupDone) return;
  setupDone = true;
  cluster.setupPrimary({ exec: fileURLToPath(import.meta.resolve('@aerys-cluster/worker/main')) });
}

/** Forks one worker of the given generation; it starts in state 'starting'. */
export function forkWorker(config: Readonly<Config>, generation: number): WorkerSlot {
  setupOnce();
  // Settings merge, so a reload with `user` removed must reset uid and gid explicitly.
  const identity = cachedWorkerIdentity(config);
  cluster.setupPrimary({ uid: identity?.uid, gid: identity?.gid });
  const child = cluster.fork({
    [WORKER_ENV.config]: JSON.stringify(config),
    [WORKER_ENV.generation]: String(generation),
    // Applications import their helpers from this package, wherever they live.
    [WORKER_ENV.packageUrl]: new URL('./index.js', import.meta.url).href,
  });
  const now = Date.now();
  return {
    id: child.id,
    pid: child.process.pid ?? 0,
    generation,
    process: child,
    config,
    state: 'starting',
    forkedAt: now,
    readyAt: 0,
    lastHeartbeat: now,
    requests: 0,
    rss: 0,
    stopReason: null,
    listenerIndex: new Map(listenerKeys(config.listen).map((key, index) => [key, index])),
    requestRate: 0,
    recycleAt: config.maxRequestsPerWorker > 0 ? config.maxRequestsPerWorker + Math.floor(Math.random() * RECYCLE_JITTER * config.maxRequestsPerWorker) : Infinity,
    recycleRequested: false,
    handOffs: new Map(),
    open: 0,
    connections: new Set(),
  };
}

/** Sends a message to a worker unless its channel is already closed; returns whether it was sent. */
export function sendToWorker(slot: WorkerSlot, message: MasterMessage): boolean {
  if (!slot.process.isConnected()) return false;
  slot.process.send(message);
  return true;
}

export type WorkerHandlers = {
  [K in WorkerMessage['type']]: (slot: WorkerSlot, message: Extract<WorkerMessage, { type: K }>) => void;
};

/** Routes a raw IPC message from a worker to the handler for its type; other traffic is ignored. */
export function dispatchWorkerMessage(handlers: WorkerHandlers, slot: WorkerSlot, raw: unknown): void {
  if (!isWorkerMessage(raw)) return;
  const handler = handlers[raw.type] as (slot: WorkerSlot, message: WorkerMessage) => void;
  handler(slot, raw);
}
