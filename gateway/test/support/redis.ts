/**
 * Redis for tests: the servers themselves come from dev/redis.ts (shared with scripts, benchmarks and the
 * load tester), re-exported here so tests keep one import; `eventually` is the test-only part.
 */
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type RedisProcess } from '../../../dev/redis.ts';

export {
  freePort,
  startRedis,
  startRedisCluster,
  type RedisClusterProcess,
  type RedisProcess,
} from '../../../dev/redis.ts';
export {
  startSentinelTopology,
  type SentinelDataNode,
  type SentinelTopology,
} from '../../../dev/sentinel.ts';

/**
 * Polls `check` until it resolves (returns without throwing; any value counts, unlike support/wait.ts's
 * truthy `waitFor`), then returns its value; rethrows the last failure after `timeoutMs`. Suits
 * `eventually(() => store.ping())` and `eventually(async () => expect(...))`.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** What useRedisServer gives a test file. */
export interface RedisServerFixture {
  /** The server's `redis://` URL (once beforeAll has run). */
  readonly url: string;
  /** Disconnects `client` after the file's tests, before the server stops; returns it. */
  track<T extends { disconnect(): void }>(client: T): T;
}

/**
 * One redis-server for a test file: started in beforeAll, stopped in afterAll once every tracked client
 * has been disconnected.
 */
export function useRedisServer(): RedisServerFixture {
  let server: RedisProcess | undefined;
  const clients: { disconnect(): void }[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await server?.stop();
  });
  return {
    get url(): string {
      if (server === undefined) throw new Error('useRedisServer: the server starts in beforeAll');
      return server.url;
    },
    track(client) {
      clients.push(client);
      return client;
    },
  };
}
