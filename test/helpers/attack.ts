// Helpers for the hardening tests: a second loopback source address for an attack tool that
// cannot bind one itself, a steady client that measures latency, and a socket census from ss.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'node:http';

/** True when the test process runs as root (routes, port 80 and user switching need it). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** True when `command` is on the PATH. */
export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Adds a local route so that connections to `target` (a 127/8 address) leave from `source`.
 * Tools such as slowhttptest have no option for a source address; with this route the server
 * sees `source` as their peer. Returns a function that removes the route again.
 */
export function routeFrom(target: string, source: string): () => void {
  const args = ['route', 'replace', 'local', `${target}/32`, 'dev', 'lo', 'src', source, 'table', 'local'];
  execFileSync('ip', args);
  return () => {
    try {
      execFileSync('ip', ['route', 'del', 'local', `${target}/32`, 'dev', 'lo', 'table', 'local']);
    } catch {
      // Already removed.
    }
  };
}

export interface LatencyReport {
  latencies: number[];
  failures: string[];
  p99: number;
}

function once(url: string, localAddress: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, localAddress, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Sends one request on a fresh connection every `intervalMs` from `localAddress` until `stop`
 * resolves, and reports every latency and failure. Requests overlap when one is slow, so a slow
 * server shows up as latency rather than as fewer samples.
 */
export async function steadyClient(url: string, localAddress: string, intervalMs: number, stop: Promise<unknown>): Promise<LatencyReport> {
  const latencies: number[] = [];
  const failures: string[] = [];
  const pending: Promise<void>[] = [];
  let running = true;
  void stop.then(() => (running = false));

  while (running) {
    pending.push(
      once(url, localAddress, 5000).then(
        (ms) => void latencies.push(ms),
        (error: Error) => void failures.push(error.message),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  await Promise.all(pending);

  const sorted = [...latencies].sort((a, b) => a - b);
  const p99 = sorted.length === 0 ? Infinity : (sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? Infinity);
  return { latencies, failures, p99 };
}

/**
 * Counts established TCP sockets on local `port` whose peer is `peer` and that a process in
 * `pids` holds, from `ss -tnp`. Sockets still in the kernel's accept queue belong to no process
 * and are not counted: the server has not taken them yet.
 */
export async function countServerSockets(port: number, peer: string, pids: readonly number[]): Promise<number> {
  // Asynchronous, so the census does not stall the latency client that shares this event loop.
  const { stdout: output } = await promisify(execFile)('ss', ['-tnpH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  let count = 0;
  for (const line of output.split('\n')) {
    const columns = line.trim().split(/\s+/);
    const remote = columns[3] ?? '';
    if (!remote.startsWith(`${peer}:`)) continue;
    if (pids.some((pid) => line.includes(`pid=${pid},`))) count++;
  }
  return count;
}

/** Runs a command to completion (bounded by `timeoutMs`) and returns its exit code and output. */
export function runTool(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
