/**
 * The `/readyz` check `scripts`: proves that every Lua script of the registry (scripts.ts) is loaded on the
 * server a store client reaches, or can be. One `SCRIPT EXISTS` with every sha per server; the missing ones
 * (a new primary after a failover, a restart, a `SCRIPT FLUSH`) are loaded with `SCRIPT LOAD` there and then,
 * so the first requests after it do not each pay the NOSCRIPT round trip. A server that cannot load them
 * (scripting denied by an ACL, a script it cannot compile, a proxy that does not pass SCRIPT) fails the check
 * as `not-loadable`, naming the script: the writable check alone would call such a node ready while every
 * handshake fails.
 */
import { createHash } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import { isRedisUnavailableError, type RedisLike } from '../../infra/redis.ts';
import { NotReadyError } from '../../infra/redis-role.ts';
import { SCRIPT_SOURCES } from './scripts.ts';

/** SHA1 of a script's source, as EVALSHA and ioredis' defineCommand name it. */
const sha1 = (source: string): string => createHash('sha1').update(source).digest('hex');

/** The registry's scripts with their shas, computed once. */
const REGISTERED: readonly { name: string; source: string; sha: string }[] = Object.entries(
  SCRIPT_SOURCES,
).map(([name, source]) => ({ name, source, sha: sha1(source) }));

/** A refusal that is not an outage (NOPERM, an unknown command, a compile error): scripts cannot load. */
function classify(err: unknown, what: string): NotReadyError {
  const reason = err instanceof Error ? err.message : String(err);
  return isRedisUnavailableError(err)
    ? new NotReadyError('unavailable', `Redis does not answer ${what}: ${reason}`, { cause: err })
    : new NotReadyError('not-loadable', `${what} refused: ${reason}`, { cause: err });
}

/** Checks (and loads what is missing on) one server. */
async function checkServer(
  redis: Redis,
  scripts: readonly { name: string; source: string; sha: string }[],
): Promise<void> {
  let exists: unknown;
  try {
    exists = await redis.call('SCRIPT', 'EXISTS', ...scripts.map((s) => s.sha));
  } catch (err) {
    throw classify(err, 'SCRIPT EXISTS');
  }
  const flags = Array.isArray(exists) ? (exists as unknown[]) : [];
  const missing = scripts.filter((_, i) => flags[i] !== 1);
  for (const script of missing) {
    let sha: unknown;
    try {
      sha = await redis.call('SCRIPT', 'LOAD', script.source);
    } catch (err) {
      throw classify(err, `SCRIPT LOAD of ${script.name}`);
    }
    if (sha !== script.sha) {
      throw new NotReadyError(
        'not-loadable',
        `SCRIPT LOAD of ${script.name} answered ${String(sha)}, not its sha ${script.sha}`,
      );
    }
  }
}

/**
 * Resolves when every script is loaded (or was just loaded) on every server `redis` writes to: the one
 * server of a standalone or Sentinel client, each primary of a Cluster (each has its own script cache).
 * Rejects with a NotReadyError: `unavailable` when Redis does not answer, `not-loadable` when it answers
 * but refuses. `sources` is for tests (default: the registry).
 */
export async function assertScriptsLoadable(
  redis: RedisLike,
  sources: Readonly<Record<string, string>> = SCRIPT_SOURCES,
): Promise<void> {
  const scripts =
    sources === SCRIPT_SOURCES
      ? REGISTERED
      : Object.entries(sources).map(([name, source]) => ({ name, source, sha: sha1(source) }));
  const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
  if (servers.length === 0) throw new NotReadyError('unavailable', 'no Redis Cluster primary known yet');
  await Promise.all(servers.map((server) => checkServer(server, scripts)));
}
