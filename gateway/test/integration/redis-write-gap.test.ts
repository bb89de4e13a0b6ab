/**
 * REDIS_WRITE_GAP_MS (infra/redis.ts coalesceWrites), on a real redis-server: an idle store connection
 * writes a command at the end of the turn it was issued in; a busy one (it wrote less than the gap ago)
 * holds what it is given until the gap has passed and sends all of it in one write. Writes are counted on
 * the connection's socket (net.Socket's `_write`/`_writev`, what a Writable calls once per flush).
 */
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, type Redis } from '../../src/infra/redis.ts';
import { eventually, startRedis, type RedisProcess } from '../support/redis.ts';

let server: RedisProcess;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server.stop();
});

/** A client with `writeGapMs`, ready, and the times (performance.now) of its socket's writes from now on. */
async function countedClient(writeGapMs: number): Promise<{ redis: Redis; writes: number[] }> {
  const redis = createRedisClient(server.url, {
    commandTimeoutMs: 2000,
    logger: pino({ level: 'silent' }),
    name: 'write-gap-test',
    writeGapMs,
  });
  clients.push(redis);
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
  return { redis, writes };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('REDIS_WRITE_GAP_MS', () => {
  it('writes at once when idle, then holds the commands of later turns until the gap has passed, in one write', async () => {
    const gapMs = 200;
    const { redis, writes } = await countedClient(gapMs);
    await sleep(gapMs + 50); // idle: the connection's last write is older than the gap

    const first = redis.set('gap:a', '1');
    await nextTurn();
    expect(writes).toHaveLength(1); // idle: sent at the end of its turn, no wait
    await first;

    // Busy now (the last write is < 200 ms old): three commands from three turns wait for the gap.
    const held: Promise<unknown>[] = [redis.set('gap:b', '2')];
    await nextTurn();
    held.push(redis.incr('gap:n'));
    await nextTurn();
    held.push(redis.get('gap:a'));
    await nextTurn();
    expect(writes).toHaveLength(1);

    expect(await Promise.all(held)).toEqual(['OK', 1, '1']);
    expect(writes).toHaveLength(2); // all three in one write
    // setTimeout may round the wait down by a fraction of a millisecond, never more.
    expect(writes[1]! - writes[0]!).toBeGreaterThanOrEqual(gapMs - 2);
  });

  it('with a gap of 0 writes once per turn of the event loop, as before the gap existed', async () => {
    const { redis, writes } = await countedClient(0);
    const sameTurn = [redis.set('zero:a', '1'), redis.set('zero:b', '2')];
    await nextTurn();
    expect(writes).toHaveLength(1); // one turn's commands share a write
    const laterTurn = redis.get('zero:a');
    await nextTurn();
    expect(writes).toHaveLength(2); // the next turn's command is not held
    expect(await Promise.all([...sameTurn, laterTurn])).toEqual(['OK', 'OK', '1']);
  });
});
