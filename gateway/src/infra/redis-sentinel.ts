/**
 * Redis through Sentinel, with ioredis' own Sentinel support (no discovery of our own): the client asks the
 * sentinels for the primary of `REDIS_SENTINEL_NAME`, checks with ROLE that it is one, and after a
 * promotion finds the new one the same way. It keeps every fail-fast rule of infra/redis.ts: while there is
 * no primary (the failover window) commands reject at once (STORE_UNAVAILABLE), and the client keeps
 * reconnecting in the background, so a node heals without a restart.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisSentinelConfig } from '../config/index.ts';
import {
  coalesceWrites,
  failFastOptions,
  parseRedisSeed,
  redisReconnectDelayMs,
  watchConnection,
  type RedisClientOptions,
} from './redis.ts';

/**
 * Where to find the primary, as ioredis' Sentinel options (see the ioredis README, "Sentinel"):
 * - `role: 'master'`: ioredis checks the role of the server it reached and reconnects when it is not a
 *   primary (a sentinel that has not noticed the failover yet still names the old one);
 * - `sentinelRetryStrategy`: when no sentinel answers, ask again after the same capped, jittered delay as
 *   any reconnect (the ioredis default is similar; ours never gives up and is injectable);
 * - `sentinelCommandTimeout`: a hung sentinel is skipped after `commandTimeoutMs` instead of stalling the
 *   reconnect;
 * - ioredis' `failoverDetector` stays off (its default): a `+switch-master` that arrives while the client
 *   is still asking the sentinels makes ioredis 5.11 give up that connect for good (status `end`, every
 *   command "Connection is closed." until a restart), which the failover test hit about one run in five
 *   (https://github.com/redis/ioredis/issues/1683 reports the same symptom). Without it the client learns
 *   of a failover when its connection to the old primary closes (a crash or restart) or when the demoted
 *   primary answers READONLY (infra/redis.ts reconnects then); an old primary cut off by a partition
 *   without closing the connection fails commands with STORE_UNAVAILABLE until TCP gives up or the
 *   partition heals.
 */
export function sentinelOptions(
  sentinel: RedisSentinelConfig,
  options: { commandTimeoutMs: number; random?: () => number },
): RedisOptions {
  const random = options.random ?? Math.random;
  return {
    sentinels: sentinel.sentinels.map(parseRedisSeed),
    name: sentinel.name,
    role: 'master',
    ...(sentinel.sentinelPassword === undefined ? {} : { sentinelPassword: sentinel.sentinelPassword }),
    ...(sentinel.password === undefined ? {} : { password: sentinel.password }),
    ...tlsOptions(sentinel),
    sentinelRetryStrategy: (attempt: number) => redisReconnectDelayMs(attempt, 1000, random),
    sentinelCommandTimeout: options.commandTimeoutMs,
    failoverDetector: false,
  };
}

/**
 * TLS through ioredis' own Sentinel options: `tls` with `enableTLSForSentinelMode` for the connection to
 * the primary (without the flag ioredis would ignore `tls` in Sentinel mode and connect in plain TCP), and
 * `sentinelTLS` for the connections to the sentinels. The certificates are checked against the addresses
 * the sentinels announce (IPs unless they announce hostnames), with REDIS_TLS_CA_FILE's CAs when given.
 */
export function tlsOptions(sentinel: RedisSentinelConfig): RedisOptions {
  const secure = (ca: string | undefined): { ca?: string } => (ca === undefined ? {} : { ca });
  return {
    ...(sentinel.tls === undefined ? {} : { tls: secure(sentinel.tls.ca), enableTLSForSentinelMode: true }),
    ...(sentinel.sentinelTls === undefined ? {} : { sentinelTLS: secure(sentinel.sentinelTls.ca) }),
  };
}

/**
 * A fail-fast client (createRedisClient's rules) of the primary the sentinels name, following promotions.
 * ioredis' per-sentinel `sentinelError` events (one sentinel down, the others asked) are logged at debug;
 * "no sentinel answers" arrives as an 'error' and is logged once per outage like any other.
 */
export function createRedisSentinelClient(sentinel: RedisSentinelConfig, options: RedisClientOptions): Redis {
  const redis = new Redis({
    ...failFastOptions(options),
    ...sentinelOptions(sentinel, {
      commandTimeoutMs: options.commandTimeoutMs,
      ...(options.random === undefined ? {} : { random: options.random }),
    }),
  });
  watchConnection(redis, options);
  // The primary's connection is re-patched on every (re)connect, so a promotion keeps the batching.
  coalesceWrites(redis, options.writeGapMs ?? 0);
  const log = options.logger.child({ redisClient: options.name });
  redis.on('sentinelError', (err: unknown) => log.debug({ err }, 'a sentinel did not answer'));
  return redis;
}
