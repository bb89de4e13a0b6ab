/**
 * Benchmark, not a test: the claims sweeper with many defined events and few holds (issue 15). One real
 * Redis, the Redis claim store's sweep run directly (no gateway), both ways in the same run:
 * `walk` visits every defined event each round (what the sweeper did before the due index, and what it
 * still does on a node's first round and every 60th as a backstop), `due` reads the due index and visits
 * only the events whose time has come.
 *
 *   node --import tsx gateway/bench/sweeper.ts [--events 10000] [--holds 20] [--rounds 20]
 *
 * - idle: `events` events, `holds` of them with one live hold (not due): a round's time, the commands the
 *   node sent (counted on its connection) and the CPU Redis spent (INFO cpu), median of `rounds` rounds.
 * - due: the same `holds` holds expired (holdSeconds 1, waited out): one round, which ends them all.
 * Prints a markdown table.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { redisCpuMs } from './cpu-usage.ts';
import { startRedis } from '../../dev/redis.ts';
import { createRedisClient } from '../src/infra/redis.ts';
import { RedisClaimStore } from '../src/session/redis-claim-store.ts';
import { sweepClaims, type SweepContext, type SweepMode } from '../src/session/redis/claim-sweep.ts';
import { createEventKeys } from '../src/session/redis/event-keys.ts';
import { createNodeKeys } from '../src/session/redis/node-keys.ts';
import { defineScripts } from '../src/session/redis/scripts.ts';
import { createUserKeys } from '../src/session/redis/user-keys.ts';
import { median } from './median.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000' },
    holds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '20' },
  },
});
const EVENTS = Number(values.events);
const HOLDS = Number(values.holds);
const ROUNDS = Number(values.rounds);
const PREFIX = 'sw:';
const logger = pino({ level: 'silent' });
const limits = { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 60 };

const server = await startRedis();
const raw = new Redis(server.url);
const redis = createRedisClient(server.url, { commandTimeoutMs: 20_000, logger, name: 'bench' });
const store = new RedisClaimStore({ redis, keyPrefix: PREFIX, sessionTtlSeconds: 60, limits, logger });
for (let i = 0; ; i++) {
  try {
    await store.ping();
    break;
  } catch (err) {
    if (i > 200) throw err;
    await new Promise((r) => setTimeout(r, 25));
  }
}
// Count what the node sends: every command, scripts included, goes through sendCommand.
let sent = 0;
const sendCommand = redis.sendCommand.bind(redis);
redis.sendCommand = (...args: Parameters<typeof sendCommand>) => {
  sent += 1;
  return sendCommand(...args);
};
const context: SweepContext = {
  redis,
  scripts: defineScripts(redis),
  eventKeys: createEventKeys(PREFIX),
  userKeys: createUserKeys(PREFIX),
  nodeKeys: createNodeKeys(PREFIX),
  indexTtlMs: 120_000,
  checkMs: limits.sessionCheckSeconds * 1000,
};

const event = (i: number) => `ev${String(i).padStart(5, '0')}`;
const holders = Array.from({ length: HOLDS }, (_, i) => event(Math.floor((i * EVENTS) / HOLDS)));
const define = (holdSeconds: number) => async (i: number) =>
  store.defineEvent(event(i), {
    seats: ['A1', 'A2', 'A3', 'A4'],
    requiresAdmission: false,
    admissionRatePerSecond: 0,
    maxSeatsPerUser: 4,
    holdSeconds,
  });
async function inBatches(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += 500)
    await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, j) => fn(i + j)));
}
async function round(
  mode: SweepMode,
): Promise<{ ms: number; commands: number; redisMs: number; lapsed: number }> {
  const cpu = await redisCpuMs(raw);
  const before = sent;
  const started = performance.now();
  const result = await sweepClaims(context, mode);
  const ms = performance.now() - started;
  return {
    ms,
    commands: sent - before,
    redisMs: (await redisCpuMs(raw)) - cpu,
    lapsed: result.lapsed.length,
  };
}
async function idle(mode: SweepMode) {
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(mode));
  return {
    ms: median(rounds.map((r) => r.ms)),
    commands: median(rounds.map((r) => r.commands)),
    redisMs: median(rounds.map((r) => r.redisMs)),
    lapsed: 0,
  };
}
async function dueRound(mode: SweepMode) {
  await Promise.all(holders.map((e, i) => store.hold(`u${i}`, e, ['A1'], false)));
  await new Promise((r) => setTimeout(r, 1200));
  return round(mode);
}

await inBatches(EVENTS, define(300));
await Promise.all(holders.map((e, i) => store.hold(`idle${i}`, e, ['A4'], false)));
await round('walk'); // files every event's due time once, as a node's first round does
const idleWalk = await idle('walk');
const idleDue = await idle('due');
// The same events now hold for 1 s: a hold each, waited out, then one round ends them all.
await Promise.all(holders.map((e, i) => store.release(`idle${i}`, e, ['A4'])));
await inBatches(HOLDS, (i) => define(1)(Math.floor((i * EVENTS) / HOLDS)));
const dueWalk = await dueRound('walk');
const dueDue = await dueRound('due');

const row = (name: string, r: { ms: number; commands: number; redisMs: number; lapsed: number }) =>
  `| ${name} | ${r.ms.toFixed(1)} | ${r.commands} | ${r.redisMs.toFixed(1)} | ${r.lapsed} |`;
console.log(
  `\n${EVENTS} events, ${HOLDS} with a hold; median of ${ROUNDS} idle rounds, one round with the holds due\n`,
);
console.log('| round | ms | commands sent | Redis CPU ms | holds ended |');
console.log('|---|---:|---:|---:|---:|');
console.log(row('idle, walk (every event)', idleWalk));
console.log(row('idle, due index', idleDue));
console.log(row(`${HOLDS} due, walk`, dueWalk));
console.log(row(`${HOLDS} due, due index`, dueDue));
await store.close();
redis.disconnect();
raw.disconnect();
await server.stop();
