/**
 * The two Redis connections behind @socket.io/redis-adapter, with the adapter's known traps handled:
 * - the adapter subscribes in its constructor, so the subscriber keeps ioredis' offline queue (its
 *   SUBSCRIBE waits for the connection, and ioredis re-subscribes by itself after a reconnect);
 * - the adapter never catches a failed `publish`, and a fail-fast client rejects while Redis is down; that
 *   would be an unhandled rejection that kills Node. The publisher handed to the adapter catches, logs and
 *   counts each failed publish instead (the broadcast is lost, as it would be with any pub/sub outage);
 * - nor a failed (un)subscribe: the subscriber's offline queue holds them while Redis is unreachable, and
 *   closing the connection then rejects every one of them ("Connection is closed."), the adapter's
 *   SUBSCRIBEs from its constructor and UNSUBSCRIBEs from its close() alike. A node that could not reach
 *   Redis and was then stopped ended on unhandled rejections (the Sentinel TLS test without its CA caught
 *   it, one run in four). The subscriber handed to the adapter catches and logs them.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisSentinelConfig } from '../config/index.ts';
import type { Logger } from './logger.ts';
import { clusterConnectionOptions, clusterDnsLookup, parseRedisSeed } from './redis.ts';
import { NotReadyError } from './redis-role.ts';
import { sentinelOptions } from './redis-sentinel.ts';

export interface PubSubClients {
  /** The publisher to hand to the adapter (publish never rejects unhandled). */
  pub: Redis | Cluster;
  /** The subscriber to hand to the adapter ((un)subscribes never reject unhandled). */
  sub: Redis | Cluster;
  /** True on Redis Cluster: use the sharded adapter (SPUBLISH/SSUBSCRIBE, Redis 7+). */
  sharded: boolean;
  /**
   * Resolves when the subscriber can receive broadcasts: connected (`ready`), subscribed (standalone and
   * Sentinel: ioredis is in subscriber mode, so its re-subscription after a reconnect has been answered),
   * and answering a PING within the command timeout. Rejects with a NotReadyError otherwise.
   */
  checkSubscriber(): Promise<void>;
  /**
   * Subscribes the subscriber to one more classic Pub/Sub channel of the gateway's own (message history),
   * beside the adapter's (which ignores it); ioredis subscribes it again after a reconnect. Undefined on
   * Redis Cluster (sharded Pub/Sub: the history goes through the adapter there).
   */
  listen: ((channel: string, onMessage: (message: Buffer) => void) => void) | undefined;
  close(): Promise<void>;
}

/** The commands the adapter sends and never catches, by connection. */
const PUBLISHES = ['publish', 'spublish'] as const;
const SUBSCRIPTIONS = [
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
] as const;

/**
 * Wraps `client` so that the commands `names` never reject unhandled: each failure is caught and handed to
 * `onError` (the promise the caller gets still rejects, for a caller that awaits it).
 */
