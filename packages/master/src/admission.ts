// Connection admission: the global connection limit split into per-worker shares, the per-client
// prefix limit, and least-connections routing. The master owns every count; workers only report
// closes, so a count is exact once the close reports of a worker have arrived.
import { CidrSet, prefixKey, type Config } from '@aerys-cluster/shared';

/** Reason a connection was closed before any worker saw it. `proxy_protocol` means a missing or invalid PROXY header. */
export type RejectReason = 'per_ip' | 'max_connections' | 'no_worker' | 'proxy_protocol';

/** The part of a worker that routing needs. */
export interface RoutableWorker {
  readonly id: number;
  /** Open connections handed to this worker and not yet reported closed. */
  open: number;
  /** Connection ids handed to this worker, so its death releases them. */
  readonly connections: Set<number>;
}

interface OpenConnection {
  /** Prefix bucket of the client, or null for a trusted proxy, which is never limited. */
  key: string | null;
  worker: RoutableWorker;
}

export type AdmissionResult<W extends RoutableWorker> =
  | { admitted: true; id: number; worker: W }
  | { admitted: false; reason: RejectReason };

type AdmissionOptions = Pick<Config, 'maxConnections' | 'connectionsPerIP' | 'ipv4Prefix' | 'ipv6Prefix' | 'trustedProxies'>;

export class Admission {
  private options: AdmissionOptions;
  private trusted: CidrSet;
  private readonly perPrefix = new Map<string, number>();
  private readonly connections = new Map<number, OpenConnection>();
  private nextId = 1;
  /** Start index of the next least-connections scan, rotated so ties spread across workers. */
  private cursor = 0;

  constructor(options: AdmissionOptions) {
    this.options = options;
    this.trusted = new CidrSet(options.trustedProxies);
  }

  /** Applies reloaded limits; open connections stay counted and are never closed by a lower limit. */
  configure(options: AdmissionOptions): void {
    this.options = options;
    this.trusted = new CidrSet(options.trustedProxies);
  }

  /** Open connections in the whole cluster, draining workers included. */
  get open(): number {
    return this.connections.size;
  }

  /** Distinct client prefixes that hold at least one connection. */
  get prefixes(): number {
    return this.perPrefix.size;
  }

  /** Returns the per-worker share of maxConnections for this many routable workers. */
  share(routableCount: number): number {
    return routableCount === 0 ? 0 : Math.ceil(this.options.maxConnections / routableCount);
  }

  /**
   * Decides whether a client may open one more connection and, if so, which of the routable
   * workers takes it. On success the connection is counted until `release` is called.
   */
  admit<W extends RoutableWorker>(address: string, routable: readonly W[]): AdmissionResult<W> {
    if (this.connections.size >= this.options.maxConnections) return { admitted: false, reason: 'max_connections' };

    const key = this.trusted.has(address) ? null : prefixKey(address, this.options.ipv4Prefix, this.options.ipv6Prefix);
    if (key !== null && (this.perPrefix.get(key) ?? 0) >= this.options.connectionsPerIP) {
      return { admitted: false, reason: 'per_ip' };
    }

    if (routable.length === 0) return { admitted: false, reason: 'no_worker' };
    const worker = this.pickWorker(routable);
    if (!worker) return { admitted: false, reason: 'max_connections' };

    const id = this.nextId++;
    this.connections.set(id, { key, worker });
    if (key !== null) this.perPrefix.set(key, (this.perPrefix.get(key) ?? 0) + 1);
    worker.open++;
    worker.connections.add(id);
    return { admitted: true, id, worker };
  }

  /** Forgets a connection; unknown ids (already released with their worker) are ignored. */
  release(id: number): void {
    const connection = this.connections.get(id);
    if (!connection) return;

    this.connections.delete(id);
    connection.worker.open--;
    connection.worker.connections.delete(id);
    if (connection.key === null) return;

    const count = (this.perPrefix.get(connection.key) ?? 1) - 1;
    if (count === 0) this.perPrefix.delete(connection.key);
    else this.perPrefix.set(connection.key, count);
  }

  /** Releases every connection of a worker that exited: the kernel closed its sockets. */
  releaseWorker(worker: RoutableWorker): void {
    for (const id of [...worker.connections]) this.release(id);
  }

  /** The routable worker with the fewest open connections that is still under its share. */
  private pickWorker<W extends RoutableWorker>(routable: readonly W[]): W | undefined {
    const share = this.share(routable.length);
    const count = routable.length;
    let best: W | undefined;
    this.cursor = (this.cursor + 1) % count;
    for (let i = 0; i < count; i++) {
      const candidate = routable[(this.cursor + i) % count];
      if (!candidate || candidate.open >= share) continue;
      if (!best || candidate.open < best.open) best = candidate;
    }
    return best;
  }
}
