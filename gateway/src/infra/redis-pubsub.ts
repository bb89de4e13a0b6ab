/**
 * The two Redis connections behind @socket.io/redis-adapter, with the adapter's known traps handled:
 * - the adapter subscribes in its constructor, so the subscriber keeps ioredis' offline queue (its
 *   SUBSCRIBE waits for the connection, and ioredis re-subscribes by itself after a reconnect);
 * - the adapter never catches a failed `publish`, and a fail-fast client rejects while Redis is down; that
 *   would be an unhandled rejection that kills Node. The publisher handed to the adapter catches, logs and
 *   counts each failed publish instead (the broadcast is lost, as it would be with any pub/sub outage).
 */
import { Cluster, Redis } from 'ioredis';
import type { Logger } from './logger.ts';
import { clusterConnectionOptions, clusterDnsLookup, parseRedisSeed } from './redis.ts';

export interface PubSubClients {
  /** The publisher to hand to the adapter (publish never rejects unhandled). */
  pub: Redis | Cluster;
  sub: Redis | Cluster;
  /** True on Redis Cluster: use the sharded adapter (SPUBLISH/SSUBSCRIBE, Redis 7+). */
  sharded: boolean;
  close(): Promise<void>;
}

/** Wraps `client` so that its publish commands never reject unhandled: each failure is caught and counted. */
function guardPublishes<T extends Redis | Cluster>(client: T, onError: (err: unknown) => void): T {
  const guarded = new Map<PropertyKey, unknown>();
  for (const name of ['publish', 'spublish'] as const) {
    guarded.set(name, (...args: unknown[]) => {
      const result = (client[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      result.catch(onError);
      return result;
    });
  }
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (guarded.has(prop)) return guarded.get(prop);
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The adapter's connections on Redis Cluster. The subscriber uses ioredis' sharded subscribers (one per
 * primary, following slot moves) and keeps its offline queue, like the standalone subscriber above.
 */
export function createClusterPubSubClients(
  seedUrls: readonly string[],
  options: { commandTimeoutMs: number; log: Logger; onPublishError: () => void },
): PubSubClients {
  const retry = (attempt: number): number => Math.min(50 * attempt, 1000);
  const seeds = seedUrls.map(parseRedisSeed);
  const connection = clusterConnectionOptions(seedUrls);
  const rawPub = new Cluster(seeds, {
    ...clusterDnsLookup(connection),
    enableOfflineQueue: false,
    clusterRetryStrategy: retry,
    redisOptions: {
      ...connection,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs,
      connectionName: 'stayline-adapter-pub',
    },
  });
  const sub = new Cluster(seeds, {
    ...clusterDnsLookup(connection),
    shardedSubscribers: true,
    clusterRetryStrategy: retry,
    redisOptions: { ...connection, maxRetriesPerRequest: null, connectionName: 'stayline-adapter-sub' },
  });
  return assemble(rawPub, sub, true, options);
}

export function createPubSubClients(
  url: string,
  options: { commandTimeoutMs: number; log: Logger; onPublishError: () => void },
): PubSubClients {
  const retryStrategy = (attempt: number): number => Math.min(50 * attempt, 1000);
  const rawPub = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs,
    retryStrategy,
    connectionName: 'stayline-adapter-pub',
  });
  const sub = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy,
    connectionName: 'stayline-adapter-sub',
  });
  return assemble(rawPub, sub, false, options);
}

/** Logs both connections' errors, guards the publisher, and closes both on close(). */
function assemble<T extends Redis | Cluster>(
  rawPub: T,
  sub: T,
  sharded: boolean,
  options: { log: Logger; onPublishError: () => void },
): PubSubClients {
  rawPub.on('error', (err: Error) => options.log.warn({ err: err.message }, 'adapter publisher error'));
  sub.on('error', (err: Error) => options.log.warn({ err: err.message }, 'adapter subscriber error'));
  const pub = guardPublishes(rawPub, (err: unknown) => {
    options.onPublishError();
    options.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'fanout publish failed');
  });
  return {
    pub,
    sub,
    sharded,
    close() {
      rawPub.disconnect();
      sub.disconnect();
      return Promise.resolve();
    },
  };
}
