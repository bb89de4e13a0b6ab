/**
 * A token bucket with an injected clock: `rate` tokens per second, at most `burst` saved up.
 * Used for events per socket and handshakes per node; pure, so it is tested with a fake clock.
 * The default clock is monotonic (performance.now), and a clock that steps back refills nothing instead
 * of locking everyone out until it catches up.
 */
/** The default clock, one function for every bucket. */
const monotonic = (): number => performance.now();

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = monotonic,
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Takes one token; returns 0 when granted, else the milliseconds until a token will be available. */
  take(): number {
    const now = this.now();
    const elapsedMs = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }
}
