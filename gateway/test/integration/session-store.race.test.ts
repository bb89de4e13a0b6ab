/**
 * Races across nodes, tested by racing. Lost updates: two gateway nodes (two Redis connections) add 1,000
 * rooms to one user in the same tick; the store must keep every one, and a naive read-modify-write
 * implementation (GET the JSON blob, add, SET) run through the same harness must lose some, which proves
 * the harness can tell. Check-then-create: the connection limit under concurrent attaches, store vs naive.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createRedisClient, type Redis } from '../../src/infra/redis.ts';
import { RedisSessionStore } from '../../src/session/index.ts';
import { eventually, useRedisServer } from '../support/redis.ts';

/** Far above what these tests join: the room limit has its own test. */
const MAX_ROOMS = 10_000;

/** The connecting token's iat (seconds) where revocation is not what a test is about: none is made. */
const IAT = 1_700_000_000;

const logger = pino({ level: 'silent' });
const ROOMS_PER_NODE = 500;

const server = useRedisServer();

async function connect(name: string): Promise<Redis> {
  const client = server.track(createRedisClient(server.url, { commandTimeoutMs: 5000, logger, name }));
  await eventually(() => client.ping());
  return client;
}

/**
 * Node 0 joins rooms r0..r499 and node 1 joins r500..r999, all issued in the same tick, interleaved.
 * Returns how many of the 1,000 rooms the user ends up with.
 */
async function race(
  join: (node: 0 | 1, room: string) => Promise<unknown>,
  readRooms: () => Promise<readonly string[]>,
): Promise<{ kept: number; lost: number }> {
  const joins: Promise<unknown>[] = [];
  for (let i = 0; i < ROOMS_PER_NODE; i += 1) {
    joins.push(join(0, `r${i}`), join(1, `r${ROOMS_PER_NODE + i}`));
  }
  await Promise.all(joins);
  const rooms = new Set(await readRooms());
  return { kept: rooms.size, lost: 2 * ROOMS_PER_NODE - rooms.size };
}

/** The bug the store exists to prevent: the whole session as one JSON blob, updated read-modify-write. */
async function naiveJoinRoom(redis: Redis, key: string, room: string): Promise<void> {
  const raw = await redis.get(key);
  const session = raw === null ? { rooms: [] as string[] } : (JSON.parse(raw) as { rooms: string[] });
  if (!session.rooms.includes(room)) session.rooms.push(room);
  await redis.set(key, JSON.stringify(session));
}

describe('concurrent room joins from two nodes', () => {
  it('keeps all 1,000 rooms when two nodes join 500 each in the same tick', async () => {
    const [one, two] = await Promise.all([connect('race-node-0'), connect('race-node-1')]);
    const options = { keyPrefix: 'race:', sessionTtlSeconds: 60, deadAfterSeconds: 15, logger };
    const nodes = [
      new RedisSessionStore({ ...options, redis: one }),
      new RedisSessionStore({ ...options, redis: two }),
    ] as const;
    await nodes[0].attachSocket('u1', 's1', 'node-0', 5, IAT);

    const result = await race(
      (node, room) => nodes[node].joinRoom('u1', room, MAX_ROOMS),
      async () => (await nodes[1].getSession('u1'))?.rooms ?? [],
    );

    expect(result).toEqual({ kept: 1000, lost: 0 });
  });

  it('loses updates with a naive GET/SET implementation under the same race (the test can tell)', async () => {
    const [one, two] = await Promise.all([connect('naive-node-0'), connect('naive-node-1')]);
    const key = 'naive:{user:u1}:blob';
    await one.set(key, JSON.stringify({ rooms: [] }));

    const result = await race(
      (node, room) => naiveJoinRoom(node === 0 ? one : two, key, room),
      async () => (JSON.parse((await one.get(key)) ?? '{"rooms":[]}') as { rooms: string[] }).rooms,
    );

    expect(result.lost).toBeGreaterThan(0);
  });
});

/** The check-then-create bug: count the sockets, then add one, in two round trips. */
async function naiveAttach(
  redis: Redis,
  key: string,
  socketId: string,
  maxSockets: number,
): Promise<boolean> {
  if ((await redis.hlen(key)) >= maxSockets) return false;
  await redis.hset(key, socketId, 'node');
  return true;
}

describe('concurrent attaches from two nodes', () => {
  const attempts = Array.from({ length: 60 }, (_, i) => i);

  it('admits exactly maxSockets of 60 concurrent attaches split over two nodes', async () => {
    const [one, two] = await Promise.all([connect('limit-node-0'), connect('limit-node-1')]);
    const options = { keyPrefix: 'limit:', sessionTtlSeconds: 60, deadAfterSeconds: 15, logger };
    const nodes = [
      new RedisSessionStore({ ...options, redis: one }),
      new RedisSessionStore({ ...options, redis: two }),
    ] as const;

    const results = await Promise.all(
      attempts.map((i) => nodes[i % 2 === 0 ? 0 : 1].attachSocket('u1', `s${i}`, `node-${i % 2}`, 5, IAT)),
    );

    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(Object.keys((await nodes[0].getSession('u1'))?.sockets ?? {})).toHaveLength(5);
  });

  it('admits more than maxSockets with a naive count-then-add implementation (the test can tell)', async () => {
    const [one, two] = await Promise.all([connect('naive-limit-0'), connect('naive-limit-1')]);

    const results = await Promise.all(
      attempts.map((i) => naiveAttach(i % 2 === 0 ? one : two, 'naive-limit:{user:u1}:sockets', `s${i}`, 5)),
    );

    expect(results.filter(Boolean).length).toBeGreaterThan(5);
  });
});
