// The master process: binds the listeners, admits each connection and hands it to a worker,
// supervises the workers, and shuts the cluster down gracefully.
import type { Socket } from 'node:net';
import { EXIT_CONFIG, createLogger, formatHostPort, type Config, type Logger } from '@aerys-cluster/shared';
import { Admission, type RejectReason } from './admission.js';
import { AdminServer } from './admin.js';
import { bindListeners, closeListeners, type BoundListener } from './listeners.js';
import { runChecklist } from './checklist.js';
import { readProxyHeader, type ProxyHeader } from './proxy-protocol.js';
import { ClusterMetrics } from './metrics.js';
import { writePidFile, removePidFile } from './pidfile.js';
import { RateLimitedLog } from './rate-limit.js';
import type { ReloadStatus } from './status.js';
import { dispatchWorkerMessage, forkWorker, sendToWorker, type WorkerHandlers, type WorkerSlot } from './workers.js';

export type MasterState = 'starting' | 'running' | 'stopping' | 'stopped';

/** A connection that arrived while no worker was routable, held until one reports ready. */
interface HeldConnection {
  socket: Socket;
  listener: BoundListener;
  address: string;
  deadline: number;
  proxied: ProxyHeader | null;
}

/** Crash back-off: the first respawn waits this long, each further crash in the window doubles it. */
const RESPAWN_BASE_DELAY = 100;
const RESPAWN_MAX_DELAY = 30_000;
/** Crashes older than this no longer lengthen the back-off. */
const CRASH_WINDOW = 60_000;
/** How often the supervisor checks heartbeats, start deadlines and held connections. */
const SUPERVISE_INTERVAL = 500;

export class Master {
  config: Readonly<Config>;
  readonly log: Logger;
  state: MasterState = 'starting';
  generation = 1;
  readonly workers = new Map<number, WorkerSlot>();
  listeners: BoundListener[] = [];
  readonly admission: Admission;
  readonly rejected: Record<RejectReason, number> = { per_ip: 0, max_connections: 0, no_worker: 0, proxy_protocol: 0 };
  admitted = 0;
  readonly startedAt = Date.now();
  /** Outcome of the most recent reload, for status output. */
  lastReload: ReloadStatus | null = null;
  readonly metrics: ClusterMetrics;
  private admin: AdminServer | null = null;

  /** Ready workers that take new connections, rebuilt whenever a worker changes state. */
  private routable: WorkerSlot[] = [];
  private held: HeldConnection[] = [];
  private crashTimes: number[] = [];
  private respawnTimers = new Set<NodeJS.Timeout>();
  private superviseTimer: NodeJS.Timeout | null = null;
  private readonly rejectLog: RateLimitedLog;
  private startupFailure: string | null = null;
  private exitCode = 0;
  private resolveStopped: (() => void) | null = null;
  /** Called on every ready, failure and exit while the first generation starts. */
  private onStartupProgress: (() => void) | null = null;

  private readonly handlers: WorkerHandlers = {
    ready: (slot) => this.onReady(slot),
    connections: (slot, message) => {
      for (const id of message.accepted) this.completeHandOff(slot, id);
      for (const id of message.closed) {
        this.completeHandOff(slot, id);
        this.admission.release(id);
      }
    },
    heartbeat: (slot, message) => {
      slot.lastHeartbeat = Date.now();
      slot.requests = message.requests;
      slot.rss = message.rss;
    },
    fatal: (slot, message) => {
      this.log.error({ workerId: slot.id, workerPid: slot.pid, code: message.code, err: message.message }, 'worker failed to start');
      if (this.state === 'starting') this.startupFailure = message.message;
      this.onStartupProgress?.();
    },
    metrics: (slot, message) => this.metrics.receive(slot, message),
  };

  constructor(config: Readonly<Config>) {
    this.config = config;
    this.log = createLogger({ level: config.logLevel, worker: 'master', generation: this.generation });
    this.admission = new Admission(config);
    this.rejectLog = new RateLimitedLog(this.log, 'connection rejected');
    this.metrics = new ClusterMetrics(this, this.log);
  }

