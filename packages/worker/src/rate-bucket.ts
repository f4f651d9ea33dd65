// A token bucket: `capacity` tokens, refilled at `perSecond`. A peer may burst up to the capacity
// and sustain the refill rate; take() fails once it has used more than that.
export class RateBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    now: number = performance.now(),
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  /** Takes `count` tokens; returns false when the bucket does not hold that many. */
  take(count: number, now: number = performance.now()): boolean {
    const elapsedSeconds = (now - this.updatedAt) / 1000;
    this.updatedAt = now;
    this.tokens = Math.min(this.capacity, this.tokens + elapsedSeconds * this.perSecond);
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }
}
