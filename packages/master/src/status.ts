// The cluster status snapshot: one JSON shape for `aerys-cluster status --json`, the admin
// listener's /status and the status table.
import type { Master } from './master.js';
import type { WorkerState } from './workers.js';

export interface WorkerStatus {
  id: number;
  pid: number;
  generation: number;
  state: WorkerState;
  /** Seconds since the worker was forked. */
  uptimeSeconds: number;
  /** Connections open on this worker, as the master counts them. */
  connections: number;
  /** Requests served since the worker started (from its last heartbeat). */
  requests: number;
  /** Resident set size in bytes (from its last heartbeat). */
  rssBytes: number;
  /** Requests per second between its last two heartbeats. */
  requestsPerSecond: number;
}

export interface ReloadStatus {
  /** ISO time the reload finished. */
  at: string;
  result: 'succeeded' | 'failed';
  generation: number;
  /** Reason the reload failed; null when it succeeded. */
  error: string | null;
  /** Source of the request: "SIGHUP", "control socket", or several of them merged into one reload. */
  trigger: string;
  durationMs: number;
}

export interface ClusterStatus {
  pid: number;
  state: Master['state'];
  generation: number;
  uptimeSeconds: number;
  listeners: Array<{ address: string; port: number; tls: boolean }>;
  connections: { open: number; admitted: number; rejected: Record<string, number>; clientPrefixes: number };
  workers: WorkerStatus[];
  lastReload: ReloadStatus | null;
  /** Finished reloads since the master started, by result. */
  reloads: { succeeded: number; failed: number };
}

/** Builds the status snapshot of a running master. */
export function statusSnapshot(master: Master): ClusterStatus {
  const now = Date.now();
  return {
    pid: process.pid,
    state: master.state,
    generation: master.generation,
    uptimeSeconds: Math.round((now - master.startedAt) / 1000),
    listeners: master.listeners.map((listener) => ({ address: listener.address, port: listener.port, tls: listener.config.tls !== null })),
    connections: {
      open: master.admission.open,
      admitted: master.admitted,
      rejected: { ...master.rejected },
      clientPrefixes: master.admission.prefixes,
    },
    workers: [...master.workers.values()]
      .sort((a, b) => a.id - b.id)
      .map((slot) => ({
        id: slot.id,
        pid: slot.pid,
        generation: slot.generation,
        state: slot.state,
        uptimeSeconds: Math.round((now - slot.forkedAt) / 1000),
        connections: slot.open,
        requests: slot.requests,
        rssBytes: slot.rss,
        requestsPerSecond: Math.round(slot.requestRate * 10) / 10,
      })),
    lastReload: master.lastReload,
    reloads: { ...master.reloads },
  };
}
