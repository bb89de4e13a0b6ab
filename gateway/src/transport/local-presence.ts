/**
 * Which users have sockets on this node, counted locally: the set whose session TTLs this node keeps
 * extending while they stay connected (so a user connected longer than SESSION_TTL_SECONDS keeps the session).
 */
import type { UserId } from '@stayline/client-sdk/protocol';

export class LocalPresence {
  private readonly sockets = new Map<UserId, number>();
  private total = 0;
  private emptyWaiters: (() => void)[] = [];

  add(userId: UserId): void {
    this.sockets.set(userId, (this.sockets.get(userId) ?? 0) + 1);
    this.total++;
  }

  remove(userId: UserId): void {
    const left = (this.sockets.get(userId) ?? 0) - 1;
    if (left > 0) this.sockets.set(userId, left);
    else this.sockets.delete(userId);
    this.total--;
    if (this.total === 0) for (const wake of this.emptyWaiters.splice(0)) wake();
  }

  /** Resolves true once no socket is left on this node, or false after `timeoutMs`. */
  whenEmpty(timeoutMs: number): Promise<boolean> {
    if (this.total === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.emptyWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  users(): UserId[] {
    return [...this.sockets.keys()];
  }

  get socketCount(): number {
    return this.total;
  }
}
