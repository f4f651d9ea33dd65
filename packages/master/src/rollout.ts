// Operations that replace workers: the rolling reload, recycling, and scaling. Signal handlers and
// control commands only record an intent here; one loop applies the intents in order, so a burst
// of SIGHUPs merges into one pending reload and two rollouts never run at once.
//
// A rolling reload, with two workers of generation 1 and the new generation 2:
//
//   validate config --fail--> log, count failed reload, nothing touched
//        |
//   bind new listeners --fail--> close what was bound, count failed reload
//        |
//   fork W3 (gen 2) --fatal/exit/startTimeout--> kill W3, abort; W1 W2 keep serving
//        | ready
//   gen 2 becomes current (replacements fork with it); drain W1
//        |
//   fork W4 (gen 2) --fatal/exit/startTimeout--> kill W4, abort; W2 W3 keep serving
//        | ready
//   drain W2
//        |
//   wait until W1 and W2 exited (each killed at shutdownTimeout at the latest)
//        |
//   close listeners that left the configuration, count succeeded reload
import type { Config } from '@aerys-cluster/shared';
import type { Master } from './master.js';
import type { ReloadStatus } from './status.js';
import type { WorkerSlot } from './workers.js';

export type RecycleReason = 'recycle' | 'memory';

/** How a worker's start ended: ready, or the reason it failed. */
export type StartOutcome = { ok: true } | { ok: false; reason: string };

interface PendingReload {
  triggers: string[];
  waiters: Array<(status: ReloadStatus) => void>;
}

/** Options whose new values only apply after a restart of the master. */
const RESTART_ONLY_OPTIONS = ['pidFile', 'controlSocket', 'user', 'group'] as const;

export class Operations {
  private pendingReload: PendingReload | null = null;
  private scaleDelta = 0;
  private readonly recycles: Array<{ slot: WorkerSlot; reason: RecycleReason }> = [];
  private running: string | null = null;

  constructor(private readonly master: Master) {}

  /** True while a reload, recycle or scaling step runs. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Records a reload request; resolves with the outcome of the reload that serves it. */
  requestReload(trigger: string): Promise<ReloadStatus> {
    if (this.master.state !== 'running') {
      return Promise.resolve(this.master.recordReload({ trigger, generation: this.master.generation, startedAt: Date.now(), error: `The cluster is ${this.master.state}; reload is not possible.` }));
    }

    return new Promise((resolve) => {
      if (this.pendingReload) {
        this.pendingReload.triggers.push(trigger);
        this.pendingReload.waiters.push(resolve);
        this.master.log.info({ trigger, mergedRequests: this.pendingReload.triggers.length }, 'reload request merged into the pending reload');
        return;
      }
      this.pendingReload = { triggers: [trigger], waiters: [resolve] };
      if (this.running) this.master.log.info({ trigger, running: this.running }, 'reload requested; it starts when the running operation ends');
      this.kick();
    });
  }

  /** Adds (+1) or removes (-1) a worker once the running operation ends. */
  requestScale(delta: 1 | -1, trigger: string): void {
    this.scaleDelta += delta;
    this.master.log.info({ trigger, delta, pendingDelta: this.scaleDelta }, 'scaling requested');
    this.kick();
  }

  /** Replaces a worker through the drain, one worker at a time; repeated requests are ignored. */
  requestRecycle(slot: WorkerSlot, reason: RecycleReason): void {
    if (slot.recycleRequested) return;
    slot.recycleRequested = true;
    this.recycles.push({ slot, reason });
    this.kick();
  }

  /** Fails every waiting reload request, for a master that stops. */
  cancel(): void {
    const pending = this.pendingReload;
    this.pendingReload = null;
    if (!pending) return;
    const status = this.master.recordReload({ trigger: pending.triggers.join(', '), generation: this.master.generation, startedAt: Date.now(), error: 'The cluster stopped before the reload started.' });
    for (const waiter of pending.waiters) waiter(status);
  }

  private kick(): void {
    if (this.running === null) void this.runNext();
  }

