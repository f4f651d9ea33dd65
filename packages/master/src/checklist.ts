// The production checklist: settings that validate but are unsafe on this machine. The master logs
// each finding as a warning at start, and `aerys-cluster check` prints the same list without
// starting anything. Every finding carries the numbers it compared and the fix.
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { isLoopback, type Config } from '@aerys-cluster/shared';

/** The facts about the machine that the checks compare against. */
export interface MachineFacts {
  /** Soft limit of open file descriptors of this process, or null when unknown. */
  openFilesLimit: number | null;
  /** Physical memory in bytes. */
  memoryBytes: number;
  cpus: number;
  /** Effective user id, or null on platforms without one. */
  uid: number | null;
}

export type FindingCode =
  | 'open-files-limit'
  | 'stream-buffer-memory'
  | 'body-memory'
  | 'workers-above-cpus'
  | 'admin-not-loopback'
  | 'per-ip-above-max-connections'
  | 'user-without-root';

/** One unsafe setting: what was compared, and what to change. */
export interface Finding {
  code: FindingCode;
  /** The option to change first. */
  option: string;
  message: string;
  fix: string;
  /** The numbers behind the message, for structured logs. */
  values: Record<string, number | string>;
}

/** Descriptors the master and workers need beyond client sockets: IPC channels, logs, files. */
export const DESCRIPTOR_HEADROOM = 100;

/**
 * Reads the soft "Max open files" limit from /proc/self/limits (what `ulimit -n` shows).
 * Returns null where /proc is missing or the limit is "unlimited".
 */
export function readOpenFilesLimit(path = '/proc/self/limits'): number | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const match = /^Max open files\s+(\S+)/m.exec(text);
  if (!match || match[1] === undefined || match[1] === 'unlimited') return null;
  const limit = Number(match[1]);
  return Number.isSafeInteger(limit) ? limit : null;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Formats bytes with a binary unit and one decimal, such as "23.5 GiB"; checks need magnitude, not exactness. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Reads the facts of the machine this process runs on. */
export function machineFacts(): MachineFacts {
  return {
    openFilesLimit: readOpenFilesLimit(),
    memoryBytes: totalmem(),
    cpus: availableParallelism(),
    uid: typeof process.getuid === 'function' ? process.getuid() : null,
  };
}

function checkOpenFiles(config: Readonly<Config>, machine: MachineFacts): Finding | null {
  const needed = config.maxConnections + DESCRIPTOR_HEADROOM;
  if (machine.openFilesLimit === null || machine.openFilesLimit >= needed) return null;
  return {
    code: 'open-files-limit',
    option: 'maxConnections',
    message: `The open files limit (ulimit -n) is ${machine.openFilesLimit}, below maxConnections + ${DESCRIPTOR_HEADROOM} = ${needed}; connections beyond it fail with EMFILE.`,
    fix: `Raise it to at least ${needed} (ulimit -n ${needed}, or LimitNOFILE=${needed} in a systemd unit), or lower maxConnections to ${Math.max(1, machine.openFilesLimit - DESCRIPTOR_HEADROOM)}.`,
    values: { openFilesLimit: machine.openFilesLimit, required: needed, maxConnections: config.maxConnections },
  };
}

function checkStreamMemory(config: Readonly<Config>, machine: MachineFacts): Finding | null {
  // Each stream may buffer softStreamCap in the application's queue and as much again in the socket.
  const worstCase = config.softStreamCap * config.maxConnections * config.maxConcurrentStreams * 2;
  if (worstCase <= machine.memoryBytes) return null;
  const fitting = Math.floor(machine.memoryBytes / (config.maxConnections * config.maxConcurrentStreams * 2));
  return {
    code: 'stream-buffer-memory',
    option: 'softStreamCap',
    message: `Worst-case response buffers softStreamCap x maxConnections x maxConcurrentStreams x 2 = ${config.softStreamCap} x ${config.maxConnections} x ${config.maxConcurrentStreams} x 2 = ${formatBytes(worstCase)}, above the machine's memory of ${formatBytes(machine.memoryBytes)}.`,
    fix:
      fitting >= 1024
        ? `Lower softStreamCap to at most ${fitting} bytes, or lower maxConnections or maxConcurrentStreams.`
        : 'Lower maxConnections or maxConcurrentStreams; softStreamCap cannot go below 1 KiB.',
    values: {
      worstCaseBytes: worstCase,
      memoryBytes: machine.memoryBytes,
      softStreamCap: config.softStreamCap,
      maxConnections: config.maxConnections,
      maxConcurrentStreams: config.maxConcurrentStreams,
    },
  };
}

