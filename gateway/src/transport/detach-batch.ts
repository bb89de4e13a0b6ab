/**
 * The detaches of sockets that left, sent to the store a few milliseconds late, together. A detach is off
 * every client's critical path (nobody waits for its answer), but each one sent on its own cost the node a
 * socket write to Redis, and on loopback a write costs the writer the receiver's TCP path too: at a
 * thousand closes a second they were a tenth of the node's CPU (docs/benchmarks.md §11). Batched over
 * `windowMs`, the detaches of a burst of closes leave in one write (infra/redis.ts corks each turn's
 * commands). The cost: a session's socket stays listed up to `windowMs` longer, so a user already at
 * MAX_CONNECTIONS_PER_USER who closes one tab and opens another within that window is refused as before a
 * detach. `flush()` sends what waits at once (the node's shutdown, before it forgets itself).
 */
export class DetachBatch {
  private waiting: [userId: string, socketId: string][] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `send` never rejects: it records a failed detach for housekeeping's retry itself. */
  constructor(
    private readonly send: (userId: string, socketId: string) => Promise<void>,
    private readonly windowMs: number,
  ) {}

  /** Queues a detach; the first of a window starts its timer. */
  add(userId: string, socketId: string): void {
    this.waiting.push([userId, socketId]);
    this.timer ??= setTimeout(() => void this.flush(), this.windowMs);
  }

  /** How many detaches wait for the next flush. */
  get size(): number {
    return this.waiting.length;
  }

  /** Sends every waiting detach now, in one turn; resolves once each has been answered. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    return Promise.all(batch.map(([userId, socketId]) => this.send(userId, socketId))).then(() => undefined);
  }
}
