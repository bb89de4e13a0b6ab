/**
 * Benchmark, not a test: what a node's queue-position round costs (features/queue/queue-watch.ts reads the
 * positions of every queued user connected to it, once per QUEUE_PUSH_INTERVAL_MS). Starts its own
 * redis-server, queues `users` users in one event, then alternates, `rounds` times each:
 * - store: RedisClaimStore.queuePositions for all of them (one queuePositions script per 1,000 users);
 * - pipeline: what the store sent before (ZCARD and one ZRANK per user, pipelined), on the same keys.
 * Prints, per call, this process' CPU (the client side, as a gateway node pays it), Redis' CPU and the
 * wall time.
 *
 *   node --import tsx gateway/bench/queue-positions.ts [--users 5000] [--rounds 30]
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startRedis } from '../../dev/redis.ts';
import { RedisClaimStore } from '../src/session/redis-claim-store.ts';
import { createEventKeys } from '../src/session/redis/event-keys.ts';
import { redisCpuMs } from './cpu-usage.ts';

const { values: args } = parseArgs({
  options: { users: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '30' } },
});
const users = Number(args.users);
const rounds = Number(args.rounds);

const redis = await startRedis();
const client = new Redis(redis.url);
const probe = new Redis(redis.url);
const prefix = 'bench:';
const store = new RedisClaimStore({
  redis: client,
  ownsClient: true,
  keyPrefix: prefix,
  sessionTtlSeconds: 600,
  limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 600 },
  logger: pino({ level: 'silent' }),
});
try {
  await store.defineEvent('e', {
    seats: ['s1'],
    requiresAdmission: false,
    admissionRatePerSecond: 0,
    maxSeatsPerUser: 1,
    holdSeconds: 300,
  });
  const ids = Array.from({ length: users }, (_, i) => `user-${i}`);
  for (let i = 0; i < users; i += 500)
    await Promise.all(ids.slice(i, i + 500).map((u) => store.joinQueue(u, 'e')));
  const queueKey = createEventKeys(prefix)('e').queue;

  const viaStore = async (): Promise<number> => (await store.queuePositions('e', ids)).positions.size;
  const viaPipeline = async (): Promise<number> => {
    const pipeline = client.pipeline();
    pipeline.zcard(queueKey);
    for (const u of ids) pipeline.zrank(queueKey, u);
    const replies = (await pipeline.exec()) ?? [];
    return replies.filter(([, v]) => typeof v === 'number').length - 1;
  };
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const ways = [
    ['store (scripts)', viaStore],
    ['pipeline (ZRANK each)', viaPipeline],
  ] as const;
  for (let pass = 0; pass < 2; pass++) {
    for (const [name, call] of ways) {
      if ((await call()) !== users) throw new Error(`${name}: not every user was found in the queue`);
      const cpu0 = cpuMs();
      const redis0 = await redisCpuMs(probe);
      const t0 = performance.now();
      for (let i = 0; i < rounds; i++) await call();
      const wall = (performance.now() - t0) / rounds;
      const cpu = (cpuMs() - cpu0) / rounds;
      const redisCpu = ((await redisCpuMs(probe)) - redis0) / rounds;
      console.log(
        `${name.padEnd(22)} ${users} users: client CPU ${cpu.toFixed(2)} ms, Redis CPU ${redisCpu.toFixed(2)} ms, wall ${wall.toFixed(2)} ms per call`,
      );
    }
  }
} finally {
  await store.close();
  probe.disconnect();
  await redis.stop();
}
