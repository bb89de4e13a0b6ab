/**
 * Counts a socket's requests between arrival and ack, so a drain closes a socket only once what it asked
 * for has been answered ("acks in flight complete").
 */
export class Inflight {
  private count = 0;
  /** Made on first wait: most sockets are never waited for. */
  private waiters: (() => void)[] | undefined;

  begin(): void {
    this.count++;
  }

  end(): void {
    this.count = Math.max(0, this.count - 1);
    if (this.count === 0 && this.waiters !== undefined) for (const wake of this.waiters.splice(0)) wake();
  }

  get size(): number {
    return this.count;
  }

  /** Resolves true when nothing is in flight, or false after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      (this.waiters ??= []).push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
