/**
 * The one client factory of the stores: which Redis a store talks to (Redis Cluster when
 * `redisClusterNodes` is set, the primary named by the sentinels when `redisSentinel` is set, else Redis
 * when `redisUrl` is set), or none (the embedded memory stores), and whether the store owns the client
 * (closes it) or shares the caller's. Connection settings themselves are infra/'s (fail fast, reconnect
 * forever, follow a Sentinel promotion).
 */
import type { GatewayConfig } from '../../config/index.ts';
import type { Logger } from '../../infra/logger.ts';
import { createRedisClient, createRedisClusterClient, type RedisLike } from '../../infra/redis.ts';
import { createRedisSentinelClient } from '../../infra/redis-sentinel.ts';

/** What the factory reads of the configuration (`redisSentinel` may be left out: not Sentinel). */
export type StoreClientConfig = Pick<
  GatewayConfig['store'],
  'redisUrl' | 'redisClusterNodes' | 'commandTimeoutMs' | 'writeGapMs'
> &
  Partial<Pick<GatewayConfig['store'], 'redisSentinel'>>;

/** The stores' connections, by the name they are opened under (CLIENT LIST and the logs). */
export type StoreClientName = 'session-store' | 'claim-store' | 'request-ledger' | 'history-store';

/** Told of each store's Redis client when it is opened (or injected): readiness checks it can write. */
export type StoreClientListener = (name: StoreClientName, redis: RedisLike) => void;

/** What openStoreClient takes of a store's dependencies. */
export interface StoreClientDeps {
  logger: Logger;
  /** A client to use instead of opening one (it stays the caller's). */
  redis?: RedisLike | undefined;
  /** Called with the store's client, whether opened here or injected. Default none. */
  onClient?: StoreClientListener | undefined;
}

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
  deps: StoreClientDeps,
  name: StoreClientName,
): StoreClient | undefined {
  const client = pickClient(store, deps, name);
  if (client !== undefined) deps.onClient?.(name, client.redis);
  return client;
}

function pickClient(
  store: StoreClientConfig,
  deps: StoreClientDeps,
  name: StoreClientName,
): StoreClient | undefined {
  if (deps.redis !== undefined) return { redis: deps.redis, owned: false };
  const options = { commandTimeoutMs: store.commandTimeoutMs, logger: deps.logger, name };
  if (store.redisClusterNodes !== undefined)
    return { redis: createRedisClusterClient(store.redisClusterNodes, options), owned: true };
  // Standalone connections (a URL, or the primary the sentinels name) batch their writes.
  const batched = { ...options, writeGapMs: store.writeGapMs ?? 0 };
  if (store.redisSentinel !== undefined)
    return { redis: createRedisSentinelClient(store.redisSentinel, batched), owned: true };
  if (store.redisUrl !== undefined) return { redis: createRedisClient(store.redisUrl, batched), owned: true };
  return undefined;
}
