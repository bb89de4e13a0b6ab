/**
 * What only the Redis claim store has: the key layout (one hash tag per event, the user's keys in the
 * user's slot), the user-side index written with the event-side script and repaired on restore, and the
 * script replies the contract suite does not reach (lapsed holds reported by a hold, settle of a dropped user).
 */
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../src/infra/redis.ts';
import { createClaimKeys, EVENT_KEY_PARTS } from '../../src/session/claim-keys.ts';
import { CLAIM_SCRIPT_SOURCES } from '../../src/session/claim-scripts.ts';
import { RedisClaimStore } from '../../src/session/redis-claim-store.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';

const logger = pino({ level: 'silent' });
let server: RedisProcess;
let raw: Redis;
let store: RedisClaimStore;
const PREFIX = 'rc:';
const keys = createClaimKeys(PREFIX);

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.url);
  store = new RedisClaimStore({
    redis: createRedisClient(server.url, { commandTimeoutMs: 2000, logger, name: 'redis-claims' }),
    ownsClient: true,
    keyPrefix: PREFIX,
    sessionTtlSeconds: 60,
    limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 0.2 },
    logger,
  });
  for (let i = 0; ; i++) {
    try {
      await store.ping();
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
});
afterAll(async () => {
  await store.close();
  raw.disconnect();
  await server.stop();
});

const slotTag = (key: string) => /\{[^}]*\}/.exec(key)?.[0];

describe('RedisClaimStore on a real redis-server', () => {
  it('keeps every key of one event under one hash tag, and the user keys under the session`s tag', () => {
    const eventKeys = keys.event('ev}{%1');
    expect(eventKeys).toHaveLength(EVENT_KEY_PARTS.length);
    expect(new Set(eventKeys.map(slotTag))).toEqual(new Set(['{event:ev%7D%7B%251}']));
    expect(slotTag(keys.userIndex('u}1'))).toBe('{user:u%7D1}');
    expect(slotTag(keys.request('u}1', 'r'))).toBe('{user:u%7D1}');
    expect(slotTag(keys.userSession('u}1'))).toBe('{user:u%7D1}');
    // No script builds a key name: every command's key is one of the KEYS it is given (K_* of prelude.lua).
    for (const source of Object.values(CLAIM_SCRIPT_SOURCES)) {
      for (const [, command, key] of source.matchAll(/redis\.call\('([A-Z]+)'(?:,\s*([^,)]+))?/g)) {
        if (command !== 'TIME') expect(`${command} ${key}`).toMatch(/^[A-Z]+ K_[A-Z]+$/);
      }
    }
  });

  it('writes the user index with a join or a hold, and drops stale entries on restore', async () => {
    await store.defineEvent('ix', {
      seats: ['A'],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 2,
      holdSeconds: 300,
    });
    await store.joinQueue('ixu', 'ix');
    expect(await raw.hkeys(keys.userIndex('ixu'))).toEqual(['ix']);
    expect(await raw.pttl(keys.userIndex('ixu'))).toBeGreaterThan(60_000);
    // A stale entry (an event where the user has nothing, one that does not exist): harmless, then repaired.
    await raw.hset(keys.userIndex('ixu'), 'gone-event', 1, 'other', 1);
    await store.defineEvent('other', {
      seats: [],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 1,
      holdSeconds: 300,
    });
    const claims = await store.userClaims('ixu');
    expect(claims.queues).toEqual([{ eventId: 'ix', position: 1, size: 1 }]);
    await expect.poll(() => raw.hkeys(keys.userIndex('ixu'))).toEqual(['ix']);
    // A hold refused by the event side still leaves an index entry: harmless, repaired the same way.
    await store.hold('other-user', 'ix', ['A'], false);
    await store.hold('ixu2', 'ix', ['A'], false);
    expect(await raw.hkeys(keys.userIndex('ixu2'))).toEqual(['ix']);
    expect(await store.userClaims('ixu2')).toEqual({ queues: [], holds: [], admissions: [] });
    await expect.poll(() => raw.hkeys(keys.userIndex('ixu2'))).toEqual([]);
  });

  it('reports holds it ended because they had expired (claimHold), once', async () => {
    await store.defineEvent('lap', {
      seats: ['L1', 'L2'],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 2,
      holdSeconds: 1,
    });
    await store.hold('early', 'lap', ['L1', 'L2'], false);
    await new Promise((r) => setTimeout(r, 1100));
    const taken = await store.hold('late', 'lap', ['L2'], false);
    expect(taken).toMatchObject({
      ok: true,
      lapsed: [{ eventId: 'lap', userId: 'early', seatIds: ['L1', 'L2'] }],
    });
    expect((await store.sweep()).lapsed.filter((l) => l.eventId === 'lap' && l.userId === 'early')).toEqual(
      [],
    );
    expect((await store.seatMap('lap')).seats).toEqual({ L1: 'free', L2: 'held' });
  });

  it('settles members by their session: a dropped user is reported once, the index goes with them', async () => {
    await store.defineEvent('st', {
      seats: ['S1'],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 1,
      holdSeconds: 300,
    });
    await store.joinQueue('st-dead', 'st');
    await store.hold('st-dead', 'st', ['S1'], false);
    await raw.hset(keys.userSession('st-live'), 'createdAt', 1);
    await store.joinQueue('st-live', 'st');
    await new Promise((r) => setTimeout(r, 300));
    const [a, b] = await Promise.all([store.sweep(), store.sweep()]);
    const dropped = [...a.lapsed, ...b.lapsed].filter((l) => l.eventId === 'st');
    expect(dropped).toEqual([{ eventId: 'st', userId: 'st-dead', seatIds: ['S1'] }]);
    expect(a.droppedFromQueues + b.droppedFromQueues).toBe(1);
    expect(await raw.exists(keys.userIndex('st-dead'))).toBe(0);
    expect(await raw.zscore(keys.event('st')[10]!, 'st-live')).not.toBeNull();
    expect((await store.queuePositions('st', ['st-live', 'st-dead'])).positions).toEqual(
      new Map([['st-live', 1]]),
    );
  });
});
