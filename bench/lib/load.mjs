// Load generators: wrk for HTTP/1.1 and h2load for HTTP/2. Each run is bounded by its duration
// plus a grace period, and returns one measurement: requests per second, latency percentiles in
// milliseconds, and the number of errors (socket errors, failed requests, non-2xx/3xx statuses).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPEN_FILES } from './processes.mjs';
import { percentile } from './stats.mjs';

/** Time a load generator may run past its duration before it is killed. */
const GRACE_MS = 30_000;

function run(command, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(
      'sh',
      ['-c', `ulimit -n ${OPEN_FILES} 2>/dev/null; exec "$@"`, 'sh', command, ...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}${stdout}`.trim()));
        else resolve(stdout);
      },
    );
  });
}

const DURATION_UNITS = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Converts wrk's "1.23ms", "850.00us" or "2.01s" to milliseconds. */
export function parseWrkDuration(text) {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`Unexpected wrk duration "${text}".`);
  return Number(match[1]) * DURATION_UNITS[match[2]];
}

/** Reads requests per second, p50/p99 latency and error counts from wrk's --latency output. */
export function parseWrk(output) {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  if (!rps) throw new Error(`wrk printed no Requests/sec line:\n${output}`);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output);
  const p99 = /^\s+99%\s+(\S+)/m.exec(output);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const status = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const requests = /^\s+(\d+) requests in/m.exec(output);

  const errors = {
    connect: socket ? Number(socket[1]) : 0,
    read: socket ? Number(socket[2]) : 0,
    write: socket ? Number(socket[3]) : 0,
    timeout: socket ? Number(socket[4]) : 0,
    status: status ? Number(status[1]) : 0,
  };
  return {
    rps: Number(rps[1]),
    requests: requests ? Number(requests[1]) : 0,
    p50: p50 ? parseWrkDuration(p50[1]) : null,
    p99: p99 ? parseWrkDuration(p99[1]) : null,
    errors: Object.values(errors).reduce((sum, count) => sum + count, 0),
    errorDetail: errors,
  };
}

/**
 * Runs wrk with one thread (the server needs the other cores more than wrk does) and the given
 * connections against `url`. `close` sends `Connection: close`, so every request opens a
 * new connection.
 */
export async function wrk({ url, connections, duration, close = false }) {
  const args = ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', '--timeout', '10s'];
  if (close) args.push('-H', 'Connection: close');
  args.push(url);
  return parseWrk(await run('wrk', args, duration * 1000 + GRACE_MS));
}

/** Reads the summary of h2load: requests per second and failed or errored requests. */
export function parseH2load(output) {
  const finished = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(output);
  if (!finished) throw new Error(`h2load printed no "finished in" line:\n${output}`);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(output);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output);
  const failed = requests ? Number(requests[5]) + Number(requests[6]) + Number(requests[7]) : 0;
  const badStatus = status ? Number(status[3]) + Number(status[4]) : 0;
  return {
    rps: Number(finished[1]),
    requests: requests ? Number(requests[4]) : 0,
    errors: failed + badStatus,
    errorDetail: { failed, status: badStatus },
  };
}

/**
 * Runs h2load with `clients` connections of `streams` concurrent streams each, for `duration`
 * seconds. An http:// URL is h2c with prior knowledge, https:// negotiates h2 by ALPN. The
 * per-request log gives the latency percentiles, which h2load's summary does not print.
 */
export async function h2load({ url, clients, streams, duration }) {
  const dir = mkdtempSync(join(tmpdir(), 'aerys-bench-h2load-'));
  const log = join(dir, 'requests.tsv');
  try {
    const output = await run('h2load', ['-c', String(clients), '-m', String(streams), '-t', '1', '-D', String(duration), `--log-file=${log}`, url], duration * 1000 + GRACE_MS);
    const result = parseH2load(output);
    const latencies = readFileSync(log, 'utf8')
      .split('\n')
      .map((line) => line.split('\t'))
      .filter((columns) => columns.length >= 3 && columns[1] !== '-1')
      .map((columns) => Number(columns[2]) / 1000)
      .sort((a, b) => a - b);
    return { ...result, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
