// Human-readable log lines for a terminal. pino writes JSON; this destination turns each JSON line
// into `time level worker msg key=value ...`, so an operator reading a terminal sees the same
// fields as a log collector, without a runtime dependency on pino-pretty.

/** Log line format: JSON for collectors, `pretty` for people at a terminal. */
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** Environment variable that carries the master's resolved format to the workers it forks. */
export const LOG_FORMAT_ENV = 'AERYS_LOG_FORMAT';

/** Fields every line has; the pretty format prints them in fixed columns instead of as key=value. */
const COLUMN_FIELDS = new Set(['time', 'level', 'pid', 'worker', 'generation', 'msg']);

const LEVEL_COLORS: Record<string, string> = {
  fatal: '\x1b[35m',
  error: '\x1b[31m',
  warn: '\x1b[33m',
  info: '\x1b[32m',
  debug: '\x1b[36m',
  trace: '\x1b[90m',
};
const RESET = '\x1b[0m';

/**
 * Resolves `auto` (or an unset value) to `pretty` when stdout is a terminal and `json` otherwise.
 * Workers inherit the master's stdout, so they resolve to the same format.
 */
export function resolveLogFormat(requested: string | undefined, isTTY: boolean): LogFormat {
  if (requested === 'json' || requested === 'pretty') return requested;
  return isTTY ? 'pretty' : 'json';
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object') {
    // An error serialised by pino reads better as its stack than as a JSON object.
    const error = value as { type?: unknown; message?: unknown; stack?: unknown };
    if (typeof error.stack === 'string') return `\n    ${error.stack.split('\n').join('\n    ')}`;
    if (typeof error.message === 'string' && typeof error.type === 'string') return JSON.stringify(`${error.type}: ${error.message}`);
  }
  return JSON.stringify(value) ?? String(value);
}

/** Time of day with milliseconds, from pino's ISO timestamp; the date adds nothing at a terminal. */
function formatTime(time: unknown): string {
  if (typeof time !== 'string') return '--:--:--.---';
  const match = /T(\d\d:\d\d:\d\d\.\d\d\d)/.exec(time);
  return match?.[1] ?? time;
}

/** Formats one pino JSON line; a line that is not JSON is returned unchanged. */
export function formatLogLine(json: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }

  const level = String(entry.level ?? 'info');
  const levelText = level.toUpperCase().padEnd(5);
  const coloredLevel = color ? `${LEVEL_COLORS[level] ?? ''}${levelText}${RESET}` : levelText;
  const worker = entry.worker === 'master' ? 'master' : `w${String(entry.worker)}/g${String(entry.generation)}`;

  let text = `${formatTime(entry.time)} ${coloredLevel} ${worker.padEnd(8)} ${String(entry.msg ?? '')}`;
  for (const [key, value] of Object.entries(entry)) {
    if (COLUMN_FIELDS.has(key) || value === undefined) continue;
    text += ` ${key}=${formatValue(value)}`;
  }
  return `${text}\n`;
}

/** Creates a pino destination that writes pretty lines to `output` (stdout by default). */
export function prettyDestination(output: NodeJS.WritableStream = process.stdout): { write(line: string): void } {
  const color = process.env.NO_COLOR === undefined || process.env.NO_COLOR === '';
  return {
    write(line: string): void {
      output.write(formatLogLine(line, color));
    },
  };
}
