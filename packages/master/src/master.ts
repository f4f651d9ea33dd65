// The master process: binds the listeners, admits each connection and hands it to a worker,
// supervises the workers, and shuts the cluster down gracefully.
import type { Socket } from 'node:net';
import { EXIT_CONFIG, createLogger, formatHostPort, type Config, type Logger } from '@aerys-cluster/shared';
import { Admission, type RejectReason } from './admission.js';
import { AdminServer } from './admin.js';
import { RestartBackoff } from './backoff.js';
import { ControlServer } from './control.js';
import { controlSocketPath } from './control-path.js';
import { bindListener, bindListeners, closeListeners, listenerKeys, type BoundListener } from './listeners.js';
import { runChecklist } from './checklist.js';
import { readProxyHeader, type ProxyHeader } from './proxy-protocol.js';
import { ClusterMetrics } from './metrics.js';
import { writePidFile, removePidFile } from './pidfile.js';
import { RateLimitedLog } from './rate-limit.js';
import { Operations, type StartOutcome } from './rollout.js';
import { statusSnapshot, type ClusterStatus, type ReloadStatus } from './status.js';
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

/** How often the supervisor checks heartbeats, start deadlines, recycling and held connections. */
const SUPERVISE_INTERVAL = 250;
/** Time a draining worker gets beyond shutdownTimeout to exit on its own before it is killed. */
const DRAIN_KILL_GRACE = 500;

export interface MasterOptions {
  /** The configuration file the master was started with; it names the default control socket. */
  configFile?: string | null;
  /** Reads and validates the configuration again for a reload; by default the running one is reused. */
  reloadConfig?: () => Promise<Readonly<Config>>;
}

export class Master {
  /** The configuration of the current generation; every worker forked from now on runs it. */
  config: Readonly<Config>;
  log: Logger;
  state: MasterState = 'starting';
  /** Generation of `config`; a reload that fails leaves it unchanged. */
  generation = 1;
  /** Workers to keep; SIGTTIN and SIGTTOU change it, a reload sets it to `workers` again. */
  targetWorkers: number;
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
  /** Finished reloads by result. */
  readonly reloads = { succeeded: 0, failed: 0 };
  readonly operations: Operations;
  private control: ControlServer | null = null;
  private readonly options: MasterOptions;
  /** The highest generation number handed out; failed reloads use numbers too, so none repeats. */
  private lastGeneration = 1;
  private readonly backoff: RestartBackoff;
  /** Callers waiting for a worker's ready message, by worker. */
  private readonly startWaiters = new Map<WorkerSlot, (outcome: StartOutcome) => void>();

