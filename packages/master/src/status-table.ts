// The `aerys-cluster status` table: the snapshot an operator reads at a glance.
import type { ClusterStatus, ReloadStatus } from './status.js';

const COLUMNS = ['WORKER', 'PID', 'GEN', 'STATE', 'UPTIME', 'CONNS', 'REQ/S', 'RSS'] as const;

/** Renders a status snapshot as a few summary lines and one row per worker. */
export function formatStatus(status: ClusterStatus): string {
  const listeners = status.listeners.map((listener) => `${formatAddress(listener.address, listener.port)}${listener.tls ? ' (TLS)' : ''}`).join(', ');
  const rejected = Object.entries(status.connections.rejected)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  const lines = [
    `master      PID ${status.pid}, ${status.state}, generation ${status.generation}, up ${formatDuration(status.uptimeSeconds)}`,
    `listeners   ${listeners || '(none)'}`,
    `connections ${status.connections.open} open, ${status.connections.admitted} admitted, rejected: ${rejected || 'none'}`,
    `last reload ${formatReload(status.lastReload)} (${status.reloads.succeeded} succeeded, ${status.reloads.failed} failed)`,
    '',
  ];

  const rows = status.workers.map((worker) => [
    String(worker.id),
    String(worker.pid),
    String(worker.generation),
    worker.state,
    formatDuration(worker.uptimeSeconds),
    String(worker.connections),
    worker.requestsPerSecond.toFixed(1),
    formatBytes(worker.rssBytes),
  ]);
  const table = [[...COLUMNS], ...rows];
  const widths = COLUMNS.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
  for (const row of table) lines.push(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
  if (rows.length === 0) lines.push('(no workers)');
  return `${lines.join('\n')}\n`;
}

function formatReload(reload: ReloadStatus | null): string {
  if (!reload) return 'none';
  // A failed attempt still used up a generation number, which never served; say so, or the
  // number reads as a contradiction of the master's current generation.
  const outcome =
    reload.result === 'succeeded'
      ? `succeeded, generation ${reload.generation}`
      : `FAILED, attempted generation ${reload.generation} never served: ${reload.error ?? 'unknown error'}`;
  return `${outcome} (at ${reload.at}, ${reload.trigger}, ${(reload.durationMs / 1000).toFixed(1)} s)`;
}

function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Formats seconds as "45s", "12m 5s", "3h 2m" or "4d 1h". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d ${Math.floor((seconds % 86_400) / 3600)}h`;
}

/** Formats bytes in binary units with one decimal: "52.3 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes <= 0) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