function guardCommands<T extends Redis | Cluster>(
  client: T,
  names: readonly (keyof Redis & keyof Cluster)[],
  onError: (err: unknown) => void,
): T {
  const guarded = new Map<PropertyKey, unknown>();
  for (const name of names) {
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
  options: PubSubOptions,
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

/** Options of the pub/sub factories. */
export interface PubSubOptions {
  commandTimeoutMs: number;
  log: Logger;
  onPublishError: () => void;
  /** The subscriber came back after losing its connection and subscribed again (ioredis re-subscribes). */
  onResubscribe: () => void;
}

/** The adapter's connections to one Redis (`url`), or to the primary the sentinels name (`sentinel`). */
export function createPubSubClients(
  target: string | { sentinel: RedisSentinelConfig },
  options: PubSubOptions,
): PubSubClients {
  const retryStrategy = (attempt: number): number => Math.min(50 * attempt, 1000);
  // With Sentinel both follow a promotion like the stores' clients; the subscriber re-subscribes by itself.
  const where =
    typeof target === 'string'
      ? {}
      : sentinelOptions(target.sentinel, { commandTimeoutMs: options.commandTimeoutMs });
  const open = (extra: RedisOptions): Redis =>
    typeof target === 'string' ? new Redis(target, extra) : new Redis({ ...where, ...extra });
  const rawPub = open({
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs,
    retryStrategy,
    connectionName: 'stayline-adapter-pub',
  });
  const sub = open({
    maxRetriesPerRequest: null,
    retryStrategy,
    connectionName: 'stayline-adapter-sub',
  });
  return assemble(rawPub, sub, false, options);
}

/** The subscriber check of a standalone or Sentinel subscriber (see PubSubClients.checkSubscriber). */
async function checkStandaloneSubscriber(sub: Redis, timeoutMs: number): Promise<void> {
  if (sub.status !== 'ready') {
    throw new NotReadyError('unavailable', `adapter subscriber is ${sub.status}, not connected`);
  }
  if (sub.mode !== 'subscriber') {
    throw new NotReadyError('not-subscribed', 'adapter subscriber is connected but not subscribed');
  }
  // PING is allowed in subscriber mode. The subscriber has no command timeout (its SUBSCRIBEs must wait),
  // so the probe bounds its own wait: a half-open connection shows as unavailable, not as a hung probe.
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NotReadyError('unavailable', `adapter subscriber: no PONG within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([sub.ping(), late]);
  } catch (err) {
    if (err instanceof NotReadyError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new NotReadyError('unavailable', `adapter subscriber: ${reason}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Logs a connection's outage once when it starts (with the first error) and once when it ends, not once per
 * reconnect attempt.
 */
function logOutages(client: Redis | Cluster, role: 'publisher' | 'subscriber', log: Logger): void {
  let downSince: number | undefined;
  client.on('error', (err: Error) => {
    if (downSince !== undefined) return;
    downSince = Date.now();
    log.warn({ err: err.message }, `adapter ${role} lost its Redis connection`);
  });
  client.on('ready', () => {
    if (downSince === undefined) return;
    log.info({ downMs: Date.now() - downSince }, `adapter ${role} connected again`);
    downSince = undefined;
  });
}

/** Logs both connections' outages, guards the publisher, and closes both on close(). */
function assemble<T extends Redis | Cluster>(
  rawPub: T,
  sub: T,
  sharded: boolean,
  options: PubSubOptions,
): PubSubClients {
  logOutages(rawPub, 'publisher', options.log);
  logOutages(sub, 'subscriber', options.log);
  // After its first `ready`, each `ready` of the subscriber is a comeback: ioredis subscribes again by
  // itself, but what was published while it was away never reached this node. Counted and logged.
  let subscribedOnce = false;
  sub.on('ready', () => {
    if (!subscribedOnce) return void (subscribedOnce = true);
    options.onResubscribe();
    options.log.info('adapter subscriber reconnected and subscribed again');
  });
  const pub = guardCommands(rawPub, PUBLISHES, (err: unknown) => {
    options.onPublishError();
    options.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'fanout publish failed');
  });
  let closing = false;
  const adapterSub = guardCommands(sub, SUBSCRIPTIONS, (err: unknown) => {
    // On close every pending (un)subscribe fails with the connection: expected, not worth a warning.
    const message = err instanceof Error ? err.message : String(err);
    if (closing) options.log.debug({ err: message }, 'adapter (un)subscribe dropped on close');
    else options.log.warn({ err: message }, 'adapter (un)subscribe failed');
  });
  const listen = (channel: string, onMessage: (message: Buffer) => void): void => {
    const target = Buffer.from(channel);
    sub.on('messageBuffer', (from: Buffer, message: Buffer) => {
      if (target.equals(from)) onMessage(message);
    });
    (sub as Redis).subscribe(channel).catch((err: unknown) => {
      options.log.warn(
        { err: err instanceof Error ? err.message : String(err), channel },
        'subscribe failed',
      );
    });
  };
  return {
    pub,
    sub: adapterSub,
    sharded,
    listen: sharded ? undefined : listen,
    checkSubscriber() {
      if (sub instanceof Redis) return checkStandaloneSubscriber(sub, options.commandTimeoutMs);
      // The sharded subscribers of a Cluster client keep no public subscription state: connected is what
      // can be checked.
      return sub.status === 'ready'
        ? Promise.resolve()
        : Promise.reject(
            new NotReadyError('unavailable', `adapter subscriber is ${sub.status}, not connected`),
          );
    },
    close() {
      closing = true;
      rawPub.disconnect();
      sub.disconnect();
      return Promise.resolve();
    },
  };
}
