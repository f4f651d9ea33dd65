// Worker identity: with `user` (and optionally `group`) set and the master running as root, the
// master binds the listeners (ports below 1024 included) and forks workers that switch to that
// user before any of their code runs (node:cluster's uid/gid settings, applied by libuv between
// fork and exec, which also drops supplementary groups).
import { execFileSync } from 'node:child_process';
import { ConfigError, type Config } from '@aerys-cluster/shared';

export interface WorkerIdentity {
  uid: number;
  gid: number;
}

/** Looks up one entry with getent, so NSS sources (LDAP, systemd-userdb) count as well as /etc files. */
function getent(database: 'passwd' | 'group', name: string): string[] | null {
  try {
    const line = execFileSync('getent', [database, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return line.trim().split('\n')[0]?.split(':') ?? null;
  } catch {
    return null;
  }
}

function lookupUser(name: string): { uid: number; gid: number } {
  if (/^\d+$/.test(name)) return { uid: Number(name), gid: Number(getent('passwd', name)?.[3] ?? name) };
  const entry = getent('passwd', name);
  if (!entry || entry[2] === undefined || entry[3] === undefined) {
    throw new ConfigError('AERYS_CONFIG_INVALID_VALUE', 'user', `Invalid value for option "user": user "${name}" does not exist on this machine. Create it or name an existing user.`);
  }
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

function lookupGroup(name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const entry = getent('group', name);
  if (!entry || entry[2] === undefined) {
    throw new ConfigError('AERYS_CONFIG_INVALID_VALUE', 'group', `Invalid value for option "group": group "${name}" does not exist on this machine. Create it or name an existing group.`);
  }
  return Number(entry[2]);
}

const cache = new WeakMap<object, WorkerIdentity | null>();

/** Returns workerIdentity(config), looked up once per configuration object. */
export function cachedWorkerIdentity(config: Readonly<Config>): WorkerIdentity | null {
  if (!cache.has(config)) cache.set(config, workerIdentity(config));
  return cache.get(config) ?? null;
}

/**
 * Returns the uid and gid workers run as, or null when they keep the master's identity: no
 * `user`/`group` is set, or the master is not root and cannot switch (the checklist warns).
 * Throws ConfigError for an unknown user or group, and for a user that resolves to root.
 */
export function workerIdentity(config: Pick<Config, 'user' | 'group'>, masterUid: number | null = process.getuid?.() ?? null): WorkerIdentity | null {
  if (config.user === null && config.group === null) return null;
  if (masterUid !== 0) return null;

  const user = config.user === null ? { uid: 0, gid: 0 } : lookupUser(config.user);
  const gid = config.group === null ? user.gid : lookupGroup(config.group);
  if (config.user !== null && user.uid === 0) {
    throw new ConfigError('AERYS_CONFIG_INVALID_VALUE', 'user', `Invalid value for option "user": "${config.user}" is root, and workers must not run as root. Name an unprivileged user such as "nobody".`);
  }
  return { uid: user.uid, gid };
}
