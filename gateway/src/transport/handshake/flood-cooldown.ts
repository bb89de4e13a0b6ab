/**
 * Users recently cut off for flooding on this node, and for how much longer their handshakes are refused.
 * A flooder's loop reconnects at once and starts again: each round cost a handshake, a session attach, a
 * restore and a few hundred refused events before the next cut. While cooling down, its handshake is
 * refused right after the token check (RATE_LIMITED with retryAfterMs: a closed transport for a stock
 * client), which costs almost nothing. Node-local on purpose: a sticky load balancer sends the flooder back
 * here, and a store write per cut would hand the flooder a lever on Redis.
 */
export class FloodCooldown {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly cooldownMs: number,
    private readonly now: () => number = () => performance.now(),
    /** Bound on remembered users; past it the oldest entry is forgotten. */
    private readonly maxUsers = 10_000,
  ) {}

  /** Starts (or restarts) the cooldown of `userId`. */
  cut(userId: string): void {
    this.until.delete(userId);
    if (this.until.size >= this.maxUsers) {
      const oldest = this.until.keys().next();
      if (oldest.done !== true) this.until.delete(oldest.value);
    }
    this.until.set(userId, this.now() + this.cooldownMs);
  }

  /** Milliseconds left in the cooldown of `userId`; 0 when it may connect. */
  remainingMs(userId: string): number {
    const until = this.until.get(userId);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left > 0) return Math.ceil(left);
    this.until.delete(userId);
    return 0;
  }
}
