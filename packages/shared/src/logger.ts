// The pino logger factory for master and workers, so every line carries the same base fields.
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** Which process writes: "master", or the worker's id. */
  worker: number | 'master';
  generation: number;
}

/**
 * Creates a JSON logger writing to stdout. Every line has `pid`, `worker` and `generation`, so
 * lines from all processes of one cluster can be interleaved in one stream and still be told apart.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino({
    level: options.level,
    base: { pid: process.pid, worker: options.worker, generation: options.generation },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
    },
  });
}
