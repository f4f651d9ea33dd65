// Starting and stopping the processes of a contender, free ports, readiness, and the resident
// memory of a whole process tree.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Open files allowed in every process the runner starts. The idle-connection scenario keeps
 * 10,000 sockets open in the client and as many in the server; root may raise the hard limit, anyone
 * else keeps the current limit (the shell prints nothing and the command runs anyway).
 */
export const OPEN_FILES = 65_536;

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `command` with the open-file limit raised. stdout and stderr are kept (last 64 KiB) for
 * error messages; `onLine` receives each stdout line.
 */
export function startProcess(command, args, { env = {}, cwd, onLine } = {}) {
  const child = spawn('sh', ['-c', `ulimit -n ${OPEN_FILES} 2>/dev/null; exec "$@"`, 'sh', command, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  const output = { text: '' };
  const keep = (chunk) => {
    output.text = (output.text + chunk.toString()).slice(-64 * 1024);
  };
  let pending = '';
  child.stdout.on('data', (chunk) => {
    keep(chunk);
    if (!onLine) return;
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) onLine(line);
  });
  child.stderr.on('data', keep);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.output = output;
  return child;
}

/** Sends SIGTERM, then SIGKILL to the whole tree after `graceMs`; resolves once the root exited. */
export async function stopProcess(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const tree = processTree(child.pid);
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }, graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Children of each process, read from /proc/PID/stat (Linux). */
function childrenByParent() {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name in parentheses may contain spaces; the parent PID is the second field after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const parent = Number(fields[1]);
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(Number(entry));
  }
  return children;
}

/** Returns the PID and every descendant of it. */
export function processTree(root) {
  const children = childrenByParent();
  const tree = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift();
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Resident set size in bytes of one process, or 0 when it is gone. */
export function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Sum of the resident set sizes of `roots` and all their descendants, in bytes. */
export function treeRss(roots) {
  let total = 0;
  for (const root of roots) for (const pid of processTree(root)) total += rssOf(pid);
  return total;
}

/** Clock ticks per second of /proc/PID/stat times; 100 on every Linux architecture Node supports. */
const CLOCK_TICKS = 100;

/** CPU time (user + system) in seconds that one process used so far, or 0 when it is gone. */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 0, utime field 11, stime field 12.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU seconds of each process in the trees of `roots`, by PID. */
export function treeCpu(roots) {
  const times = new Map();
  for (const root of roots) for (const pid of processTree(root)) times.set(pid, cpuSecondsOf(pid));
  return times;
}

/**
 * CPU time spent between two treeCpu() readings: by the roots (master, primary or daemon) and by
 * all processes together. Processes that appeared in between count from zero.
 */
export function cpuSpent(before, after, roots) {
  let total = 0;
  let root = 0;
  for (const [pid, seconds] of after) {
    const spent = seconds - (before.get(pid) ?? 0);
    total += spent;
    if (roots.includes(pid)) root += spent;
  }
  return { root, total };
}
