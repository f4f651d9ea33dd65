// Settings and shutdown shared by the bare contenders.
import cluster from 'node:cluster';

/**
 * Idle keep-alive timeout of every contender, 65 s, so the idle-connection scenario measures
 * connections that stay open: Node's default (5 s) and aerys-cluster's (6 s) would close them
 * while the client is still opening the rest.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Exits normally on SIGTERM, so a --cpu-prof profile is written. */
export function exitOnTerm() {
  process.on('SIGTERM', () => process.exit(0));
}

/** Forwards SIGTERM to every worker and exits once all of them are gone. */
export function stopWorkersOnTerm() {
  process.on('SIGTERM', () => {
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(0);
    let left = workers.length;
    for (const worker of workers) {
      worker.once('exit', () => {
        if (--left === 0) process.exit(0);
      });
      worker.process.kill('SIGTERM');
    }
  });
}
