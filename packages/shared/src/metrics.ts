// Metric names, label values and the JSON form in which workers send their metrics to the
// master. The JSON form is the one prom-client's Registry.getMetricsAsJSON() returns, so a worker
// can send its registry as it is.

/** Metric names, one place for the worker that records and the master that serves them. */
export const METRIC = {
  // Worker metrics; the master aggregates them across workers.
  httpRequests: 'aerys_http_requests_total',
  httpRequestDuration: 'aerys_http_request_duration_seconds',
  httpReceivedBytes: 'aerys_http_received_bytes_total',
  httpSentBytes: 'aerys_http_sent_bytes_total',
  httpConnectionsOpen: 'aerys_http_connections_open',
  httpLimitRejections: 'aerys_http_limit_rejections_total',
  clientCloses: 'aerys_client_closes_total',
  websocketConnectionsOpen: 'aerys_websocket_connections_open',
  websocketConnections: 'aerys_websocket_connections_total',
  websocketMessages: 'aerys_websocket_messages_total',

  // Master metrics.
  workers: 'aerys_workers',
  workerRestarts: 'aerys_worker_restarts_total',
  reloads: 'aerys_reloads_total',
  connectionsAdmitted: 'aerys_connections_admitted_total',
  connectionsRejected: 'aerys_connections_rejected_total',
  connectionsOpen: 'aerys_connections_open',
  workerConnectionsOpen: 'aerys_worker_connections_open',
  clientPrefixes: 'aerys_client_prefixes',
  scrapeDuration: 'aerys_metrics_scrape_duration_seconds',
  scrapeWorkerTimeouts: 'aerys_metrics_scrape_worker_timeouts_total',
} as const;

/** Label that names the process a per-process series comes from: a worker id, or "master". */
export const WORKER_LABEL = 'worker';
export const GENERATION_LABEL = 'generation';

export type HttpProtocol = 'http1' | 'h2';
export type LimitKind = 'body' | 'header';
export type RestartReason = 'crash' | 'timeout' | 'memory' | 'recycle';
export type ReloadResult = 'succeeded' | 'failed';
export type WebSocketDirection = 'received' | 'sent';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** One sample. Histogram samples carry `metricName` (`x_bucket`, `x_sum`, `x_count`). */
export interface MetricSample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** A metric family in prom-client's JSON form. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  values: MetricSample[];
}

const METRIC_TYPES: ReadonlySet<string> = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary']);

/** True for a value shaped like a MetricFamily; the master checks what arrives over IPC. */
export function isMetricFamily(value: unknown): value is MetricFamily {
  if (typeof value !== 'object' || value === null) return false;
  const family = value as Partial<Record<keyof MetricFamily, unknown>>;
  return (
    typeof family.name === 'string' &&
    typeof family.help === 'string' &&
    typeof family.type === 'string' &&
    METRIC_TYPES.has(family.type) &&
    Array.isArray(family.values)
  );
}
