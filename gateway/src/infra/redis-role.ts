/**
 * Whether a Redis connection can do a store's job right now, for `/readyz`: answering PING is not enough,
 * since a read-only replica answers it (and refuses every write) and so does a Sentinel (which knows none
 * of our commands). ROLE tells the three apart in one cheap round trip.
 */
import type { RedisLike } from './redis.ts';

/** A readiness check's failure, with the short state `/readyz` shows for it and a reason for the log. */
export class NotReadyError extends Error {
  override readonly name = 'NotReadyError';
  /**
   * `unavailable` (no answer), `replica` (a read-only replica), `sentinel` (a Sentinel, not a Redis
   * server), `not-subscribed` (a pub/sub connection without its subscriptions).
   */
  readonly state: string;
  constructor(state: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.state = state;
  }
}

/**
 * Resolves when `redis` is connected to a primary (ROLE `master`); rejects with a NotReadyError naming a
 * replica, a Sentinel, or no answer. On Redis Cluster the command reaches a primary (the client routes to
 * primaries), so this checks the connection is up.
 */
export async function assertWritable(redis: RedisLike): Promise<void> {
  let reply: unknown;
  try {
    reply = await redis.call('ROLE');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new NotReadyError('unavailable', `Redis does not answer: ${reason}`, { cause: err });
  }
  const [role, host, port] = Array.isArray(reply) ? (reply as unknown[]) : [];
  if (role === 'master') return;
  if (role === 'slave') {
    throw new NotReadyError(
      'replica',
      `connected to a read-only replica (of ${String(host)}:${String(port)}), not the primary: every write fails`,
    );
  }
  if (role === 'sentinel') {
    throw new NotReadyError(
      'sentinel',
      'connected to a Sentinel, not a Redis server: give sentinel addresses in REDIS_SENTINELS, not REDIS_URL',
    );
  }
  throw new NotReadyError('unavailable', `unexpected ROLE reply: ${String(role)}`);
}
