// The pino logger factory for master and workers, so every line carries the same base fields.
import { pino, type Logger } from 'pino';
import { LOG_FORMAT_ENV, prettyDestination, resolveLogFormat } from './log-format.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** Writing process: "master", or the worker's id. */
  worker: number | 'master';
  generation: number;
}

/**
 * Creates a logger writing to stdout. Every line has `pid`, `worker` and `generation`, so
 * lines from all processes of one cluster can be interleaved in one stream and still be distinguished.
 * Lines are JSON unless stdout is a terminal or AERYS_LOG_FORMAT is `pretty`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    base: { pid: process.pid, worker: options.worker, generation: options.generation },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label: string) => ({ level: label }),
    },
  };
  const format = resolveLogFormat(process.env[LOG_FORMAT_ENV], process.stdout.isTTY === true);
  return format === 'pretty' ? pino(settings, prettyDestination()) : pino(settings);
}
