/**
 * The claim store the configuration asks for, chosen by the one client factory (redis/client.ts): Redis
 * (its own connection, so claim traffic never queues behind session traffic) when a Redis is configured or
 * a client is given, else the embedded memory store, which asks the session store whether a session lives.
 */
import type { GatewayConfig } from '../config/index.ts';
import type { Logger } from '../infra/logger.ts';
import type { RedisLike } from '../infra/redis.ts';
import type { ClaimStore, ClaimStoreLimits } from './claim-store.ts';
import { MemoryClaimStore } from './memory-claim-store.ts';
import { openStoreClient, type StoreClientListener } from './redis/client.ts';
import type { ObserveCommand } from './redis/replies.ts';
import type { DurableOperation } from './redis/durable-write.ts';
import { RedisClaimStore } from './redis-claim-store.ts';
import type { SessionStore } from './session-store.ts';

/**
 * How often a queued or holding user's session is checked: every half session TTL, at most every 30 s. A
 * place or hold therefore ends at most this long (plus one sweep interval) after its session expired.
 */
export function sessionCheckSeconds(sessionTtlSeconds: number): number {
  return Math.min(30, sessionTtlSeconds / 2);
}

/** Dependencies of createClaimStore. */
export interface ClaimStoreDeps {
  logger: Logger;
  /** Asked by the memory store whether a user's session lives. */
  sessions: SessionStore;
  /** Latency/outcome hook per store call (Redis store only). */
  observeCommand?: ObserveCommand;
  /** A client to use instead of opening one (it stays the caller's). */
  redis?: RedisLike;
  /** Clock of the memory store, epoch ms. Default Date.now. */
  now?: () => number;
  /** Told of the store's Redis client (readiness checks it can write). Default none. */
  onClient?: StoreClientListener;
  /** Told of each write refused because WAIT fell short (REDIS_WAIT_REPLICAS; Redis store only). */
  onWaitShort?: (operation: DurableOperation) => void;
}

export function createClaimStore(
  config: Pick<GatewayConfig, 'store' | 'claims'>,
  deps: ClaimStoreDeps,
): ClaimStore {
  const limits: ClaimStoreLimits = {
    holdSeconds: config.claims.holdSeconds,
    admissionTtlSeconds: config.claims.admissionTtlSeconds,
    sessionCheckSeconds: sessionCheckSeconds(config.store.sessionTtlSeconds),
  };
  const client = openStoreClient(config.store, deps, 'claim-store');
  if (client === undefined) {
    return new MemoryClaimStore({
      limits,
      sessionAlive: async (userId) => (await deps.sessions.getSession(userId)) !== null,
      ...(deps.now === undefined ? {} : { now: deps.now }),
    });
  }
  return new RedisClaimStore({
    redis: client.redis,
    ownsClient: client.owned,
    keyPrefix: config.store.keyPrefix,
    sessionTtlSeconds: config.store.sessionTtlSeconds,
    limits,
    logger: deps.logger,
    // The memory store is one process: nothing to wait for.
    ...(config.store.wait === undefined ? {} : { wait: config.store.wait }),
    ...(deps.onWaitShort === undefined ? {} : { onWaitShort: deps.onWaitShort }),
    ...(deps.observeCommand === undefined ? {} : { observeCommand: deps.observeCommand }),
  });
}
