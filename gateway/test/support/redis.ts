/**
 * Redis for tests: the servers themselves come from dev/redis.ts (shared with scripts, benchmarks and the
 * load tester), re-exported here so tests keep one import; `eventually` is the test-only part.
 */
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
