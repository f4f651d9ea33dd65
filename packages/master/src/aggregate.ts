// Merging the metrics of every worker into one cluster view that stays correct as workers come
// and go:
//
// - Counters and histograms are summed over all workers, without a worker label, and the last
//   values of every worker that exited are kept in a retired sum. A worker's own counters never
//   fall during its life, so each cluster total can only grow for the life of the master. A
//   restart therefore never looks like a counter reset to Prometheus.
// - A worker that missed the scrape deadline contributes its last known counter values.
// - Gauges (and summaries, whose quantiles cannot be added) are never summed: each series gets a
//   `worker` and a `generation` label, and only workers that answered this scrape contribute.
import { GENERATION_LABEL, WORKER_LABEL, type MetricFamily, type MetricSample } from '@aerys-cluster/shared';

/** How long the metrics of an exited worker stay separate, so its final report can still replace them. */
const RETIRE_DELAY_MS = 5000;

/** The master's part of a scrape. */
export interface MasterFamilies {
  /** Cluster-wide families (workers by state, admissions, restarts), written as they are. */
  cluster: readonly MetricFamily[];
  /** The master process's own prom-client metrics (Node defaults, scrape duration). */
  process: readonly MetricFamily[];
  generation: number;
}

interface WorkerSnapshot {
  generation: number;
  /** Sequence number of the collection round that produced it; 0 for a final report. */
  seq: number;
  families: MetricFamily[];
  /** Date.now() of the worker's exit, or null while it runs. */
  exitedAt: number | null;
  /** True when a final report arrived; later replies are older and ignored. */
  final: boolean;
}

/** Families under construction: samples keyed by sample name and label set, in first-seen order. */
class FamilyTable {
  private readonly entries = new Map<string, { family: MetricFamily; samples: Map<string, MetricSample> }>();

  /** Adds a sample, summing its value into an existing one with the same name and labels. */
  add(family: MetricFamily, sample: MetricSample, extraLabels?: Record<string, string | number>): void {
    // prom-client 15 exports nodejs_active_{handles,requests,resources}_total as gauges. The
    // `_total` suffix is reserved for counters (promtool check metrics rejects it), and the same
    // numbers are the sum of the nodejs_active_* gauges by type, so they are left out.
    if (family.type !== 'counter' && family.name.endsWith('_total')) return;
    let entry = this.entries.get(family.name);
    if (!entry) {
      entry = { family: { name: family.name, help: family.help, type: family.type, values: [] }, samples: new Map() };
      this.entries.set(family.name, entry);
    }
    if (entry.family.type !== family.type) return;

    const labels = extraLabels ? { ...sample.labels, ...extraLabels } : sample.labels;
    const key = sampleKey(sample.metricName ?? family.name, labels);
    const existing = entry.samples.get(key);
    if (existing) {
      existing.value += sample.value;
      return;
    }
    const copy: MetricSample = { labels, value: sample.value };
    if (sample.metricName !== undefined) copy.metricName = sample.metricName;
    entry.samples.set(key, copy);
    entry.family.values.push(copy);
  }

  /** Adds every counter and histogram sample of `families`. */
  addCumulative(families: readonly MetricFamily[]): void {
    for (const family of families) {
      if (!isCumulative(family)) continue;
      for (const sample of family.values) this.add(family, sample);
    }
  }

  families(): MetricFamily[] {
    return [...this.entries.values()].map((entry) => entry.family);
  }
}

function sampleKey(name: string, labels: Record<string, string | number>): string {
  const names = Object.keys(labels).sort();
  let key = name;
  for (const label of names) key += `\u0000${label}=${labels[label]}`;
  return key;
}

/** Adds counters and histograms to the sums and gauges and summaries as series with `labels`. */
function addProcessFamilies(table: FamilyTable, families: readonly MetricFamily[], labels: Record<string, string>): void {
  for (const family of families) {
    const extra = isCumulative(family) ? undefined : labels;
    for (const sample of family.values) table.add(family, sample, extra);
  }
}

export function isCumulative(family: MetricFamily): boolean {
  return family.type === 'counter' || family.type === 'histogram';
}

export class WorkerMetricsStore {
  private readonly snapshots = new Map<number, WorkerSnapshot>();
  /** Counter and histogram sums of workers that exited more than RETIRE_DELAY_MS ago. */
  private retired = new FamilyTable();
  private readonly retiredIds = new Set<number>();

  /** Stores a worker's report; an older report than the one stored is ignored. */
  update(workerId: number, generation: number, seq: number, families: MetricFamily[]): void {
    if (this.retiredIds.has(workerId)) return;
    const current = this.snapshots.get(workerId);
    if (current && (current.final || (seq !== 0 && seq <= current.seq))) return;
    this.snapshots.set(workerId, { generation, seq, families, exitedAt: current?.exitedAt ?? null, final: seq === 0 });
  }

  /** Marks a worker as exited; its last counters keep counting, and its gauges are no longer shown. */
  exited(workerId: number, generation: number, now = Date.now()): void {
    const snapshot = this.snapshots.get(workerId);
    if (snapshot) snapshot.exitedAt = now;
    // A final report can arrive after the exit event; the empty entry lets it still be counted.
    else this.snapshots.set(workerId, { generation, seq: 0, families: [], exitedAt: now, final: false });
  }

  /**
   * Returns the cluster view. `answered` contains the workers that replied to this scrape, and
   * only their gauges appear. Counters come from every known worker, running or exited. The
   * master's process metrics (gauges labelled worker="master") are merged into the workers'
   * families of the same name, because a family name may appear only once in an exposition.
   */
  merge(answered: ReadonlySet<number>, master: MasterFamilies, now = Date.now()): MetricFamily[] {
    this.retireExited(now);
    const table = new FamilyTable();
    for (const family of master.cluster) for (const sample of family.values) table.add(family, sample);
    for (const family of this.retired.families()) for (const sample of family.values) table.add(family, sample);
    addProcessFamilies(table, master.process, { [WORKER_LABEL]: 'master', [GENERATION_LABEL]: String(master.generation) });

    for (const [workerId, snapshot] of this.snapshots) {
      if (answered.has(workerId) && snapshot.exitedAt === null) {
        addProcessFamilies(table, snapshot.families, { [WORKER_LABEL]: String(workerId), [GENERATION_LABEL]: String(snapshot.generation) });
      } else {
        table.addCumulative(snapshot.families);
      }
    }
    return table.families();
  }

  /** Folds the counters of workers that exited long enough ago into the retired sums. */
  private retireExited(now: number): void {
    for (const [workerId, snapshot] of this.snapshots) {
      if (snapshot.exitedAt === null || now - snapshot.exitedAt < RETIRE_DELAY_MS) continue;
      this.retired.addCumulative(snapshot.families);
      this.snapshots.delete(workerId);
      this.retiredIds.add(workerId);
    }
  }
}
