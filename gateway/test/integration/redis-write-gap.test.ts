/**
 * REDIS_WRITE_GAP_MS (infra/redis.ts coalesceWrites), on real redis-servers: an idle store connection
 * writes a command at the end of the turn it was issued in; a busy one (it wrote less than the gap ago)
 * holds what it is given until the gap has passed and sends all of it in one write. Writes are counted on
 * the connection's socket (net.Socket's `_write`/`_writev`, what a Writable calls once per flush). The same
 * for a connection by REDIS_URL, that connection after a reconnect (a new socket), and the primary's
 * connection of a Sentinel client.
 */
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, type Redis, type RedisClientOptions } from '../../src/infra/redis.ts';
import { createRedisSentinelClient } from '../../src/infra/redis-sentinel.ts';
import { TurnBatches } from '../../src/infra/turn-batches.ts';
import {
  eventually,
  startSentinelTopology,
  useRedisServer,
  type SentinelTopology,
} from '../support/redis.ts';

const server = useRedisServer();

const options = (writeGapMs: number): RedisClientOptions => ({
  commandTimeoutMs: 2000,
  logger: pino({ level: 'silent' }),
  name: 'write-gap-test',
  writeGapMs,
});

/** Waits until `redis` answers; then the times (performance.now) of its current socket's writes. */
async function countWrites(redis: Redis): Promise<number[]> {
  await eventually(() => redis.ping());
  const socket = redis.stream as Socket & {
    _write: (...args: unknown[]) => void;
    _writev: (...args: unknown[]) => void;
  };
  const writes: number[] = [];
  for (const method of ['_write', '_writev'] as const) {
    const original = socket[method].bind(socket);
    socket[method] = (...args: unknown[]) => {
      writes.push(performance.now());
      original(...args);
    };
  }
  return writes;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Idle, one command leaves at the end of its turn; then, busy, three commands issued in three later turns
 * wait for the gap and leave together in one write.
 */
async function expectGap(redis: Redis, writes: number[], gapMs: number, prefix: string): Promise<void> {
  await sleep(gapMs + 50); // idle: the connection's last write is older than the gap
  const before = writes.length;

  const first = redis.set(`${prefix}:a`, '1');
  await nextTurn();
  expect(writes).toHaveLength(before + 1); // idle: sent at the end of its turn, no wait
  await first;

  // Busy now (the last write is younger than the gap): three commands from three turns wait for it.
  const held: Promise<unknown>[] = [redis.set(`${prefix}:b`, '2')];
  await nextTurn();
  held.push(redis.incr(`${prefix}:n`));
  await nextTurn();
  held.push(redis.get(`${prefix}:a`));
  await nextTurn();
  expect(writes).toHaveLength(before + 1);

  expect(await Promise.all(held)).toEqual(['OK', 1, '1']);
  expect(writes).toHaveLength(before + 2); // all three in one write
  // setTimeout may round the wait down by a fraction of a millisecond, never more.
  expect(writes[before + 1]! - writes[before]!).toBeGreaterThanOrEqual(gapMs - 2);
}

describe('REDIS_WRITE_GAP_MS', () => {
  const GAP_MS = 200;

  it('writes at once when idle, then holds the commands of later turns until the gap has passed, in one write; again after a reconnect', async () => {
    const redis = server.track(createRedisClient(server.url, options(GAP_MS)));
    await expectGap(redis, await countWrites(redis), GAP_MS, 'url');

    // A reconnect opens a new socket: it is batched too.
    const reconnected = new Promise((resolve) => redis.once('ready', resolve));
    redis.disconnect(true);
    await reconnected;
    await expectGap(redis, await countWrites(redis), GAP_MS, 'again');
  });

  it('with a gap of 0 writes once per turn of the event loop, as before the gap existed', async () => {
    const redis = server.track(createRedisClient(server.url, options(0)));
    const writes = await countWrites(redis);
    const sameTurn = [redis.set('zero:a', '1'), redis.set('zero:b', '2')];
    await nextTurn();
    expect(writes).toHaveLength(1); // one turn's commands share a write
    const laterTurn = redis.get('zero:a');
    await nextTurn();
    expect(writes).toHaveLength(2); // the next turn's command is not held
    expect(await Promise.all([...sameTurn, laterTurn])).toEqual(['OK', 'OK', '1']);
  });

  it('sends what a turn batch made of the turn in the same write as the turn’s other commands, not a turn later', async () => {
    const redis = server.track(createRedisClient(server.url, options(0)));
    const writes = await countWrites(redis);
    const replies: Promise<unknown>[] = [];
    // As a herd's restores do: requests gathered over the turn, one command made of them at its end.
    const batches = new TurnBatches<string, string>((key, values) => {
      replies.push(redis.rpush(key, ...values));
    }, 100);
    const direct = redis.set('batched:direct', '1');
    for (const value of ['a', 'b', 'c']) batches.add('batched:list', value);
    await nextTurn();
    await nextTurn(); // a command left for a later turn would have been written by now
    expect(writes).toHaveLength(1);
    expect(await Promise.all([direct, ...replies])).toEqual(['OK', 3]);
  });

  describe('through Sentinel', () => {
    let topology: SentinelTopology;
    beforeAll(async () => {
      topology = await startSentinelTopology();
    }, 60_000);
    afterAll(async () => {
      await topology?.stop();
    });

    it('batches the writes to the primary the sentinels name the same way', async () => {
      const sentinel = {
        sentinels: topology.sentinels,
        name: topology.name,
        sentinelPassword: undefined,
        password: undefined,
      };
      const redis = server.track(createRedisSentinelClient(sentinel, options(GAP_MS)));
      await expectGap(redis, await countWrites(redis), GAP_MS, 'sentinel');
      expect(await redis.role()).toContain('master');
    });
  });
});
