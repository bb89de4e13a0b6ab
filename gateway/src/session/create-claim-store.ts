/**
 * The claim store the configuration asks for: Redis (its own connection, so claim traffic never queues
 * behind session traffic) when REDIS_URL is set, else the embedded memory store, which asks the session
 * store whether a session lives.
 */
import type { GatewayConfig } from '../config/index.ts';
import type { Logger } from '../infra/logger.ts';
import { createRedisClient, createRedisClusterClient, type RedisLike } from '../infra/redis.ts';
import type { ClaimStore, ClaimStoreLimits } from './claim-store.ts';
import { MemoryClaimStore } from './memory-claim-store.ts';
import { RedisClaimStore } from './redis-claim-store.ts';
import type { ObserveCommand } from './redis-session-store.ts';
import type { SessionStore } from './session-store.ts';

/**
 * How often a queued or holding user's session is checked: every half session TTL, at most every 30 s. A
 * place or hold therefore ends at most this long (plus one sweep interval) after its session expired.
 */
export function sessionCheckSeconds(sessionTtlSeconds: number): number {
  return Math.min(30, sessionTtlSeconds / 2);
}

export function createClaimStore(
  config: Pick<GatewayConfig, 'store' | 'claims'>,
  deps: { logger: Logger; sessions: SessionStore; observeCommand?: ObserveCommand; redis?: RedisLike },
): ClaimStore {
  const limits: ClaimStoreLimits = {
    holdSeconds: config.claims.holdSeconds,
    admissionTtlSeconds: config.claims.admissionTtlSeconds,
    sessionCheckSeconds: sessionCheckSeconds(config.store.sessionTtlSeconds),
  };
  const url = config.store.redisUrl;
  const clusterNodes = config.store.redisClusterNodes;
  if (deps.redis === undefined && url === undefined && clusterNodes === undefined) {
    return new MemoryClaimStore({
      limits,
      sessionAlive: async (userId) => (await deps.sessions.getSession(userId)) !== null,
    });
  }
  const options = {
    commandTimeoutMs: config.store.commandTimeoutMs,
    logger: deps.logger,
    name: 'claim-store',
  };
  const redis =
    deps.redis ??
    (clusterNodes !== undefined
      ? createRedisClusterClient(clusterNodes, options)
      : createRedisClient(url ?? '', options));
  return new RedisClaimStore({
    redis,
    ownsClient: deps.redis === undefined,
    keyPrefix: config.store.keyPrefix,
    sessionTtlSeconds: config.store.sessionTtlSeconds,
    limits,
    logger: deps.logger,
    ...(deps.observeCommand === undefined ? {} : { observeCommand: deps.observeCommand }),
  });
}