  /**
   * Binds the listeners, writes the PID file, forks the workers and waits until each reported
   * ready. Resolves once the cluster serves; rejects when a listener cannot be bound or a worker
   * cannot start, after everything started so far has been stopped again.
   */
  async start(): Promise<void> {
    for (const finding of runChecklist(this.config)) {
      this.log.warn({ check: finding.code, option: finding.option, detail: finding.message, fix: finding.fix, ...finding.values }, 'unsafe setting');
    }
    this.listeners = await bindListeners(this.config.listen, (socket, listener) => this.onConnection(socket, listener));
    let adminAddress: string | null = null;
    if (this.config.admin) {
      try {
        ({ admin: this.admin, address: adminAddress } = await AdminServer.start(this, this.metrics, this.config.admin, this.log));
      } catch (error) {
        await closeListeners(this.listeners);
        throw error;
      }
    }
    if (this.config.pidFile) writePidFile(this.config.pidFile);

    this.superviseTimer = setInterval(() => this.supervise(), SUPERVISE_INTERVAL);
    for (let i = 0; i < this.config.workers; i++) this.spawn();

    const ready = await this.waitForInitialWorkers();
    if (!ready) {
      this.exitCode = EXIT_CONFIG;
      await this.stop('startup-failed');
      throw new Error(this.startupFailure ?? 'No worker became ready within startTimeout.');
    }

    this.state = 'running';
    this.log.info(
      {
        listeners: this.listeners.map((l) => ({ address: formatHostPort(l.address, l.port), tls: l.config.tls !== null })),
        workers: [...this.workers.values()].map((w) => w.pid),
        pidFile: this.config.pidFile,
        admin: adminAddress,
      },
      'cluster ready',
    );
  }