  /** Applies one pending intent, then schedules the next; a reload goes first. */
  private async runNext(): Promise<void> {
    if (this.master.state !== 'running') {
      this.cancel();
      return;
    }

    const pending = this.pendingReload;
    if (pending) {
      this.pendingReload = null;
      this.running = 'reload';
      const status = await rollingReload(this.master, pending.triggers);
      for (const waiter of pending.waiters) waiter(status);
    } else if (this.scaleDelta !== 0) {
      const delta = this.scaleDelta > 0 ? 1 : -1;
      this.scaleDelta -= delta;
      this.running = 'scale';
      await scale(this.master, delta);
    } else {
      const recycle = this.recycles.shift();
      if (!recycle) return;
      this.running = recycle.reason;
      await replaceWorker(this.master, recycle.slot, recycle.reason);
    }

    this.running = null;
    setImmediate(() => this.kick());
  }
}

/**
 * Runs one rolling reload and returns its outcome. An unexpected error (a fork that fails, a
 * listener that cannot close) is recorded as a failed reload instead of being thrown, so the
 * loop that applies reload requests always answers its callers.
 */
export async function rollingReload(master: Master, triggers: readonly string[]): Promise<ReloadStatus> {
  const startedAt = Date.now();
  const generation = master.allocateGeneration();
  try {
    return await rollOut(master, triggers, generation, startedAt);
  } catch (error) {
    const trigger = triggers.join(', ');
    master.log.error({ trigger, newGeneration: generation, err: error }, 'reload failed unexpectedly; the running workers keep serving');
    return master.recordReload({ trigger, generation, startedAt, error: `Unexpected error: ${errorText(error)}` });
  }
}

async function rollOut(master: Master, triggers: readonly string[], generation: number, startedAt: number): Promise<ReloadStatus> {
  const trigger = triggers.join(', ');
  const previous = master.config;
  master.log.info({ trigger, mergedRequests: triggers.length, newGeneration: generation, workers: workerPids(master) }, 'reload started');

  const fail = (error: string, stage: string): ReloadStatus => {
    master.log.error({ trigger, stage, newGeneration: generation, err: error, workers: workerPids(master) }, 'reload failed; the running workers keep serving');
    return master.recordReload({ trigger, generation, startedAt, error });
  };

  let next: Readonly<Config>;
  try {
    next = await master.loadNextConfig();
  } catch (error) {
    return fail(`Invalid configuration: ${errorText(error)}`, 'configuration');
  }
  next = keepRestartOnly(master, previous, next);

  let bound: string[];
  try {
    bound = await master.bindNewListeners(next);
  } catch (error) {
    return fail(errorText(error), 'listeners');
  }
  if (bound.length > 0) master.log.info({ newGeneration: generation, listeners: bound }, 'reload: new listeners bound');

  const draining: WorkerSlot[] = [];
  let adopted = false;
  // Each round forks one worker, drains one, or both; this many rounds cover every worker.
  const rounds = master.workers.size + next.workers + 1;
  for (let round = 0; round < rounds; round++) {
    if (master.state !== 'running') return fail('The cluster began to stop during the reload.', 'rollout');

    const old = oldestOf(master, (slot) => slot.generation < generation && (slot.state === 'ready' || slot.state === 'starting'));
    const current = countOf(master, (slot) => slot.generation === generation && (slot.state === 'ready' || slot.state === 'starting'));
    if (!old && current >= next.workers) break;

    let replacement: WorkerSlot | null = null;
    if (current < next.workers) {
      replacement = master.spawn(next, generation);
      const outcome = await master.waitStarted(replacement);
      if (!outcome.ok) {
        master.abandon(replacement, 'reload-aborted');
        if (!adopted) await master.releaseListeners(bound);
        return fail(`New worker ${replacement.pid} of generation ${generation} ${outcome.reason}`, 'rollout');
      }
      if (!adopted) {
        master.adopt(next, generation);
        adopted = true;
      }
    }

    if (old && old.state !== 'exited' && old.state !== 'draining') {
      master.log.info({ workerId: old.id, workerPid: old.pid, workerGeneration: old.generation, replacementPid: replacement?.pid ?? null }, 'reload: draining old worker');
      master.drain(old, 'reload');
      draining.push(old);
    }
  }
  if (!adopted) master.adopt(next, generation);

  await Promise.all(draining.map((slot) => master.waitExit(slot)));
  await master.closeRemovedListeners();
  master.log.info({ trigger, workers: workerPids(master), durationMs: Date.now() - startedAt }, 'reload succeeded');
  return master.recordReload({ trigger, generation, startedAt, error: null });
}

