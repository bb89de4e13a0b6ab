/**
 * Durable writes (REDIS_WAIT_REPLICAS, REDIS_WAIT_TIMEOUT_MS): a write of the claim store followed, on the
 * same connection and in the same tick, by `WAIT replicas timeoutMs`, so the wait costs no round trip of
 * its own. WAIT covers every write this connection sent before it, so it proves the write reached that many
 * replicas (and so survives a failover to one of them). Single Redis and Sentinel only: on a Cluster a
 * keyless WAIT could go to another shard (config refuses the combination).
 */
import type { Redis } from 'ioredis';

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

type Sendable = { name: string; reject: (err: Error) => void };
const refusedScripts = new WeakMap<Redis, { count: number }>();

/**
 * Counts, per client, the scripts Redis refused with NOSCRIPT (its script cache was flushed under a live
 * connection). ioredis then re-sends the script as EVAL, behind whatever was sent after it: behind our WAIT.
 */
function noScriptCounter(redis: Redis): { count: number } {
  let counter = refusedScripts.get(redis);
  if (counter !== undefined) return counter;
  const created = { count: 0 };
  counter = created;
  refusedScripts.set(redis, counter);
  const send = redis.sendCommand.bind(redis);
  // The one hook ioredis offers on a command's outcome before its own script retry swallows the error.
  redis.sendCommand = ((command: Sendable, ...rest: unknown[]) => {
    if (command.name === 'evalsha') {
      const reject = command.reject;
      command.reject = (err: Error) => {
        if (err.message.includes('NOSCRIPT')) created.count += 1;
        reject.call(command, err);
      };
    }
    return (send as (...a: unknown[]) => unknown)(command, ...rest);
  });
  return counter;
}

/**
 * Runs `write` (commands on `redis`, sent in this tick) with WAIT pipelined behind it. ioredis keeps one
 * connection's commands in order, so that WAIT covers the write: unless Redis refused a script of it with
 * NOSCRIPT and ioredis re-sent it behind the WAIT; then a second WAIT, sent after it, is the one that counts.
 */
export async function writeThenWait<T>(
  redis: Redis,
  policy: WaitPolicy,
  write: () => Promise<T>,
): Promise<WaitedWrite<T>> {
  const noScript = noScriptCounter(redis);
  const refusedBefore = noScript.count;
  const [reply, first] = await Promise.all([write(), redis.wait(policy.replicas, policy.timeoutMs)]);
  // Any refusal on this connection meanwhile counts (it may have been ours): one more WAIT is always safe.
  const replicas =
    noScript.count === refusedBefore ? first : await redis.wait(policy.replicas, policy.timeoutMs);
  return { reply, replicas, durable: replicas >= policy.replicas };
}
