/**
 * A map whose entries expire, on a clock the caller passes to every call (pure: no timers, no I/O). The
 * memory request ledger and the memory claim store's hold records use it, like Redis keys with a PX TTL.
 */

/** How many writes between two sweeps of expired entries (each sweep walks the whole map). */
const PRUNE_EVERY = 1000;

export class ExpiringRecords<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private writes = 0;

  /** The live value of `key` at `now`, or undefined. */
  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > now) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Sets `key` to `value` until `now + ttlMs` (expired entries are dropped every PRUNE_EVERY writes). */
  set(key: string, value: V, ttlMs: number, now: number): void {
    this.entries.set(key, { value, expiresAt: now + ttlMs });
    if (++this.writes % PRUNE_EVERY === 0) {
      for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
