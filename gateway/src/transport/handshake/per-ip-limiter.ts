/**
 * Handshakes per client IP (HANDSHAKES_PER_IP_PER_SECOND): one address cannot fill a node's admission
 * queue and crowd out everyone else. One token bucket per address, in a map bounded by `maxAddresses`:
 * past that the least recently seen address is forgotten (it starts again with a full burst, which only
 * errs on the side of admitting).
 */
import { TokenBucket } from '../../infra/token-bucket.ts';

export class PerIpLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxAddresses = 100_000,
  ) {}

  /** 0 when this address may handshake now, else the milliseconds until it may. */
  take(address: string): number {
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxAddresses) {
        const oldest = this.buckets.keys().next();
        if (oldest.done !== true) this.buckets.delete(oldest.value);
      }
      bucket = new TokenBucket(this.ratePerSecond, this.burst, this.now);
    } else {
      // Re-inserted so the map's order stays "least recently seen first".
      this.buckets.delete(address);
    }
    this.buckets.set(address, bucket);
    return bucket.take();
  }

  get size(): number {
    return this.buckets.size;
  }
}
