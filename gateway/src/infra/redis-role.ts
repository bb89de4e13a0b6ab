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
   * server), `not-loadable` (the Lua scripts cannot be loaded), `not-subscribed` (a pub/sub connection
   * without its subscriptions).
   */
  readonly state: string;
  constructor(state: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.state = state;
  }
}

/**
 * How long a replica or Sentinel answer keeps naming a client that is between connections. A client on a
 * replica reconnects at each READONLY (infra/redis.ts, to follow a failover) and lands on the replica
 * again: a probe in that gap would otherwise flap between `replica` and `unavailable`.
 */
const REMEMBER_ROLE_MS = 10_000;

/** The last role answer per client that was not `master`, with when it came. */
const lastWrongRole = new WeakMap<RedisLike, { error: NotReadyError; at: number }>();

/**
 * Resolves when `redis` is connected to a primary (ROLE `master`); rejects with a NotReadyError naming a
 * replica, a Sentinel, or no answer. On Redis Cluster the command reaches a primary (the client routes to
 * primaries), so this checks the connection is up.
 */
export async function assertWritable(redis: RedisLike, now: () => number = Date.now): Promise<void> {
  let reply: unknown;
  try {
    reply = await redis.call('ROLE');
  } catch (err) {
    const wrong = lastWrongRole.get(redis);
    if (wrong !== undefined && now() - wrong.at < REMEMBER_ROLE_MS) throw wrong.error;
    const reason = err instanceof Error ? err.message : String(err);
    throw new NotReadyError('unavailable', `Redis does not answer: ${reason}`, { cause: err });
  }
  const error = roleError(reply);
  if (error === undefined) {
    lastWrongRole.delete(redis);
    return;
  }
  lastWrongRole.set(redis, { error, at: now() });
  throw error;
}

/** Undefined for a primary's ROLE reply, else the NotReadyError that names what answered. */
function roleError(reply: unknown): NotReadyError | undefined {
  const [role, host, port] = Array.isArray(reply) ? (reply as unknown[]) : [];
  if (role === 'master') return undefined;
  if (role === 'slave') {
    return new NotReadyError(
      'replica',
      `connected to a read-only replica (of ${String(host)}:${String(port)}), not the primary: every write fails`,
    );
  }
  if (role === 'sentinel') {
    return new NotReadyError(
      'sentinel',
      'connected to a Sentinel, not a Redis server: give sentinel addresses in REDIS_SENTINELS, not REDIS_URL',
    );
  }
  return new NotReadyError('unavailable', `unexpected ROLE reply: ${String(role)}`);
}
