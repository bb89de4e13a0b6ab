/**
 * The one place a Redis connection is configured. Every client the gateway opens fails fast: a command
 * that cannot be answered within `commandTimeoutMs` rejects, and nothing is queued or replayed later.
 * The connection itself keeps reconnecting in the background, so the gateway recovers by itself when Redis
 * is back without being restarted.
 */
import type { Socket } from 'node:net';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from './logger.ts';
import { atEndOfTurn } from './end-of-turn.ts';

export type { Cluster, Redis };

/** A standalone client or a Redis Cluster client: the store and scripts run on either. */
export type RedisLike = Redis | Cluster;

/** Options of createRedisClient. */
export interface RedisClientOptions {
  /** A command without a reply after this long rejects with "Command timed out". */
  commandTimeoutMs: number;
  logger: Logger;
  /** Shown in CLIENT LIST and in log lines, e.g. `session-store`. */
  name: string;
  /** TCP connect timeout per attempt. Default: max(1000, 2 * commandTimeoutMs). */
  connectTimeoutMs?: number;
  /** Longest wait between reconnect attempts. Default 1000. */
  maxReconnectDelayMs?: number;
  /** Injected randomness for the reconnect jitter. Default Math.random. */
  random?: () => number;
  /**
   * REDIS_WRITE_GAP_MS: the least time between two writes of this connection (coalesceWrites). Default 0:
   * one write per turn of the event loop.
   */
  writeGapMs?: number;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential from 50 ms, capped at `capMs`, with the
 * upper half jittered so that many gateway nodes do not reconnect to a restarted Redis in lockstep.
 * Never gives up: the gateway must heal by itself when Redis comes back.
 */
export function redisReconnectDelayMs(
  attempt: number,
  capMs = 1000,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, 50 * 2 ** Math.min(Math.max(attempt - 1, 0), 20));
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * A Redis Cluster client with the same fail-fast rules as createRedisClient: no offline queue, no retries
 * per request, no re-send after a reconnect, a command timeout, endless bounded reconnection. `seeds` are
 * `host:port` pairs (or redis:// URLs) of some of the cluster's nodes; the client learns the rest.
 */
export function createRedisClusterClient(seeds: readonly string[], options: RedisClientOptions): Cluster {
  const capMs = options.maxReconnectDelayMs ?? 1000;
  const random = options.random ?? Math.random;
  const connection = clusterConnectionOptions(seeds);
  const cluster = new Cluster(seeds.map(parseRedisSeed), {
    ...clusterDnsLookup(connection),
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt: number) => redisReconnectDelayMs(attempt, capMs, random),
    clusterNodeRetryStrategy: (attempt: number) => redisReconnectDelayMs(attempt, capMs, random),
    // A MOVED/ASK or TRYAGAIN during a failover is followed this many times, then the caller is told.
    maxRedirections: 4,
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 50,
    redisOptions: {
      ...connection,
      connectionName: options.name,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: options.connectTimeoutMs ?? Math.max(1000, 2 * options.commandTimeoutMs),
    },
  });
  watchConnection(cluster, options);
  return cluster;
}

/**
 * Closes a client: QUIT when connected (it waits for the replies of commands already sent), dropping the
 * connection if that fails or when not connected.
 */
export async function closeRedisClient(redis: RedisLike): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

/** `host:port`, `redis://host:port` or `rediss://user:password@host:port` to the node address ioredis wants. */
export function parseRedisSeed(seed: string): { host: string; port: number } {
  const url = new URL(seed.includes('://') ? seed : `redis://${seed}`);
  return { host: url.hostname, port: url.port === '' ? 6379 : Number(url.port) };
}

/** What every connection to a cluster node needs: TLS and credentials, taken from the first seed. */
export interface ClusterConnectionOptions {
  tls?: Record<string, never>;
  username?: string;
  password?: string;
}

/**
 * TLS (`rediss://`) and credentials (`user:password@`) from the first seed: a managed cluster (e.g.
 * ElastiCache with encryption in transit and AUTH) uses the same ones on every node.
 */
export function clusterConnectionOptions(seeds: readonly string[]): ClusterConnectionOptions {
  const first = seeds[0];
  if (first === undefined || !first.includes('://')) return {};
  const url = new URL(first);
  const options: ClusterConnectionOptions = {};
  if (url.protocol === 'rediss:') options.tls = {};
  if (url.username !== '') options.username = decodeURIComponent(url.username);
  if (url.password !== '') options.password = decodeURIComponent(url.password);
  return options;
}

/**
 * With TLS, node addresses must stay the names the certificates are for: ioredis would otherwise resolve
 * them to IPs first (the ElastiCache TLS cluster recipe in the ioredis docs).
 */
export function clusterDnsLookup(
  options: ClusterConnectionOptions,
): { dnsLookup: (address: string, callback: (err: null, address: string) => void) => void } | object {
  return options.tls
    ? {
        dnsLookup: (address: string, callback: (err: null, address: string) => void) =>
          callback(null, address),
      }
    : {};
}

/**
 * Opens an ioredis client configured to fail fast. It connects at once (not lazily: with the offline
 * queue off, the first command of a lazy client would only trigger the connect and fail). Until the
 * connection is ready every command rejects, which the store maps to STORE_UNAVAILABLE; callers that
 * need Redis at start wait for a successful ping.
 *
 * The ioredis defaults this overrides, and why:
 * - `enableOfflineQueue: false` — by default commands issued while disconnected wait in a queue with no
 *   bound on time; we want them to reject now.
 * - `maxRetriesPerRequest: 0` — by default a command that was in flight when the connection dropped is
 *   kept through 20 reconnect attempts; 0 rejects it at the first close
 *   (https://github.com/redis/ioredis/issues/1322).
 * - `autoResendUnfulfilledCommands: false` — by default unanswered commands are re-sent after a
 *   reconnect: a caller that already got an error would see a non-idempotent script run anyway, maybe twice.
 * - `commandTimeout` — bounds a hung (not closed) connection, e.g. Redis paused or a network black hole.
 * - `retryStrategy` — reconnects forever with a delay capped at ~1 s, instead of a growing delay.
 * - error events are logged (once per outage at `error`, then at `debug`), never thrown: an unhandled
 *   'error' event would otherwise be printed to the console by ioredis.
 */
export function createRedisClient(url: string, options: RedisClientOptions): Redis {
  const redis = new Redis(url, failFastOptions(options));
  watchConnection(redis, options);
  coalesceWrites(redis, options.writeGapMs ?? 0);
  return redis;
}

/** Marks a connection whose writes coalesceWrites already batches. */
const COALESCED = Symbol('stayline.coalescedWrites');

/**
 * Batches a client's writes: the first command written corks the connection and a later uncork sends
 * every command written meanwhile in one `writev` instead of one `write` each. On loopback a write costs
 * the sender the whole TCP path of the receiver too: per-command writes were ~45 µs each and the largest
 * single cost of a connect in the profile (docs/benchmarks.md §11). Unlike ioredis' `enableAutoPipelining`
 * nothing else changes: commands keep their order, timeouts and replies, and no command waits for another's
 * reply.
 *
 * When the uncork happens:
 * - at the end of the turn (end-of-turn.ts, after the batchers that gather this turn's requests into
 *   commands), so every command issued in that turn (the attaches of all the handshakes read in it)
 *   leaves together;
 * - but never sooner than `minGapMs` after the previous write (REDIS_WRITE_GAP_MS): an idle connection
 *   writes at once, a busy one at most once per gap. At a thousand or more connects a second, a turn
 *   carries one or two handshakes, so per-turn writes still cost a write per connect; with a gap of a few
 *   ms the commands of several turns share one write, and Redis answers them in one write too (§11, round
 *   3, at 1,500 connects/s: 0.90x the node's CPU per connect with a gap of 3 ms, 0.72x Redis'). The cost
 *   is latency: under load a command waits up to `minGapMs` before it leaves.
 *
 * Re-applied to each new connection after a reconnect.
 */
export function coalesceWrites(redis: Redis, minGapMs = 0): void {
  const patch = (): void => {
    const socket = redis.stream as (Socket & { [COALESCED]?: true }) | undefined;
    if (socket === undefined || socket[COALESCED] === true) return;
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    let lastWriteAt = -Infinity;
    const uncork = (): void => {
      lastWriteAt = performance.now();
      socket.uncork();
    };
    const batched = (...args: unknown[]): boolean => {
      if (socket.writableCorked === 0) {
        socket.cork();
        const waitMs = lastWriteAt + minGapMs - performance.now();
        if (waitMs > 0) setTimeout(uncork, waitMs);
        else atEndOfTurn('write', uncork);
      }
      return write(...args);
    };
    socket.write = batched;
    socket[COALESCED] = true;
  };
  redis.on('connect', patch);
  patch();
}

/**
 * The fail-fast connection options of createRedisClient (explained above), for any standalone client
 * (Sentinel's too: infra/redis-sentinel.ts adds where to find the primary).
 */
export function failFastOptions(options: RedisClientOptions): RedisOptions {
  const capMs = options.maxReconnectDelayMs ?? 1000;
  const random = options.random ?? Math.random;
  return {
    connectionName: options.name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs ?? Math.max(1000, 2 * options.commandTimeoutMs),
    retryStrategy: (attempt: number) => redisReconnectDelayMs(attempt, capMs, random),
    // READONLY means we are talking to a demoted primary after a failover: reconnect (DNS, the load
    // balancer or the sentinels should now lead to the new primary). The command itself is rejected, never
    // re-sent (1, not 2).
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 1 : false),
    lazyConnect: false,
  };
}

