// Crash back-off for worker restarts. Every crash doubles the delay before the next replacement,
// up to a cap, so a crash loop costs one fork per cap interval instead of spinning the CPU. The
// count resets once the cluster ran a stable period without a crash.

/** Shortest stable period; a cap longer than half of it stretches the period to twice the cap. */
const MIN_STABLE_PERIOD = 60_000;

export interface BackoffOptions {
  /** Delay before the first restart, in milliseconds. */
  restartDelay: number;
  /** Maximum delay, in milliseconds. */
  maxRestartDelay: number;
}

export class RestartBackoff {
  /** Crashes since the last stable period. */
  private crashes = 0;
  /** Date.now() of the last crash, or 0 before the first one. */
  private lastCrashAt = 0;

  constructor(private options: BackoffOptions) {}

  /** Applies a reloaded configuration; the crash count is kept, the next delay uses the new bounds. */
  configure(options: BackoffOptions): void {
    this.options = options;
  }

  /** Milliseconds without a crash after which the count starts over. */
  get stablePeriod(): number {
    return Math.max(MIN_STABLE_PERIOD, 2 * this.options.maxRestartDelay);
  }

  /** Records a crash at `now` and returns the delay before its replacement is forked. */
  recordCrash(now: number): { delayMs: number; crashes: number } {
    if (this.lastCrashAt !== 0 && now - this.lastCrashAt >= this.stablePeriod) this.crashes = 0;
    this.lastCrashAt = now;
    this.crashes++;

    const { restartDelay, maxRestartDelay } = this.options;
    // 2 ** 40 already exceeds every accepted cap, so larger exponents cannot overflow to Infinity.
    const exponent = Math.min(this.crashes - 1, 40);
    const delayMs = Math.min(maxRestartDelay, restartDelay * 2 ** exponent);
    return { delayMs, crashes: this.crashes };
  }
}
