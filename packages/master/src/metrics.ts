// The master's metrics. One collection round requests the metrics of every worker and waits at
// most admin.scrapeTimeout. The replies are merged (aggregate.ts) with the master's own metrics.
//
// Scrapes that arrive while another is in flight share its result, so ten parallel scrapes cost
// the workers one collection and the master one merge, not ten. The shared result is at most
// admin.scrapeTimeout older than the scrape that joined it.
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  METRIC,
  isMetricFamily,
  type Logger,
  type MetricFamily,
  type ReloadResult,
  type RestartReason,
  type WorkerMessage,
} from '@aerys-cluster/shared';
import { WorkerMetricsStore } from './aggregate.js';
import type { Master } from './master.js';
import { RateLimitedLog } from './rate-limit.js';
import { sendToWorker, type WorkerSlot, type WorkerState } from './workers.js';

const WORKER_STATES: readonly WorkerState[] = ['starting', 'ready', 'draining'];
const RESTART_REASONS: readonly RestartReason[] = ['crash', 'timeout', 'memory', 'recycle'];
const RELOAD_RESULTS: readonly ReloadResult[] = ['succeeded', 'failed'];

/** Upper bounds in seconds: a healthy scrape takes milliseconds, one that waits for a slow worker takes scrapeTimeout. */
const SCRAPE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface CollectionRound {
  /** Workers that were sent the request and have not replied yet. */
  waiting: Set<number>;
  answered: Set<number>;
  finish: () => void;
}

export class ClusterMetrics {
  private readonly store = new WorkerMetricsStore();
  private readonly registry = new Registry();
  private readonly scrapeDuration: Histogram;
  private readonly restarts: Record<RestartReason, number> = { crash: 0, timeout: 0, memory: 0, recycle: 0 };
  private readonly reloads: Record<ReloadResult, number> = { succeeded: 0, failed: 0 };
  private scrapeTimeouts = 0;
  private seq = 0;
  private readonly rounds = new Map<number, CollectionRound>();
  private currentScrape: Promise<MetricFamily[]> | null = null;
  /** Workers the supervisor killed for a missed heartbeat or start deadline: their exit is a timeout, not a crash. */
  private readonly killedForTimeout = new Set<number>();
  private readonly timeoutLog: RateLimitedLog;

  constructor(
    private readonly master: Master,
    private readonly log: Logger,
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.scrapeDuration = new Histogram({
      name: METRIC.scrapeDuration,
      help: 'Time to collect and merge the metrics of a scrape, in seconds.',
      buckets: SCRAPE_BUCKETS,
      registers: [this.registry],
    });
    this.timeoutLog = new RateLimitedLog(log, 'worker metrics timed out', 10_000);
  }

  /** Counts a worker restart; the reload and recycling code calls it with "memory" or "recycle". */
  recordRestart(reason: RestartReason): void {
    this.restarts[reason]++;
  }

  /** Counts a reload by its result. */
  recordReload(result: ReloadResult): void {
    this.reloads[result]++;
  }

  /** Notes that the supervisor killed a worker for a timeout, and counts the restart. */
  recordTimeoutKill(slot: WorkerSlot): void {
    this.killedForTimeout.add(slot.id);
    this.recordRestart('timeout');
  }

  /** Counts a crash, unless the exit follows a timeout kill that was counted already. */
  recordCrash(slot: WorkerSlot): void {
    if (!this.killedForTimeout.delete(slot.id)) this.recordRestart('crash');
  }

  /** Keeps an exited worker's last counters and stops waiting for its reply. */
  workerExited(slot: WorkerSlot): void {
    this.store.exited(slot.id, slot.generation);
    for (const round of this.rounds.values()) {
      if (!round.waiting.delete(slot.id)) continue;
      if (round.waiting.size === 0) round.finish();
    }
  }

  /** Handles a worker's `metrics` message: a reply to a round, or its final report (seq 0). */
  receive(slot: WorkerSlot, message: Extract<WorkerMessage, { type: 'metrics' }>): void {
    const families = Array.isArray(message.metrics) ? message.metrics.filter(isMetricFamily) : [];
    this.store.update(slot.id, slot.generation, message.seq, families);

    const round = this.rounds.get(message.seq);
    if (!round || !round.waiting.delete(slot.id)) return;
    round.answered.add(slot.id);
    if (round.waiting.size === 0) round.finish();
  }