/** Logs an outage once when it starts and once when it ends (not once per reconnect attempt). */
export function watchConnection(redis: RedisLike, options: RedisClientOptions): void {
  // No `module` binding: the caller's logger already has one (e.g. session); `redisClient` says which.
  const log = options.logger.child({ redisClient: options.name });

  let downSince: number | undefined;
  redis.on('error', (err: unknown) => {
    if (downSince === undefined) {
      downSince = Date.now();
      log.error({ err }, 'Redis connection error; commands fail with STORE_UNAVAILABLE until it is back');
    } else {
      log.debug({ err }, 'Redis still unreachable');
    }
  });
  redis.on('close', () => {
    downSince ??= Date.now();
  });
  redis.on('ready', () => {
    if (downSince !== undefined) {
      log.info({ downMs: Date.now() - downSince }, 'Redis connection restored');
      downSince = undefined;
    } else {
      log.debug('Redis connection ready');
    }
  });
}

/** Redis reply errors that describe a server that cannot serve now, not a bug in the command. */
const UNAVAILABLE_REPLY_PREFIXES = [
  'LOADING', // restarting and loading its dataset
  'READONLY', // a replica, or a primary demoted by a failover
  'MASTERDOWN', // replica lost its primary
  'TRYAGAIN', // cluster resharding
  'CLUSTERDOWN',
  'BUSY', // another script is running past lua-time-limit
  'OOM', // maxmemory reached with noeviction
  'NOREPLICAS',
  'NOAUTH', // the server restarted with a password we do not have yet; retrying later may work
];

