/**
 * Storm admission for new handshakes: at most HANDSHAKES_PER_SECOND are admitted per node, with a burst of
 * a tenth of a second's worth. Handshakes over the rate wait in a FIFO and are admitted in arrival order as
 * the rate allows, so a client in a herd just sees a slower connect and needs no retry logic at all. Only
 * when the wait would pass `maxWaitMs` is a handshake refused, with a `retryAfterMs` of about that wait.
 *
 * Why a queue and not a refusal: the stock socket.io-client never retries a handshake refused by server
 * middleware (../shared/MEASURED.md), so refusing at the cap stranded herds; and a refused client that
 * retries still costs an engine handshake each time, where a waiting one costs a timer slot.
 */
import { TokenBucket } from '../../infra/token-bucket.ts';

export type Admission = { ok: true } | { ok: false; retryAfterMs: number };

/** A waiting handshake: admitted later, or given up by its caller (transport closed) with `cancel`. */
export interface AdmissionTicket {
  readonly admitted: Promise<Admission>;
  cancel(): void;
}

export interface AdmissionQueueOptions {
  /** The longest a handshake may wait for its slot; past that it is refused. */
  maxWaitMs: number;
  now?: () => number;
  /** Timer injection for tests; defaults to setTimeout. */
  schedule?: (fn: () => void, ms: number) => void;
}

interface Waiter {
  resolve: (admission: Admission) => void;
  cancelled: boolean;
}

const ADMITTED: Admission = Object.freeze({ ok: true });

export class AdmissionQueue {
  private readonly bucket: TokenBucket;
  private readonly slotMs: number;
  private readonly maxWaitMs: number;
  private readonly schedule: (fn: () => void, ms: number) => void;
  private readonly waiters: Waiter[] = [];
  /** Index of the first waiter still in `waiters` (an array queue that does not shift on every admit). */
  private head = 0;
  /** Waiters not admitted and not cancelled. */
  private live = 0;
  private timerArmed = false;
  private readonly ratePerSecond: number;
  private readonly now: () => number;
  /**
   * Slots owed to waiters: while anyone waits, every 1000 / rate ms adds one, uncapped, so a release that
   * runs late (a busy event loop fires timers late) admits every slot that passed, not only a burst's worth.
   * Reset when the queue empties, so idle time does not build up credit (the bucket's burst covers that).
   */
  private credit = 0;
  private creditedAt = 0;

  constructor(ratePerSecond: number, options: AdmissionQueueOptions) {
    const now = options.now ?? (() => performance.now());
    this.now = now;
    this.ratePerSecond = ratePerSecond;
    this.bucket = new TokenBucket(ratePerSecond, Math.max(1, Math.ceil(ratePerSecond / 10)), now);
    this.slotMs = 1000 / ratePerSecond;
    this.maxWaitMs = options.maxWaitMs;
    this.schedule = options.schedule ?? ((fn, ms) => void setTimeout(fn, ms).unref());
  }

  /** Handshakes waiting for their slot now. */
  get waiting(): number {
    return this.live;
  }

  /** Admits at once when a slot is free and nobody waits; otherwise queues, or refuses when the queue is full. */
  enter(): AdmissionTicket {
    if (this.live === 0 && this.bucket.take() === 0) {
      return { admitted: Promise.resolve(ADMITTED), cancel: () => undefined };
    }
    const expectedWaitMs = (this.live + 1) * this.slotMs;
    if (expectedWaitMs > this.maxWaitMs) {
      return {
        admitted: Promise.resolve({ ok: false, retryAfterMs: Math.ceil(expectedWaitMs) }),
        cancel: () => undefined,
      };
    }
    let waiter!: Waiter;
    const admitted = new Promise<Admission>((resolve) => {
      waiter = { resolve, cancelled: false };
    });
    if (this.live === 0) {
      this.credit = 0;
      this.creditedAt = this.now();
    }
    this.waiters.push(waiter);
    this.live += 1;
    this.arm(this.slotMs);
    return {
      admitted,
      cancel: () => {
        if (waiter.cancelled) return;
        waiter.cancelled = true;
        this.live -= 1;
      },
    };
  }

  private arm(ms: number): void {
    if (this.timerArmed) return;
    this.timerArmed = true;
    this.schedule(
      () => {
        this.timerArmed = false;
        this.release();
      },
      Math.max(1, Math.ceil(ms)),
    );
  }

  /** Admits waiters in order for every slot that passed since the last release; re-arms for the next one. */
  private release(): void {
    const now = this.now();
    this.credit += (Math.max(0, now - this.creditedAt) * this.ratePerSecond) / 1000;
    this.creditedAt = now;
    while (this.head < this.waiters.length) {
      const waiter = this.waiters[this.head];
      if (waiter === undefined) break;
      if (waiter.cancelled) {
        this.head += 1;
        continue;
      }
      if (this.credit < 1) {
        this.arm((1 - this.credit) * this.slotMs);
        break;
      }
      this.credit -= 1;
      this.head += 1;
      this.live -= 1;
      waiter.cancelled = true;
      waiter.resolve(ADMITTED);
    }
    if (this.head === this.waiters.length || this.head > 1024) {
      this.waiters.splice(0, this.head);
      this.head = 0;
    }
  }
}
