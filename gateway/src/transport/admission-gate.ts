/**
 * Storm admission control for new handshakes: at most HANDSHAKES_PER_SECOND are admitted, with a small
 * burst. A refused client is given a `retryAfterMs` that reserves it a future slot: refusals are spread
 * over time at the admission rate, so a thousand clients arriving in one second come back in a steady
 * stream at the cap instead of in one wave of timeouts (the SDK adds jitter on top).
 */
import { TokenBucket } from '../infra/token-bucket.ts';

export type Admission = { ok: true } | { ok: false; retryAfterMs: number };

export class AdmissionGate {
  private readonly bucket: TokenBucket;
  private readonly slotMs: number;
  /** The latest slot promised to a refused client (monotonic ms). */
  private reservedUntil = 0;

  constructor(
    ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
    /** How far ahead a slot may be promised; past it, clients are told to come back then. */
    private readonly maxWaitMs = 30_000,
  ) {
    // A tenth of a second's worth of burst: the accepted rate over any second stays within 10 % of the cap.
    this.bucket = new TokenBucket(ratePerSecond, Math.max(1, Math.ceil(ratePerSecond / 10)), now);
    this.slotMs = 1000 / ratePerSecond;
  }

  tryAdmit(): Admission {
    if (this.bucket.take() === 0) return { ok: true };
    const now = this.now();
    this.reservedUntil = Math.min(Math.max(this.reservedUntil, now) + this.slotMs, now + this.maxWaitMs);
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(this.reservedUntil - now)) };
  }
}
