/**
 * The request ledger: makes a retried request act once per (user, request id). Its own small store
 * contract, apart from the claim store, so any feature's requests can use it (seat:hold has its record
 * folded into the hold itself instead: ClaimStore.hold's `request`). Implemented in memory
 * (memory-request-ledger.ts, injected clock) and on Redis (redis-request-ledger.ts, the user's slot:
 * `<prefix>{u:<id>}:q:<requestId>`); one contract suite runs against both. A ledger that cannot
 * answer rejects with GatewayError('STORE_UNAVAILABLE'), like the stores.
 */
import type { UserId } from '@stayline/client-sdk/protocol';
import type { Logger } from '../infra/logger.ts';
import type { RedisLike } from '../infra/redis.ts';
import { MemoryRequestLedger } from './memory-request-ledger.ts';
import { openStoreClient, type StoreClientConfig, type StoreClientListener } from './redis/client.ts';
import type { ObserveCommand } from './redis/replies.ts';
import { RedisRequestLedger } from './redis-request-ledger.ts';

/** What a request finds in the ledger. */
/**
 * How long a request's recorded answer answers retries of the same request id: the ledger's records and the
 * records a feature keeps in its own atomic step (`seat:hold`) alike.
 */
export const REQUEST_RESULT_TTL_MS = 120_000;

export type LedgerEntry =
  { state: 'new' } | { state: 'pending' } | { state: 'done'; event: string; ack: string };

export interface RequestLedger {
  readonly kind: 'memory' | 'redis';
  /** Starts (userId, requestId): `new` = caller owns it (SET NX semantics: of two racing identical requests exactly one gets `new`); `pending` = in flight elsewhere; `done` = the recorded ack. */
  begin(userId: UserId, requestId: string, pendingMs: number): Promise<LedgerEntry>;
  complete(userId: UserId, requestId: string, event: string, ack: string, ttlMs: number): Promise<void>;
  /** Best effort: forget an in-flight marker. */
  abandon(userId: UserId, requestId: string): Promise<void>;
}

/** A ledger made by createRequestLedger: close() releases the Redis client it opened (if it opened one). */
export interface ClosableRequestLedger extends RequestLedger {
  close(): Promise<void>;
}

/** Dependencies of createRequestLedger. */
export interface RequestLedgerDeps {
  logger: Logger;
  /**
   * The Redis client to use (it stays the caller's; e.g. one the claim store shares). Default: a client of
   * its own from the configuration (redis/client.ts), closed by close(). Ignored for the memory ledger.
   */
  redis?: RedisLike;
  /** Latency/outcome hook per ledger call (Redis only), e.g. the redis command metrics. */
  observeCommand?: ObserveCommand;
  /** Clock of the memory ledger, epoch ms. Default Date.now. (The Redis one uses Redis' TTLs.) */
  now?: () => number;
  /** Told of the ledger's Redis client (readiness checks it can write). Default none. */
  onClient?: StoreClientListener;
}

/**
 * The ledger the configuration asks for, chosen like the stores (redis/client.ts): Redis Cluster when
 * `store.redisClusterNodes` is set, Redis when `store.redisUrl` is set or `deps.redis` is given (keys under
 * `store.keyPrefix`), else the memory ledger (single node).
 */
export function createRequestLedger(
  store: StoreClientConfig & { keyPrefix: string },
  deps: RequestLedgerDeps,
): ClosableRequestLedger {
  const client = openStoreClient(store, deps, 'request-ledger');
  if (client === undefined) return new MemoryRequestLedger(deps.now === undefined ? {} : { now: deps.now });
  return new RedisRequestLedger({
    redis: client.redis,
    ownsClient: client.owned,
    keyPrefix: store.keyPrefix,
    ...(deps.observeCommand === undefined ? {} : { observeCommand: deps.observeCommand }),
  });
}
