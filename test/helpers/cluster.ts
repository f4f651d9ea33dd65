// Starts a real cluster the way an operator does (`aerys-cluster start --config FILE`) and reads
// its JSON log lines, so tests can wait for lifecycle events instead of sleeping.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** The repository root (this file runs from test/dist/helpers). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = join(REPO_ROOT, 'packages/master/bin/aerys-cluster.js');
export const FIXTURES = join(REPO_ROOT, 'test/fixtures');

export interface LogLine {
  level: string;
  msg: string;
  pid: number;
  worker: number | 'master';
  generation: number;
  [field: string]: unknown;
}

export interface StartOptions {
  /** Configuration written to a temporary JSON file; merged over test defaults. */
  config?: Record<string, unknown>;
  /** Extra command-line arguments after `start --config FILE`. */
  args?: string[];
  /** Wait for "cluster ready" (default) or return right after spawning. */
  waitReady?: boolean;
  env?: Record<string, string>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A temporary directory that lives until the test process exits. */
export function tempDir(prefix = 'aerys-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export class TestCluster {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly configPath: string;
  private waiters: Array<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ports: number[] = [];
  /** "host:port" of the admin listener, from "cluster ready"; null when `admin` is false. */
  adminAddress: string | null = null;

  private constructor(
    readonly child: ChildProcess,
    configPath: string,
  ) {
    this.configPath = configPath;
    running.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        resolve({ code, signal });
      });
    });

    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (text) => this.onLine(text));
    const errors = createInterface({ input: child.stderr! });
    errors.on('line', (text) => this.stderr.push(text));
  }

  /** Writes the configuration, starts the CLI and (by default) waits for "cluster ready". */
  static async start(options: StartOptions = {}): Promise<TestCluster> {
    const dir = tempDir();
    const configPath = join(dir, 'aerys.config.json');
    const config = { listen: [{ host: '127.0.0.1', port: 0 }], workers: 2, admin: false, ...options.config };
    writeFileSync(configPath, JSON.stringify(config, null, 2));

    const child = spawn(process.execPath, [CLI, 'start', '--config', configPath, ...(options.args ?? [])], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const cluster = new TestCluster(child, configPath);
    if (options.waitReady !== false) await cluster.ready();
    return cluster;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Waits for "cluster ready" and records the bound ports. */
  async ready(timeoutMs = 20_000): Promise<LogLine> {
    const line = await Promise.race([
      this.waitForLog((l) => l.msg === 'cluster ready', timeoutMs),
      this.exited.then(({ code }) => {
        throw new Error(`cluster exited with code ${code} before it was ready; stderr: ${this.stderr.join('\n')}; logs: ${this.logs.map((l) => l.msg).join(' | ')}`);
      }),
    ]);
    const listeners = line.listeners as Array<{ address: string }>;
    this.ports = listeners.map((l) => Number(l.address.slice(l.address.lastIndexOf(':') + 1)));
    this.adminAddress = typeof line.admin === 'string' ? line.admin : null;
    return line;
  }

  url(path = '/', listener = 0): string {
    return `http://127.0.0.1:${this.ports[listener]}${path}`;
  }

  /** URL on the admin listener; the configuration must enable `admin`. */
  adminUrl(path = '/metrics'): string {
    if (this.adminAddress === null) throw new Error('the admin listener is disabled; start the cluster with admin: { port: 0 }');
    return `http://${this.adminAddress}${path}`;
  }

  get port(): number {
    return this.ports[0] ?? 0;
  }

  /** PIDs of the workers the master reported ready and has not reported gone since. */
  workerPids(): number[] {
    const alive = new Set<number>();
    for (const line of this.logs) {
      if (line.worker !== 'master' || typeof line.workerPid !== 'number') continue;
      if (line.msg === 'worker ready') alive.add(line.workerPid);
      else if (line.msg.startsWith('worker stopped') || line.msg.startsWith('worker crashed') || line.msg.startsWith('worker exited')) alive.delete(line.workerPid);
    }
    return [...alive];
  }

  /** Resolves with the first log line (already seen or future) that matches. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const seen = this.logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return this.nextLog(predicate, timeoutMs);
  }

  /** Resolves with the next future log line that matches. */
  nextLog(predicate: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line; last lines: ${this.logs.slice(-8).map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      const waiter = {
        predicate,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.waiters.push(waiter);
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Resolves with the exit status; rejects after the timeout. */
  async waitExit(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`cluster did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the cluster with SIGTERM and waits for it; kills it when it does not exit in time. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.signal('SIGTERM');
    try {
      return await this.waitExit();
    } catch (error) {
      this.child.kill('SIGKILL');
      throw error;
    }
  }

  private onLine(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      this.stderr.push(text);
      return;
    }
    this.logs.push(line);
    for (const waiter of [...this.waiters]) {
      if (!waiter.predicate(line)) continue;
      this.waiters = this.waiters.filter((w) => w !== waiter);
      waiter.resolve(line);
    }
  }
}

/** Writes `text` to a new temporary file and returns its path. */
export function writeTemp(name: string, text: string): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  return path;
}