/** Messages ioredis itself rejects commands with when the connection is not usable. */
const UNAVAILABLE_CLIENT_MESSAGES = [
  "Stream isn't writeable", // offline queue disabled and not connected
  'Connection is closed.', // client ended (quit, close()) or gave up reconnecting
  'Command timed out', // commandTimeout
  'Command aborted due to connection close',
  'Reached the max retries per request limit', // in flight when the connection dropped
  'None of the sentinels are available',
  'Failed to refresh slots cache',
];

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * True when `err` means "Redis could not answer" (down, unreachable, slow, loading, failing over), as
 * opposed to a real error in what we asked (a Lua runtime error, WRONGTYPE, a syntax error), which is a
 * bug and must surface as INTERNAL.
 */
export function isRedisUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const name = err.name;
  if (name === 'MaxRetriesPerRequestError' || name === 'AbortError' || name === 'ClusterAllFailedError')
    return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  const message = err.message;
  if (UNAVAILABLE_CLIENT_MESSAGES.some((m) => message.startsWith(m))) return true;
  return name === 'ReplyError' && UNAVAILABLE_REPLY_PREFIXES.some((p) => message.startsWith(p));
}

/**
 * Maps an error thrown by an ioredis call: "Redis could not answer" becomes
 * GatewayError('STORE_UNAVAILABLE', …, { cause }); anything else (a bug) is returned unchanged so that
 * it reaches the edge as INTERNAL with its cause logged.
 */
export function toStoreError(err: unknown, operation: string): unknown {
  if (err instanceof GatewayError) return err;
  if (isRedisUnavailableError(err)) {
    return new GatewayError('STORE_UNAVAILABLE', `Session store unavailable during ${operation}`, {
      cause: err,
    });
  }
  return err;
}
