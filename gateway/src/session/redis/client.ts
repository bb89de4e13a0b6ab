/**
 * The one client factory of the stores: which Redis a store talks to (Redis Cluster when
 * `redisClusterNodes` is set, else Redis when `redisUrl` is set), or none (the embedded memory stores),
 * and whether the store owns the client (closes it) or shares the caller's. Connection settings themselves
 * are infra/redis.ts's (fail fast, reconnect forever).
 */
import type { GatewayConfig } from '../../config/index.ts';
import type { Logger } from '../../infra/logger.ts';
import { createRedisClient, createRedisClusterClient, type RedisLike } from '../../infra/redis.ts';

/** What the factory reads of the configuration. */
export type StoreClientConfig = Pick<
  GatewayConfig['store'],
  'redisUrl' | 'redisClusterNodes' | 'commandTimeoutMs'
>;

/** A store's client and who closes it. */
export interface StoreClient {
  redis: RedisLike;
  /** True when the factory opened the client: the store closes it on close(). */
  owned: boolean;
}

/**
 * The client a store should use: `injected` when given (it stays the caller's), else a new connection of
 * its own (named `name` in CLIENT LIST and the logs, so claim traffic never queues behind session traffic),
 * else undefined when the configuration names no Redis (use the memory store).
 */
export function openStoreClient(
  store: StoreClientConfig,
  deps: { logger: Logger; redis?: RedisLike | undefined },
  name: string,
): StoreClient | undefined {
  if (deps.redis !== undefined) return { redis: deps.redis, owned: false };
  const options = { commandTimeoutMs: store.commandTimeoutMs, logger: deps.logger, name };
  if (store.redisClusterNodes !== undefined)
    return { redis: createRedisClusterClient(store.redisClusterNodes, options), owned: true };
  if (store.redisUrl !== undefined) return { redis: createRedisClient(store.redisUrl, options), owned: true };
  return undefined;
}
