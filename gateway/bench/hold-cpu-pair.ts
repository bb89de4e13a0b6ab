/**
 * Benchmark, not a test: Redis' CPU per `seat:hold` with a request record (the SDK sends a request id with
 * every call), for the claim stores of two checkouts side by side on one Redis: the hold scripts' own cost,
 * without a gateway or websockets in the way. A is another checkout (`--a-root`: e.g. `git worktree add
 * /tmp/before <rev>`, with `node_modules` linked or installed there), B this one. Both hold seats of one
 * event (`--seats` seats, `maxSeatsPerUser` 1) for the same 100 users, so they see the same request lists;
 * each win is released, as in queue-seats.ts. They take turns, B first in odd rounds; round 0 warms both up
 * and is not counted. Per round: `--holds` holds with 100 in flight, and Redis' CPU (user + system, INFO
 * cpu) and its `EVALSHA` time (INFO commandstats) divided by the holds. The result is the median of each
 * side and B's over A's. Without `--a-root`, A is this checkout too: the spread of one build against itself.
 *
 *   node --import tsx gateway/bench/hold-cpu-pair.ts --a-root /tmp/before [--holds 20000] [--seats 20]
 *     [--rounds 8]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startRedis } from '../../dev/redis.ts';
import type { ClaimStore } from '../src/session/claim-store.ts';
import type * as RedisInfraModule from '../src/infra/redis.ts';
import type * as ClaimStoreModule from '../src/session/redis-claim-store.ts';
import { redisCpuMs } from './cpu-usage.ts';
import { median } from './median.ts';

const { values } = parseArgs({
  options: {
    'a-root': { type: 'string' },
    holds: { type: 'string', default: '20000' },
    seats: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '8' },
  },
});
const HOLDS = Number(values.holds);
const SEATS = Array.from({ length: Number(values.seats) }, (_, i) => `S${i}`);
const ROUNDS = Number(values.rounds);
const IN_FLIGHT = 100;
const SIDES = ['A', 'B'] as const;
type Side = (typeof SIDES)[number];

const here = resolve(new URL('../..', import.meta.url).pathname);
const roots: Record<Side, string> = { A: resolve(values['a-root'] ?? here), B: here };
const silent = pino({ level: 'silent' });

const redis = await startRedis();
const probe = new Redis(redis.url);

/** The claim store of the checkout at `root`, on the shared Redis. */
async function storeOf(root: string): Promise<ClaimStore> {
  const infra = (await import(
    pathToFileURL(`${root}/gateway/src/infra/redis.ts`).href
  )) as typeof RedisInfraModule;
  const claims = (await import(
    pathToFileURL(`${root}/gateway/src/session/redis-claim-store.ts`).href
  )) as typeof ClaimStoreModule;
  const client = infra.createRedisClient(redis.url, {
    commandTimeoutMs: 5000,
    logger: silent,
    name: 'bench',
  });
  await new Promise((ready) => client.once('ready', ready));
  return new claims.RedisClaimStore({
    redis: client,
    ownsClient: true,
    keyPrefix: 'stayline:',
    sessionTtlSeconds: 120,
    limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 30 },
    logger: silent,
  });
}

let requestSeq = 0;
/** One round of one side: Redis' CPU and EVALSHA time per hold, µs. */
async function round(store: ClaimStore): Promise<{ cpu: number; evalsha: number }> {
  await probe.config('RESETSTAT');
  const cpuBefore = await redisCpuMs(probe);
  let started = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, i) => {
      while (started < HOLDS) {
        started += 1;
        const seat = SEATS[Math.floor(Math.random() * SEATS.length)]!;
        const request = { requestId: `pair-${++requestSeq}`, resultTtlMs: 120_000 };
        const result = await store.hold(`u${i}`, 'pair', [seat], false, request);
        if (result.ok) await store.release(`u${i}`, 'pair', [seat]);
      }
    }),
  );
  const cpu = (1000 * ((await redisCpuMs(probe)) - cpuBefore)) / HOLDS;
  const stats = /cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await probe.info('commandstats'));
  return { cpu, evalsha: Number(stats?.[1] ?? NaN) / HOLDS };
}

try {
  const stores: Record<Side, ClaimStore> = { A: await storeOf(roots.A), B: await storeOf(roots.B) };
  await stores.B.defineEvent('pair', {
    seats: SEATS,
    requiresAdmission: false,
    admissionRatePerSecond: 0,
    maxSeatsPerUser: 1,
    holdSeconds: 300,
  });
  const cpu: Record<Side, number[]> = { A: [], B: [] };
  const evalsha: Record<Side, number[]> = { A: [], B: [] };
  for (let r = 0; r <= ROUNDS; r++) {
    for (const side of r % 2 === 1 ? (['B', 'A'] as const) : SIDES) {
      const got = await round(stores[side]);
      if (r === 0) continue;
      cpu[side].push(got.cpu);
      evalsha[side].push(got.evalsha);
    }
  }
  const f = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
  console.log(`hold-cpu-pair: A ${roots.A}, B ${roots.B}; ${HOLDS} holds a round, ${ROUNDS} rounds`);
  for (const side of SIDES)
    console.log(`${side}: Redis CPU µs per hold ${f(cpu[side])}; EVALSHA µs per hold ${f(evalsha[side])}`);
  console.log(
    `median Redis CPU µs per hold: A ${median(cpu.A).toFixed(1)}, B ${median(cpu.B).toFixed(1)}, B/A ${(median(cpu.B) / median(cpu.A)).toFixed(2)}`,
  );
  await Promise.all(SIDES.map((side) => stores[side].close()));
} finally {
  probe.disconnect();
  await redis.stop();
}
process.exit(0);
