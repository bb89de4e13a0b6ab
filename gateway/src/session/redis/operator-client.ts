/**
 * The claim store's connection for operator calls: defining and deleting events. Their scripts grow with the
 * event (a 100,000-seat define runs about half a second on an idle Redis, more on a busy one), past
 * REDIS_COMMAND_TIMEOUT_MS, which is sized for the hot path; a timeout there would answer 503 for a write
 * that then completes. So they run on a duplicate of the store's client with a longer timeout, opened on
 * first use: users' requests keep the short one.
 */
import { Cluster } from 'ioredis';
import type { RedisLike } from '../../infra/redis.ts';

/** How long an operator call may take before it is answered STORE_UNAVAILABLE. */
export const OPERATOR_COMMAND_TIMEOUT_MS = 30_000;

/** A duplicate of `base` (same server, same fail-fast options, Sentinel and Cluster included), longer timeout. */
export function createOperatorClient(base: RedisLike): RedisLike {
  if (base instanceof Cluster) {
    // Cluster.duplicate merges options shallowly: the per-node options are given whole.
    return base.duplicate(undefined, {
      redisOptions: { ...base.options.redisOptions, commandTimeout: OPERATOR_COMMAND_TIMEOUT_MS },
    });
  }
  return base.duplicate({
    connectionName: 'claim-store-operator',
    commandTimeout: OPERATOR_COMMAND_TIMEOUT_MS,
  });
}

/** How long the first operator call waits for the operator connection to come up. */
const CONNECT_WAIT_MS = 5_000;

/**
 * Resolves once `client` can take commands (the store's clients fail fast: no offline queue, so a command
 * sent while it connects is refused). Rejects like a closed connection (STORE_UNAVAILABLE) otherwise.
 */
export async function whenReady(client: RedisLike, timeoutMs = CONNECT_WAIT_MS): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onReady = (): void => done();
    const onEnd = (): void => done(new Error('Connection is closed.'));
    const timer = setTimeout(onEnd, timeoutMs);
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}