/**
 * Replaces one worker: forks the replacement with the current configuration, waits for it to be
 * ready, then drains the old worker and waits for its exit. When the replacement fails to start
 * the old worker keeps serving, and it is not recycled again.
 */
export async function replaceWorker(master: Master, slot: WorkerSlot, reason: RecycleReason): Promise<void> {
  if (slot.state !== 'ready') return;
  master.log.info({ workerId: slot.id, workerPid: slot.pid, reason, requests: slot.requests, rssBytes: slot.rss }, 'recycling worker');

  const replacement = master.spawn();
  const outcome = await master.waitStarted(replacement);
  if (!outcome.ok) {
    master.abandon(replacement, 'recycle-aborted');
    master.log.error({ workerId: slot.id, workerPid: slot.pid, err: outcome.reason }, 'replacement failed to start; the worker is kept and not recycled again');
    return;
  }
  if (slot.state !== 'ready') return;
  master.metrics.recordRestart(reason);
  master.drain(slot, reason);
  await master.waitExit(slot);
}

/** Adds one worker, or drains the newest one while more than one is left. */
async function scale(master: Master, delta: 1 | -1): Promise<void> {
  if (delta > 0) {
    master.targetWorkers++;
    const slot = master.spawn();
    const outcome = await master.waitStarted(slot);
    master.log.info({ workerPid: slot.pid, targetWorkers: master.targetWorkers, ready: outcome.ok }, 'worker added');
    return;
  }

  const routable = [...master.workers.values()].filter((slot) => slot.state === 'ready');
  const newest = routable.sort((a, b) => b.id - a.id)[0];
  if (!newest || routable.length <= 1) {
    master.log.warn({ workers: routable.length }, 'cannot remove the last worker; scaling request ignored');
    return;
  }
  master.targetWorkers--;
  master.log.info({ workerPid: newest.pid, targetWorkers: master.targetWorkers }, 'removing worker');
  master.drain(newest, 'scale-down');
  await master.waitExit(newest);
}

function oldestOf(master: Master, predicate: (slot: WorkerSlot) => boolean): WorkerSlot | undefined {
  let oldest: WorkerSlot | undefined;
  for (const slot of master.workers.values()) {
    if (!predicate(slot)) continue;
    // Ready workers first, so a worker that is still starting is drained last.
    if (!oldest || (slot.state === 'ready' && oldest.state !== 'ready') || (slot.state === oldest.state && slot.id < oldest.id)) oldest = slot;
  }
  return oldest;
}

function countOf(master: Master, predicate: (slot: WorkerSlot) => boolean): number {
  let count = 0;
  for (const slot of master.workers.values()) if (predicate(slot)) count++;
  return count;
}

function workerPids(master: Master): Array<{ pid: number; generation: number; state: string }> {
  return [...master.workers.values()].map((slot) => ({ pid: slot.pid, generation: slot.generation, state: slot.state }));
}

/** Returns `next` with the running values of options that only a master restart can change. */
function keepRestartOnly(master: Master, previous: Readonly<Config>, next: Readonly<Config>): Readonly<Config> {
  const kept: Partial<Record<(typeof RESTART_ONLY_OPTIONS)[number], string | null>> = {};
  for (const option of RESTART_ONLY_OPTIONS) {
    if (previous[option] === next[option]) continue;
    master.log.warn({ option, running: previous[option], configured: next[option] }, 'option changes only on a restart of the master; keeping the running value');
    kept[option] = previous[option];
  }
  return Object.keys(kept).length === 0 ? next : Object.freeze({ ...next, ...kept });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
