/**
 * session/ owns the state the gateway keeps per user and per event, behind three store contracts, each
 * with a Redis and an embedded in-memory implementation, and one contract suite per contract:
 * - SessionStore (session-store.ts): sessions, rooms, token revocations, node liveness; createSessionStore below.
 * - ClaimStore (claim-store.ts): queues, admissions, seat holds; createClaimStore (create-claim-store.ts).
 *   The memory store runs the pure per-event model (claim-event-model.ts).
 * - RequestLedger (request-ledger.ts): retried requests act once; createRequestLedger.
 * redis/ is the Redis plumbing the three share: one script registry (scripts.ts, over lua/, lua/session/
 * and lua/claims/), one key module per hash-tag slot (user-keys, event-keys, node-keys), one client factory
 * (client.ts), and the reply decoding with named statuses (session-replies, claim-replies).
 * It may import config (types), errors, infra and the protocol; never auth, transport, features or
 * socket.io. Only this folder and infra/ touch ioredis.
 */
import type { GatewayConfig } from '../config/index.ts';
import type { Logger } from '../infra/logger.ts';
import type { RedisLike } from '../infra/redis.ts';
import { MemorySessionStore } from './memory-session-store.ts';
import { openStoreClient, type StoreClientListener } from './redis/client.ts';
import { RedisSessionStore, type ObserveCommand } from './redis-session-store.ts';
import type { SessionStore } from './session-store.ts';

export type {
  AttachResult,
  NodeId,
  PurgeResult,
  RoomChange,
  SessionSnapshot,
  SessionStore,
  SessionView,
  SocketId,
} from './session-store.ts';
export { isRevokedBy } from './session-store.ts';
export { MemorySessionStore, type MemorySessionStoreOptions } from './memory-session-store.ts';
export {
  RedisSessionStore,
  type ObserveCommand,
  type RedisSessionStoreOptions,
} from './redis-session-store.ts';
export { claimsIndexTtlMs } from './redis/user-keys.ts';
export {
  createRequestLedger,
  type ClosableRequestLedger,
  type LedgerEntry,
  type RequestLedger,
  type RequestLedgerDeps,
} from './request-ledger.ts';

/** Dependencies of createSessionStore. */
export interface SessionStoreDeps {
  logger: Logger;
  /**
   * A Redis client to use instead of connecting to `redisUrl` (it stays the caller's: close() leaves it
   * open). Default: a client created from `redisUrl` with createRedisClient, closed by close().
   */
  redis?: RedisLike;
  /** Latency/outcome hook per store call (Redis store only; the memory store has nothing worth timing). */
  observeCommand?: ObserveCommand;
  /** Lifetime of the queue/hold index the Redis attach script reads (claimsIndexTtlMs); unset: not read. */
  claimsIndexTtlMs?: number;
  /** Clock of the memory store, epoch ms. Default Date.now. (The Redis store uses Redis' clock.) */
  now?: () => number;
  /** Told of the store's Redis client (readiness checks it can write). Default none. */
  onClient?: StoreClientListener;
}

/**
 * The store the configuration asks for: Redis Cluster when `redisClusterNodes` is set, Redis when
 * `redisUrl` is set (or a client is injected), else the
 * embedded memory store (single node). The Redis store's client connects in the background: until it is
 * ready calls reject with STORE_UNAVAILABLE, so a caller that needs the store at start awaits `ping()`
 * (with retries) first.
 */
export function createSessionStore(store: GatewayConfig['store'], deps: SessionStoreDeps): SessionStore {
  const client = openStoreClient(store, deps, 'session-store');
  if (client === undefined) {
    return new MemorySessionStore({
      sessionTtlSeconds: store.sessionTtlSeconds,
      deadAfterSeconds: store.deadAfterSeconds,
      ...(deps.now === undefined ? {} : { now: deps.now }),
    });
  }
  return new RedisSessionStore({
    redis: client.redis,
    ownsClient: client.owned,
    keyPrefix: store.keyPrefix,
    sessionTtlSeconds: store.sessionTtlSeconds,
    deadAfterSeconds: store.deadAfterSeconds,
    logger: deps.logger,
    ...(deps.observeCommand === undefined ? {} : { observeCommand: deps.observeCommand }),
    ...(deps.claimsIndexTtlMs === undefined ? {} : { claimsIndexTtlMs: deps.claimsIndexTtlMs }),
  });
}
