// Rate-limited logging for events that an attacker or a burst can repeat thousands of times a second.
import type { Logger } from '@aerys-cluster/shared';

/**
 * Logs the first occurrence of each key at once, then at most one summary line per interval with
 * the number of occurrences that were not logged.
 */
export class RateLimitedLog {
  private readonly suppressed = new Map<string, number>();
  private readonly lastLogged = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly intervalMs = 1000,
  ) {}

  record(key: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const last = this.lastLogged.get(key) ?? 0;
    if (now - last >= this.intervalMs && !this.suppressed.has(key)) {
      this.lastLogged.set(key, now);
      this.log.warn(fields, this.message);
      return;
    }
    this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs).unref();
  }

  private flush(): void {
    this.timer = null;
    const now = Date.now();
    for (const [key, count] of this.suppressed) {
      this.log.warn({ reason: key, count, intervalMs: this.intervalMs }, `${this.message} (repeated)`);
      this.lastLogged.set(key, now);
    }
    this.suppressed.clear();
  }
}