function checkBodyMemory(config: Readonly<Config>, machine: MachineFacts): Finding | null {
  const worstCase = config.maxBodySize * config.maxConnections;
  if (worstCase <= machine.memoryBytes) return null;
  return {
    code: 'body-memory',
    option: 'maxBodySize',
    message: `Worst-case request bodies maxBodySize x maxConnections = ${config.maxBodySize} x ${config.maxConnections} = ${formatBytes(worstCase)}, above the machine's memory of ${formatBytes(machine.memoryBytes)}.`,
    fix: `Lower maxBodySize to at most ${Math.floor(machine.memoryBytes / config.maxConnections)} bytes, or lower maxConnections; an application can raise the limit for the few routes that need it.`,
    values: { worstCaseBytes: worstCase, memoryBytes: machine.memoryBytes, maxBodySize: config.maxBodySize, maxConnections: config.maxConnections },
  };
}

function checkWorkers(config: Readonly<Config>, machine: MachineFacts): Finding | null {
  if (config.workers <= machine.cpus) return null;
  return {
    code: 'workers-above-cpus',
    option: 'workers',
    message: `workers is ${config.workers}, more than the ${machine.cpus} CPUs; the extra workers compete for the same cores and add context switches.`,
    fix: `Set workers to ${machine.cpus} unless the application blocks on synchronous work.`,
    values: { workers: config.workers, cpus: machine.cpus },
  };
}

function checkAdmin(config: Readonly<Config>): Finding | null {
  if (config.admin === null || isLoopback(config.admin.host)) return null;
  return {
    code: 'admin-not-loopback',
    option: 'admin.host',
    message: `The admin listener (/metrics, /status) listens on ${config.admin.host}, a non-loopback address; anyone who reaches it can read the cluster's state.`,
    fix: 'Set admin.host to 127.0.0.1 and let the metrics collector reach it locally or through a private network.',
    values: { host: config.admin.host, port: config.admin.port },
  };
}

function checkPerIP(config: Readonly<Config>): Finding | null {
  if (config.connectionsPerIP <= config.maxConnections) return null;
  return {
    code: 'per-ip-above-max-connections',
    option: 'connectionsPerIP',
    message: `connectionsPerIP is ${config.connectionsPerIP}, above maxConnections ${config.maxConnections}, so one client address can take every connection.`,
    fix: `Set connectionsPerIP well below maxConnections, for example ${Math.max(1, Math.floor(config.maxConnections / 10))}.`,
    values: { connectionsPerIP: config.connectionsPerIP, maxConnections: config.maxConnections },
  };
}

function checkUser(config: Readonly<Config>, machine: MachineFacts): Finding | null {
  if (config.user === null && config.group === null) return null;
  if (machine.uid === null || machine.uid === 0) return null;
  return {
    code: 'user-without-root',
    option: config.user === null ? 'group' : 'user',
    message: `user/group is set but the master runs as uid ${machine.uid}, not root, so workers cannot switch to it and start as uid ${machine.uid}.`,
    fix: 'Start the master as root, or remove user and group from the configuration.',
    values: { uid: machine.uid, user: config.user ?? '', group: config.group ?? '' },
  };
}

/** Runs every check and returns the findings, in the order the settings reference lists them. */
export function runChecklist(config: Readonly<Config>, machine: MachineFacts = machineFacts()): Finding[] {
  const findings = [
    checkOpenFiles(config, machine),
    checkStreamMemory(config, machine),
    checkBodyMemory(config, machine),
    checkWorkers(config, machine),
    checkAdmin(config),
    checkPerIP(config),
    checkUser(config, machine),
  ];
  return findings.filter((finding): finding is Finding => finding !== null);
}
