// The control socket path. The master and the `reload`, `stop` and `status` commands run
// the same rules, so a command finds the master from the same flags or configuration file.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Suffix appended to the PID file path when `controlSocket` is not set. */
export const CONTROL_SOCKET_SUFFIX = '.sock';

export interface ControlSocketSource {
  controlSocket: string | null;
  pidFile: string | null;
  /** Absolute path of the configuration file the master was started with, if any. */
  configFile: string | null;
}

/**
 * Returns the control socket path: `controlSocket`, else the PID file path + ".sock", else a path
 * in $XDG_RUNTIME_DIR (or the temporary directory) derived from the configuration file path, or
 * from the working directory when the cluster runs from flags only. The derived name is a hash,
 * so two clusters started from different files never share a socket.
 */
export function controlSocketPath(source: ControlSocketSource): string {
  if (source.controlSocket) return source.controlSocket;
  if (source.pidFile) return `${source.pidFile}${CONTROL_SOCKET_SUFFIX}`;

  const identity = source.configFile ? `config:${resolve(source.configFile)}` : `cwd:${process.cwd()}`;
  const digest = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = process.env.XDG_RUNTIME_DIR || tmpdir();
  return join(dir, `aerys-cluster-${uid}-${digest}${CONTROL_SOCKET_SUFFIX}`);
}