  /** Ready workers that take new connections, rebuilt whenever a worker changes state. */
  private routable: WorkerSlot[] = [];
  /** True while some routable worker does not serve every bound listener. */
  private routableMixed = false;
  private held: HeldConnection[] = [];
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
      const now = Date.now();
      const elapsed = now - slot.lastHeartbeat;
      if (elapsed > 0 && slot.readyAt > 0) slot.requestRate = (Math.max(0, message.requests - slot.requests) * 1000) / elapsed;
      slot.lastHeartbeat = now;
      slot.requests = message.requests;
      slot.rss = message.rss;
    },
    fatal: (slot, message) => {
      this.log.error({ workerId: slot.id, workerPid: slot.pid, workerGeneration: slot.generation, code: message.code, err: message.message }, 'worker failed to start');
      if (this.state === 'starting') this.startupFailure = message.message;
      this.settleStart(slot, { ok: false, reason: `failed to start: ${firstLine(message.message)}` });
      this.onStartupProgress?.();
    },
    metrics: (slot, message) => this.metrics.receive(slot, message),
  };

  constructor(config: Readonly<Config>, options: MasterOptions = {}) {
    this.config = config;
    this.options = options;
    this.targetWorkers = config.workers;
    this.log = createLogger({ level: config.logLevel, worker: 'master', generation: this.generation });
    this.admission = new Admission(config);
    this.backoff = new RestartBackoff(config);
    this.operations = new Operations(this);
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
    // The control socket comes first: when it belongs to a running master, this one stops before
    // it binds a port or overwrites that master's PID file.
    await this.startControl();
    try {
      this.listeners = await bindListeners(this.config.listen, (socket, listener) => this.onConnection(socket, listener));
    } catch (error) {
      this.control?.close();
      throw error;
    }
    let adminAddress: string | null = null;
    if (this.config.admin) {
      try {
        ({ admin: this.admin, address: adminAddress } = await AdminServer.start(this, this.metrics, this.config.admin, this.log));
      } catch (error) {
        await closeListeners(this.listeners);
        this.control?.close();
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
        controlSocket: this.control?.path ?? null,
      },
      'cluster ready',
    );
  }

  private async startControl(): Promise<void> {
    const path = controlSocketPath({ ...this.config, configFile: this.options.configFile ?? null });
    const control = new ControlServer(path, this);
    await control.listen();
    this.control = control;
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

  /** Forks a worker, of the current generation unless a reload passes its new one. */
  spawn(config: Readonly<Config> = this.config, generation: number = this.generation): WorkerSlot {
    const slot = forkWorker(config, generation);
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
    this.log.info({ workerId: slot.id, workerPid: slot.pid, workerGeneration: slot.generation, startupMs: slot.readyAt - slot.forkedAt }, 'worker ready');
    this.settleStart(slot, { ok: true });
    this.flushHeld();
    this.onStartupProgress?.();
  }

  private refreshRoutable(): void {
    this.routable = [...this.workers.values()].filter((slot) => slot.state === 'ready');
    const keys = new Set(this.listeners.map((listener) => listener.key));
    // Workers of an older generation may lack a listener that a reload added, or the reverse.
    this.routableMixed = this.routable.some((slot) => slot.listenerIndex.size !== keys.size || [...keys].some((key) => !slot.listenerIndex.has(key)));
  }

  /** Returns the routable workers whose configuration contains the listener. */
  private routableFor(listener: BoundListener): WorkerSlot[] {
    if (!this.routableMixed) return this.routable;
    return this.routable.filter((slot) => slot.listenerIndex.has(listener.key));
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
    const result = this.admission.admit(address, this.routableFor(listener));
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
      listener: worker.listenerIndex.get(listener.key) ?? listener.index,
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

  /** Closes the master's copy of a socket once its worker reported the connection accepted or closed. */
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
    const awaited = this.startWaiters.has(slot);
    if (awaited) this.settleStart(slot, { ok: false, reason: `exited before it was ready (code ${code}, signal ${signal})` });
    if (slot.stopReason !== null) {
      this.log.info({ ...fields, reason: slot.stopReason }, 'worker stopped');
    } else if (code === EXIT_CONFIG) {
      this.log.error(fields, 'worker exited with a configuration error; not restarting it');
      if (this.state === 'starting') this.startupFailure ??= 'A worker exited with a configuration error.';
    } else {
      this.log.error({ ...fields, previousState: previous }, 'worker crashed');
      this.metrics.recordCrash(slot);
      // A worker someone awaits (a reload or a recycle) is their failure to handle, not respawned.
      if (this.state === 'running' && !awaited) this.scheduleRespawn();
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

  /** Replaces a failed worker after the crash back-off (see backoff.ts). */
  private scheduleRespawn(): void {
    const { delayMs, crashes } = this.backoff.recordCrash(Date.now());
    this.log.warn({ delayMs, crashes, maxRestartDelayMs: this.config.maxRestartDelay }, 'worker restart scheduled with back-off');

    const timer = setTimeout(() => {
      this.respawnTimers.delete(timer);
      if (this.state === 'running') this.spawn();
    }, delayMs);
    this.respawnTimers.add(timer);
  }

  /** Periodic checks: heartbeats, start deadlines, recycling thresholds and held connections. */
  private supervise(): void {
    const now = Date.now();
    this.expireHeld(now);
    for (const slot of this.workers.values()) {
      if (slot.state === 'starting' && now - slot.forkedAt > slot.config.startTimeout) {
        this.kill(slot, 'start-timeout');
      } else if (slot.state !== 'starting' && now - slot.lastHeartbeat > slot.config.workerTimeout) {
        this.kill(slot, 'heartbeat-timeout');
      } else if (slot.state === 'ready' && this.state === 'running') {
        this.checkRecycle(slot);
      }
    }
  }

  private checkRecycle(slot: WorkerSlot): void {
    if (slot.requests >= slot.recycleAt) this.operations.requestRecycle(slot, 'recycle');
    else if (slot.config.maxWorkerMemory > 0 && slot.rss > slot.config.maxWorkerMemory) this.operations.requestRecycle(slot, 'memory');
  }

  /**
   * Kills a worker that stopped sending heartbeats or did not start in time. Its replacement is scheduled
   * at once with the crash back-off, unless a reload or recycle awaits the worker's start.
   */
  private kill(slot: WorkerSlot, reason: 'start-timeout' | 'heartbeat-timeout'): void {
    const timeoutMs = reason === 'start-timeout' ? slot.config.startTimeout : slot.config.workerTimeout;
    this.log.error({ workerId: slot.id, workerPid: slot.pid, workerGeneration: slot.generation, reason, timeoutMs }, 'killing unresponsive worker');
    slot.stopReason = reason;
    this.metrics.recordTimeoutKill(slot);
    slot.process.process.kill('SIGKILL');

    if (this.startWaiters.has(slot)) {
      this.settleStart(slot, { ok: false, reason: `did not report ready within startTimeout (${slot.config.startTimeout} ms)` });
      return;
    }
    if (slot.state === 'draining' || this.state !== 'running') return;
    // The slot leaves the routable set now; its exit event follows.
    slot.state = 'draining';
    this.refreshRoutable();
    this.scheduleRespawn();
  }

  /** Tells a worker to drain and exit, and kills it if it is still alive after shutdownTimeout. */
  drain(slot: WorkerSlot, reason: 'reload' | 'shutdown' | 'recycle' | 'scale-down' | 'memory'): void {
    if (slot.state === 'draining' || slot.state === 'exited') return;
    slot.state = 'draining';
    slot.stopReason = reason;
    this.refreshRoutable();
    sendToWorker(slot, { type: 'drain', reason });
    this.log.info({ workerId: slot.id, workerPid: slot.pid, workerGeneration: slot.generation, reason, open: slot.open }, 'worker draining');

    const timer = setTimeout(() => {
      if (slot.state === 'exited') return;
      this.log.warn({ workerId: slot.id, workerPid: slot.pid, shutdownTimeoutMs: slot.config.shutdownTimeout }, 'worker did not drain in time; killing it');
      slot.process.process.kill('SIGKILL');
    }, slot.config.shutdownTimeout + DRAIN_KILL_GRACE);
    timer.unref();
    slot.process.once('exit', () => clearTimeout(timer));
  }

  /** Returns the status snapshot served on the control socket and the admin listener. */
  status(): ClusterStatus {
    return statusSnapshot(this);
  }

  /** Records a reload request (SIGHUP, control socket); resolves with the reload's outcome. */
  requestReload(trigger: string): Promise<ReloadStatus> {
    return this.operations.requestReload(trigger);
  }

  /** Records a request to add or remove one worker (SIGTTIN, SIGTTOU). */
  requestScale(delta: 1 | -1, trigger: string): void {
    if (this.state !== 'running') return;
    this.operations.requestScale(delta, trigger);
  }

  allocateGeneration(): number {
    return ++this.lastGeneration;
  }

  /** Reads and validates the configuration for a reload; throws ConfigError when it is invalid. */
  loadNextConfig(): Promise<Readonly<Config>> {
    return this.options.reloadConfig ? this.options.reloadConfig() : Promise.resolve(this.config);
  }

  /**
   * Binds the listeners of `next` that are not bound yet and returns their keys. When one fails,
   * the ones bound by this call are closed again and the error is thrown.
   */
  async bindNewListeners(next: Readonly<Config>): Promise<string[]> {
    const bound: BoundListener[] = [];
    const known = new Set(this.listeners.map((listener) => listener.key));
    try {
      const keys = listenerKeys(next.listen);
      for (const [index, config] of next.listen.entries()) {
        const key = keys[index] ?? '';
        if (known.has(key)) continue;
        bound.push(await bindListener(index, config, (socket, listener) => this.onConnection(socket, listener), key));
      }
    } catch (error) {
      await closeListeners(bound);
      throw error;
    }
    this.listeners = [...this.listeners, ...bound];
    this.refreshRoutable();
    return bound.map((listener) => listener.key);
  }

  /** Closes the listeners with the given keys, after a reload that bound them failed. */
  async releaseListeners(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const release = this.listeners.filter((listener) => keys.includes(listener.key));
    this.listeners = this.listeners.filter((listener) => !keys.includes(listener.key));
    this.refreshRoutable();
    await closeListeners(release);
  }

  /** Closes the listeners that the current configuration no longer contains. */
  async closeRemovedListeners(): Promise<void> {
    const keep = new Set(listenerKeys(this.config.listen));
    const removed = this.listeners.filter((listener) => !keep.has(listener.key));
    if (removed.length === 0) return;
    this.log.info({ listeners: removed.map((listener) => listener.key) }, 'closing listeners removed from the configuration');
    await this.releaseListeners(removed.map((listener) => listener.key));
  }

  /**
   * Makes `next` the current generation: workers forked from now on, crash replacements included,
   * run it, and the master applies its admission limits and back-off bounds.
   */
  adopt(next: Readonly<Config>, generation: number): void {
    this.config = next;
    this.generation = generation;
    this.targetWorkers = next.workers;
    this.admission.configure(next);
    this.backoff.configure(next);
    this.log = createLogger({ level: next.logLevel, worker: 'master', generation });
    // Listener positions follow the new configuration; workers map keys to their own positions.
    const keys = listenerKeys(next.listen);
    for (const listener of this.listeners) {
      const index = keys.indexOf(listener.key);
      if (index === -1) continue;
      listener.index = index;
      listener.config = next.listen[index] ?? listener.config;
    }
    this.refreshRoutable();
    this.log.info({ workers: next.workers }, 'new generation is current');
  }

  /** Resolves when the worker reported ready, or with the reason it failed to start. */
  waitStarted(slot: WorkerSlot): Promise<StartOutcome> {
    if (slot.state === 'ready') return Promise.resolve({ ok: true });
    if (slot.state !== 'starting') return Promise.resolve({ ok: false, reason: `stopped before it was ready (${slot.state})` });
    return new Promise((resolve) => this.startWaiters.set(slot, resolve));
  }

  private settleStart(slot: WorkerSlot, outcome: StartOutcome): void {
    const waiter = this.startWaiters.get(slot);
    if (!waiter) return;
    this.startWaiters.delete(slot);
    waiter(outcome);
  }

  /** Resolves once the worker process exited. */
  waitExit(slot: WorkerSlot): Promise<void> {
    if (slot.state === 'exited') return Promise.resolve();
    return new Promise((resolve) => slot.process.once('exit', () => resolve()));
  }

  /** Kills a new worker whose start failed; it is not replaced. */
  abandon(slot: WorkerSlot, reason: string): void {
    this.startWaiters.delete(slot);
    if (slot.state === 'exited') return;
    slot.stopReason = reason;
    slot.state = 'draining';
    this.refreshRoutable();
    slot.process.process.kill('SIGKILL');
  }

  /** Stores the outcome of a reload for status output and counts it by result. */
  recordReload(outcome: { trigger: string; generation: number; startedAt: number; error: string | null }): ReloadStatus {
    const now = Date.now();
    const status: ReloadStatus = {
      at: new Date(now).toISOString(),
      result: outcome.error === null ? 'succeeded' : 'failed',
      generation: outcome.generation,
      error: outcome.error,
      trigger: outcome.trigger,
      durationMs: now - outcome.startedAt,
    };
    this.lastReload = status;
    this.reloads[status.result]++;
    this.metrics.recordReload(status.result);
    return status;
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
    this.operations.cancel();
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

  /** Resolves with the exit code once the master stopped. */
  stopped(): Promise<number> {
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
    this.control?.close();
    if (this.config.pidFile) removePidFile(this.config.pidFile);
    this.log.info({ exitCode: this.exitCode }, 'master stopped');
    this.resolveStopped?.();
  }
}

function firstLine(text: string): string {
  const end = text.indexOf('\n');
  return end === -1 ? text : text.slice(0, end);
}

function ignoreError(): void {
  // Errors on a socket the master only accepts and hands off are the client's; it is destroyed anyway.
}