  /** Collects from every worker (waiting at most `timeoutMs`) and returns the merged families. */
  scrape(timeoutMs: number): Promise<MetricFamily[]> {
    this.currentScrape ??= this.runScrape(timeoutMs).finally(() => {
      this.currentScrape = null;
    });
    return this.currentScrape;
  }

  private async runScrape(timeoutMs: number): Promise<MetricFamily[]> {
    const started = performance.now();
    const answered = await this.startRound(timeoutMs);
    const families = this.store.merge(answered, {
      cluster: this.clusterFamilies(),
      process: await this.processFamilies(),
      generation: this.master.generation,
    });
    this.scrapeDuration.observe((performance.now() - started) / 1000);
    return families;
  }

  /** Requests the metrics of every ready or draining worker and resolves with the ids of those that replied in time. */
  private startRound(timeoutMs: number): Promise<Set<number>> {
    const seq = ++this.seq;
    const waiting = new Set<number>();
    // A starting worker has not installed its message handlers yet and would always miss the deadline.
    for (const slot of this.master.workers.values()) {
      if (slot.state !== 'ready' && slot.state !== 'draining') continue;
      if (sendToWorker(slot, { type: 'collect-metrics', seq })) waiting.add(slot.id);
    }

    return new Promise((resolve) => {
      const answered = new Set<number>();
      const finish = (): void => {
        clearTimeout(timer);
        this.rounds.delete(seq);
        for (const workerId of waiting) {
          this.scrapeTimeouts++;
          this.timeoutLog.record(String(workerId), { workerId, scrapeTimeoutMs: timeoutMs });
        }
        resolve(answered);
      };
      const timer = setTimeout(finish, timeoutMs);
      this.rounds.set(seq, { waiting, answered, finish });
      if (waiting.size === 0) finish();
    });
  }

  private async processFamilies(): Promise<MetricFamily[]> {
    const families: unknown[] = await this.registry.getMetricsAsJSON();
    return families.filter(isMetricFamily);
  }

  /** Families computed from the master's state at scrape time. */
  private clusterFamilies(): MetricFamily[] {
    const master = this.master;
    const byState = new Map<WorkerState, number>(WORKER_STATES.map((state) => [state, 0]));
    const perWorker = [];
    for (const slot of master.workers.values()) {
      byState.set(slot.state, (byState.get(slot.state) ?? 0) + 1);
      perWorker.push({ labels: { worker: String(slot.id), generation: String(slot.generation) }, value: slot.open });
    }

    return [
      { name: METRIC.workers, help: 'Worker processes by lifecycle state.', type: 'gauge', values: WORKER_STATES.map((state) => ({ labels: { state }, value: byState.get(state) ?? 0 })) },
      { name: METRIC.workerRestarts, help: 'Workers replaced, by reason (crash, timeout, memory, recycle).', type: 'counter', values: RESTART_REASONS.map((reason) => ({ labels: { reason }, value: this.restarts[reason] })) },
      { name: METRIC.reloads, help: 'Reloads of the configuration and application, by result.', type: 'counter', values: RELOAD_RESULTS.map((result) => ({ labels: { result }, value: this.reloads[result] })) },
      { name: METRIC.connectionsAdmitted, help: 'Client connections admitted and handed to a worker.', type: 'counter', values: [{ labels: {}, value: master.admitted }] },
      {
        name: METRIC.connectionsRejected,
        help: 'Client connections closed without service, by reason (per_ip, max_connections, no_worker).',
        type: 'counter',
        values: Object.entries(master.rejected).map(([reason, value]) => ({ labels: { reason }, value })),
      },
      { name: METRIC.connectionsOpen, help: 'Client connections open in the whole cluster, as the master counts them.', type: 'gauge', values: [{ labels: {}, value: master.admission.open }] },
      { name: METRIC.workerConnectionsOpen, help: 'Client connections open per worker, as the master counts them.', type: 'gauge', values: perWorker },
      { name: METRIC.clientPrefixes, help: 'Distinct client address prefixes with at least one open connection.', type: 'gauge', values: [{ labels: {}, value: master.admission.prefixes }] },
      { name: METRIC.scrapeWorkerTimeouts, help: 'Workers left out of a scrape because they did not reply within admin.scrapeTimeout.', type: 'counter', values: [{ labels: {}, value: this.scrapeTimeouts }] },
    ];
  }
}