  /** Resolves when every worker reported ready, or with false when one failed or time ran out. */
  private waitForInitialWorkers(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), this.config.startTimeout);
      const finish = (ready: boolean): void => {
        clearTimeout(timer);
        this.onStartupProgress = null;
        resolve(ready);
      };
      this.onStartupProgress = () => {
        if (this.startupFailure !== null) return finish(false);
        const slots = [...this.workers.values()];
        if (slots.length > 0 && slots.every((slot) => slot.state === 'ready')) finish(true);
      };
    });
  }

  /** Forks a worker of the current generation and wires its events. */
  spawn(): WorkerSlot {
    const slot = forkWorker(this.config, this.generation);
    this.workers.set(slot.id, slot);
    slot.process.on('message', (raw: unknown) => dispatchWorkerMessage(this.handlers, slot, raw));
    slot.process.on('exit', (code: number | null, signal: NodeJS.Signals | null) => this.onExit(slot, code, signal));
    // A send to a worker that just died fails with EPIPE; the exit handler cleans up.
    slot.process.on('error', (error: Error) => this.log.debug({ workerId: slot.id, err: error }, 'worker channel error'));
    this.log.info({ workerId: slot.id, workerPid: slot.pid, workerGeneration: slot.generation }, 'worker started');
    return slot;
  }

  private onReady(slot: WorkerSlot): void {
    if (slot.state !== 'starting') return;
    slot.state = 'ready';
    slot.readyAt = Date.now();
    this.refreshRoutable();
    this.log.info({ workerId: slot.id, workerPid: slot.pid, startupMs: slot.readyAt - slot.forkedAt }, 'worker ready');
    this.flushHeld();
    this.onStartupProgress?.();
  }

  private refreshRoutable(): void {
    this.routable = [...this.workers.values()].filter((slot) => slot.state === 'ready');
  }

  /** Admits or rejects one accepted socket; admitted sockets travel to their worker over IPC. */
  private onConnection(socket: Socket, listener: BoundListener): void {
    // A client reset before the hand-off must not crash the master.
    socket.on('error', ignoreError);
    const address = socket.remoteAddress;
    if (!address || this.state === 'stopping' || this.state === 'stopped') {
      socket.destroy();
      return;
    }
    if (listener.config.proxyProtocol) {
      this.acceptProxied(socket, listener, address);
      return;
    }
    this.route(socket, listener, address, null);
  }

  /** Reads the PROXY header within headerTimeout; admission then counts the real client. */
  private acceptProxied(socket: Socket, listener: BoundListener, peer: string): void {
    readProxyHeader(socket, this.config.headerTimeout).then(
      (proxied) => {
        if (socket.destroyed) return;
        this.route(socket, listener, proxied.client?.address ?? peer, proxied);
      },
      (error: unknown) => {
        this.log.debug({ client: peer, err: error }, 'invalid PROXY protocol header');
        this.reject(socket, peer, 'proxy_protocol');
      },
    );
  }

  private route(socket: Socket, listener: BoundListener, address: string, proxied: ProxyHeader | null): void {
    const result = this.admission.admit(address, this.routable);
    if (result.admitted) {
      this.admitted++;
      this.handOff(socket, listener, result.id, result.worker, address, proxied);
      return;
    }

    if (result.reason === 'no_worker' && this.canHold()) {
      this.held.push({ socket, listener, address, deadline: Date.now() + this.config.startTimeout, proxied });
      return;
    }
    this.reject(socket, address, result.reason);
  }

  /**
   * Sends the socket to its worker. The master keeps its copy open (keepOpen) until the worker
   * reports the connection accepted; if the worker dies first, the socket is routed again.
   */
  private handOff(socket: Socket, listener: BoundListener, id: number, worker: WorkerSlot, address: string, proxied: ProxyHeader | null): void {
    if (!worker.process.isConnected()) {
      this.admission.release(id);
      this.route(socket, listener, address, proxied);
      return;
    }
    const message = {
      type: 'connection' as const,
      id,
      listener: listener.index,
      client: proxied?.client ?? null,
      head: proxied && proxied.rest.length > 0 ? proxied.rest.toString('base64') : undefined,
    };
    worker.handOffs.set(id, { socket, listener, address, proxied });
    worker.process.send(message, socket, { keepOpen: true }, (error: Error | null) => {
      if (!error) return;
      // The channel broke before the handle was written: the exit handler routes it again.
      this.log.debug({ workerId: worker.id, err: error }, 'connection hand-off failed');
    });
  }

  /** The worker owns the connection now; the master's copy of the descriptor can go. */
  private completeHandOff(slot: WorkerSlot, id: number): void {
    const handOff = slot.handOffs.get(id);
    if (!handOff) return;
    slot.handOffs.delete(id);
    handOff.socket.destroy();
  }

  /** Routes the connections a dead worker never accepted to the remaining workers. */
  private rerouteHandOffs(slot: WorkerSlot): void {
    const handOffs = [...slot.handOffs.values()];
    slot.handOffs.clear();
    if (handOffs.length > 0) this.log.info({ workerId: slot.id, connections: handOffs.length }, 'routing connections of a dead worker again');
    for (const handOff of handOffs) {
      if (handOff.socket.destroyed) continue;
      if (this.state === 'stopping' || this.state === 'stopped') handOff.socket.destroy();
      else this.route(handOff.socket, handOff.listener, handOff.address, handOff.proxied);
    }
  }

  private reject(socket: Socket, address: string, reason: RejectReason): void {
    this.rejected[reason]++;
    socket.destroy();
    this.rejectLog.record(reason, { reason, client: address, total: this.rejected[reason] });
  }

  /** Connections wait for a worker only while one is starting and the cluster is not stopping. */
  private canHold(): boolean {
    if (this.state === 'stopping' || this.held.length >= this.config.maxConnections) return false;
    for (const slot of this.workers.values()) if (slot.state === 'starting') return true;
    return this.respawnTimers.size > 0;
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    for (const connection of held) {
      if (connection.socket.destroyed) continue;
      this.route(connection.socket, connection.listener, connection.address, connection.proxied);
    }
  }

  private expireHeld(now: number): void {
    if (this.held.length === 0) return;
    const keep: HeldConnection[] = [];
    for (const connection of this.held) {
      if (connection.deadline > now) keep.push(connection);
      else this.reject(connection.socket, connection.address, 'no_worker');
    }
    this.held = keep;
  }

  private onExit(slot: WorkerSlot, code: number | null, signal: NodeJS.Signals | null): void {
    const previous = slot.state;
    slot.state = 'exited';
    this.workers.delete(slot.id);
    this.admission.releaseWorker(slot);
    this.metrics.workerExited(slot);
    this.refreshRoutable();

    const fields = { workerId: slot.id, workerPid: slot.pid, code, signal, workerGeneration: slot.generation };
    if (slot.stopReason !== null) {
      this.log.info({ ...fields, reason: slot.stopReason }, 'worker stopped');
    } else if (code === EXIT_CONFIG) {
      this.log.error(fields, 'worker exited with a configuration error; not restarting it');
      if (this.state === 'starting') this.startupFailure ??= 'A worker exited with a configuration error.';
    } else {
      this.log.error({ ...fields, previousState: previous }, 'worker crashed');
      this.metrics.recordCrash(slot);
      if (this.state === 'running') this.scheduleRespawn();
      else if (this.state === 'starting') this.startupFailure ??= `A worker exited during startup (code ${code}, signal ${signal}).`;
    }

    this.rerouteHandOffs(slot);
    this.onStartupProgress?.();
    if (this.state === 'stopping' && this.workers.size === 0) this.finishStop();
    else if (this.state === 'running' && this.workers.size === 0 && this.respawnTimers.size === 0) {
      this.log.fatal('no worker left and none will be restarted; stopping the master');
      this.exitCode = EXIT_CONFIG;
      void this.stop('no-workers');
    }
  }

  /** Replaces a crashed worker after a back-off that doubles with each crash in the last minute. */
  private scheduleRespawn(): void {
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((time) => now - time < CRASH_WINDOW);
    this.crashTimes.push(now);
    const delay = Math.min(RESPAWN_MAX_DELAY, RESPAWN_BASE_DELAY * 2 ** (this.crashTimes.length - 1));
    if (this.crashTimes.length > 1) this.log.warn({ delayMs: delay, recentCrashes: this.crashTimes.length }, 'worker restart delayed by back-off');

    const timer = setTimeout(() => {
      this.respawnTimers.delete(timer);
      if (this.state === 'running') this.spawn();
    }, delay);
    this.respawnTimers.add(timer);
  }

  /** Periodic checks: heartbeats, start deadlines and held connections. */
  private supervise(): void {
    const now = Date.now();
    this.expireHeld(now);
    for (const slot of this.workers.values()) {
      if (slot.state === 'starting' && now - slot.forkedAt > this.config.startTimeout) {
        this.kill(slot, 'start-timeout');
      } else if (slot.state !== 'starting' && now - slot.lastHeartbeat > this.config.workerTimeout) {
        this.kill(slot, 'heartbeat-timeout');
      }
    }
  }

  /** Kills a worker that stopped answering; its exit counts as a crash, so it is replaced. */
  private kill(slot: WorkerSlot, reason: string): void {
    this.log.error({ workerId: slot.id, workerPid: slot.pid, reason }, 'killing unresponsive worker');
    this.metrics.recordTimeoutKill(slot);
    slot.process.process.kill('SIGKILL');
  }

  /** Tells a worker to drain and exit, and kills it if it is still alive after shutdownTimeout. */
  drain(slot: WorkerSlot, reason: 'reload' | 'shutdown' | 'recycle' | 'scale-down' | 'memory'): void {
    if (slot.state === 'draining' || slot.state === 'exited') return;
    slot.state = 'draining';
    slot.stopReason = reason;
    this.refreshRoutable();
    sendToWorker(slot, { type: 'drain', reason });

    const timer = setTimeout(() => {
      if (slot.state === 'exited') return;
      this.log.warn({ workerId: slot.id, workerPid: slot.pid, shutdownTimeoutMs: this.config.shutdownTimeout }, 'worker did not drain in time; killing it');
      slot.process.process.kill('SIGKILL');
    }, this.config.shutdownTimeout + 500);
    timer.unref();
    slot.process.once('exit', () => clearTimeout(timer));
  }

  /**
   * Stops the cluster: no new connections, every worker drains, then the master exits. Resolves
   * with the exit code once every worker is gone.
   */
  stop(reason: string): Promise<number> {
    if (this.state === 'stopping' || this.state === 'stopped') return this.stopped();
    this.state = 'stopping';
    this.log.info({ reason, workers: this.workers.size }, 'shutting down');

    for (const timer of this.respawnTimers) clearTimeout(timer);
    this.respawnTimers.clear();
    for (const connection of this.held) connection.socket.destroy();
    this.held = [];
    void closeListeners(this.listeners);

    for (const slot of this.workers.values()) this.drain(slot, 'shutdown');
    if (this.workers.size === 0) this.finishStop();
    return this.stopped();
  }

  /** Kills every worker at once, for a second SIGINT. */
  forceStop(): void {
    this.log.warn({ workers: this.workers.size }, 'second interrupt: killing workers now');
    for (const slot of this.workers.values()) slot.process.process.kill('SIGKILL');
    this.exitCode = 130;
    this.finishStop();
  }

  private stopped(): Promise<number> {
    if (this.state === 'stopped') return Promise.resolve(this.exitCode);
    return new Promise((resolve) => {
      const previous = this.resolveStopped;
      this.resolveStopped = () => {
        previous?.();
        resolve(this.exitCode);
      };
    });
  }

  private finishStop(): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.superviseTimer) clearInterval(this.superviseTimer);
    this.admin?.close();
    if (this.config.pidFile) removePidFile(this.config.pidFile);
    this.log.info({ exitCode: this.exitCode }, 'master stopped');
    this.resolveStopped?.();
  }
}

function ignoreError(): void {
  // Errors on a socket the master only accepts and hands off are the client's; it is destroyed anyway.
}
