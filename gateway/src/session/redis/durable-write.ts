/**
 * Durable writes (REDIS_WAIT_REPLICAS, REDIS_WAIT_TIMEOUT_MS): a write of the claim store followed, on the
 * same connection and in the same tick, by `WAIT replicas timeoutMs`, so the wait costs no round trip of
 * its own. WAIT covers every write this connection sent before it, so it proves the write reached that many
 * replicas (and so survives a failover to one of them). Single Redis and Sentinel only: on a Cluster a
 * keyless WAIT could go to another shard (config refuses the combination).
 */
import type { RedisLike } from '../../infra/redis.ts';

/** How many replicas must acknowledge a hold, release or sale, and how long to wait for them. */
export interface WaitPolicy {
  /** 0 = off (acknowledge after the primary's write, as without replicas). */
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** A write's reply, and how many replicas had it when WAIT answered. */
export interface WaitedWrite<T> {
  readonly reply: T;
  readonly replicas: number;
  /** `replicas` reached the policy's count. */
  readonly durable: boolean;
}

/**
 * Runs `write` (commands on `redis`, sent in this tick) with WAIT pipelined behind it. ioredis answers one
 * connection's commands in order, so the write's reply settles first: unless ioredis re-sent the script
 * (EVALSHA refused with NOSCRIPT, then EVAL, which goes out behind the WAIT); then that WAIT did not cover
 * it, and a second WAIT, sent after it, is the one that counts.
 */
export async function writeThenWait<T>(
  redis: RedisLike,
  policy: WaitPolicy,
  write: () => Promise<T>,
): Promise<WaitedWrite<T>> {
  let written = false;
  const writing = write().then((reply) => {
    written = true;
    return reply;
  });
  const waiting = redis.wait(policy.replicas, policy.timeoutMs).then(async (replicas) => {
    // Replies parsed from one chunk resolve together, the write's through a few more promise hops: let
    // them run before judging the order (a re-sent EVAL needs another round trip, far longer than this).
    await new Promise((resolve) => setImmediate(resolve));
    return { replicas, afterWrite: written };
  });
  const [reply, first] = await Promise.all([writing, waiting]);
  const replicas = first.afterWrite ? first.replicas : await redis.wait(policy.replicas, policy.timeoutMs);
  return { reply, replicas, durable: replicas >= policy.replicas };
}
