/**
 * The holder and group buckets of the Redis claim store (issue 15): an event spreads its seat holders and
 * its hold groups over def field `nb` small hashes each (lua/claims/prelude.lua's bucket_key), so each
 * stays a listpack. The scripts' bucket_of and the gateway's bucketOf must agree; an event defined before
 * buckets (no `nb`) keeps working and moves into buckets when defined again, as does one that grew; a
 * delete leaves no key of the event.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClaimStore } from '../../src/session/redis-claim-store.ts';
import { bucketOf } from '../../src/session/redis/bucket-hash.ts';
import { createEventKeys, EVENT_KEY_PARTS } from '../../src/session/redis/event-keys.ts';
import { contractRedis } from '../support/contract-redis.ts';

const logger = pino({ level: 'silent' });
const suite = contractRedis<RedisClaimStore>('bk');
let PREFIX = '';
let eventKeys = createEventKeys('unset:');
let store: RedisClaimStore;
const raw = () => suite.raw;

beforeAll(async () => {
  await suite.setup();
  [store] = (await suite.open(
    1,
    (redis, prefix) =>
      new RedisClaimStore({
        redis,
        ownsClient: true,
        keyPrefix: prefix,
        sessionTtlSeconds: 60,
        limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 60 },
        logger,
      }),
    (s) => s.ping(),
  )) as [RedisClaimStore];
  PREFIX = suite.prefix;
  eventKeys = createEventKeys(PREFIX);
});
afterAll(() => suite.teardown());

const define = (eventId: string, seats: string[], maxSeatsPerUser = 4) =>
  store.defineEvent(eventId, {
    seats,
    requiresAdmission: false,
    admissionRatePerSecond: 0,
    maxSeatsPerUser,
    holdSeconds: 300,
  });
const seatIds = (n: number) => Array.from({ length: n }, (_, i) => `S${Math.floor(i / 40)}-${i % 40}`);
const bucketCount = async (eventId: string) => Number((await raw().hget(eventKeys(eventId).def, 'nb')) ?? 0);
/** Every key of the event's hash tag, sorted. */
async function keysOf(eventId: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await raw().scan(cursor, 'MATCH', `${PREFIX}{event:${eventId}}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}
const heldSeats = async (eventId: string) =>
  Object.entries((await store.seatMap(eventId)).seats)
    .filter(([, status]) => status === 'held')
    .map(([seat]) => seat)
    .sort();

describe('holder and group buckets', () => {
  it('computes the same bucket in Lua (prelude.lua) as in TypeScript (bucket-hash.ts), whatever the id', async () => {
    const prelude = readFileSync(
      new URL('../../src/session/lua/claims/prelude.lua', import.meta.url),
      'utf8',
    );
    const ids = [
      '',
      'a',
      'A-1',
      'R12-99',
      'user-0000001',
      'ü 🙂',
      'seat-é',
      '__proto__',
      'x'.repeat(300),
      '\u0000\u00ff',
    ];
    for (let i = 0; i < 200; i++) ids.push(`S${i}-${i * 7}`, `u${i}`);
    for (const buckets of [1, 7, 64, 1563]) {
      const lua = (await raw().eval(
        `${prelude}\nlocal out = {}\nfor i = 2, #ARGV do out[#out + 1] = bucket_of(ARGV[i], tonumber(ARGV[1])) end\nreturn out`,
        EVENT_KEY_PARTS.length,
        ...EVENT_KEY_PARTS.map((part) => eventKeys('hash')[part]),
        buckets,
        ...ids,
      )) as number[];
      expect(lua).toEqual(ids.map((id) => bucketOf(id, buckets)));
    }
  });

  it('keeps every holder and group in the bucket EventKeys.bucket names, each bucket a listpack when full', async () => {
    const seats = seatIds(6400);
    await define('full', seats);
    expect(await bucketCount('full')).toBe(100);
    const users = Array.from({ length: 3200 }, (_, i) => `user-${i}`);
    for (let i = 0; i < users.length; i += 200) {
      await Promise.all(
        users.slice(i, i + 200).map(async (u, j) => {
          const k = 2 * (i + j);
          expect(await store.hold(u, 'full', [seats[k]!, seats[k + 1]!], false)).toMatchObject({ ok: true });
        }),
      );
    }
    const k = eventKeys('full');
    for (const [i, u] of users.entries()) {
      if (i % 97 !== 0) continue;
      expect(await raw().hget(k.bucket('holder', seats[2 * i]!, 100), seats[2 * i]!)).toBe(u);
      expect(await raw().hexists(k.bucket('groups', u, 100), u)).toBe(1);
    }
    const buckets = (await keysOf('full')).filter((key) => /:(holder|groups):\d+$/.test(key));
    expect(buckets).toHaveLength(200);
    const encodings = await Promise.all(buckets.map((key) => raw().object('ENCODING', key)));
    expect(new Set(encodings)).toEqual(new Set(['listpack']));
    expect(await heldSeats('full')).toEqual([...seats].sort());
    expect(await store.release('user-5', 'full', [seats[10]!, seats[11]!])).toEqual([seats[10], seats[11]]);
    expect(await raw().hexists(k.bucket('groups', 'user-5', 100), 'user-5')).toBe(0);
  });

  it('reads an event defined before buckets (no `nb`), and moves its holds into buckets when defined again', async () => {
    const seats = seatIds(200);
    await define('old', seats);
    // What an event looked like before issue 15's round 3: no `nb`, one `holder` and one `groups` hash.
    await raw().hdel(eventKeys('old').def, 'nb');
    const a = await store.hold('old-a', 'old', ['S0-1', 'S0-2'], false);
    const b = await store.hold('old-b', 'old', ['S4-3'], false);
    if (!a.ok || !b.ok) throw new Error('not held');
    expect(await raw().hlen(eventKeys('old').holder)).toBe(3);
    expect(await raw().hlen(eventKeys('old').groups)).toBe(2);
    expect(await heldSeats('old')).toEqual(['S0-1', 'S0-2', 'S4-3']);

    await define('old', seats);
    expect(await bucketCount('old')).toBe(4);
    expect(await raw().exists(eventKeys('old').holder, eventKeys('old').groups)).toBe(0);
    expect(await heldSeats('old')).toEqual(['S0-1', 'S0-2', 'S4-3']);
    expect((await store.userClaims('old-a')).holds).toEqual([a.hold]);
    expect(await store.hold('old-c', 'old', ['S0-2'], false)).toMatchObject({ ok: false });
    expect(await store.confirm('old-b', 'old', ['S4-3'], b.hold.fence)).toEqual(['S4-3']);
    expect(await store.release('old-a', 'old', ['S0-1'])).toEqual(['S0-1']);
    expect(await heldSeats('old')).toEqual(['S0-2']);
  });

  it('rebuilds the buckets of an event that grew, keeping every hold, and keeps them when it grows a little', async () => {
    await define('grow', seatIds(40));
    expect(await bucketCount('grow')).toBe(1);
    const held = await store.hold('g-1', 'grow', ['S0-1', 'S0-39'], false);
    if (!held.ok) throw new Error('not held');
    await define('grow', seatIds(90));
    expect(await bucketCount('grow')).toBe(1);
    await define('grow', seatIds(1000));
    expect(await bucketCount('grow')).toBe(16);
    expect(await heldSeats('grow')).toEqual(['S0-1', 'S0-39']);
    expect((await store.userClaims('g-1')).holds).toEqual([held.hold]);
    expect(await raw().hget(eventKeys('grow').bucket('holder', 'S0-39', 16), 'S0-39')).toBe('g-1');
    expect(await store.seatMap('grow')).toMatchObject({ seats: { 'S0-1': 'held', 'S1-0': 'free' } });
    // A held seat still blocks its removal, found in its bucket.
    await expect(
      define(
        'grow',
        seatIds(1000).filter((s) => s !== 'S0-39'),
      ),
    ).rejects.toThrow();
  });

  it('reads one section`s holders bucket by bucket, and deletes every bucket with the event', async () => {
    const seats = Array.from({ length: 900 }, (_, i) => `${String.fromCharCode(65 + (i % 3))}:${i}`);
    await store.defineEvent('sect', {
      seats,
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 4,
      holdSeconds: 300,
      sectionSeparator: ':',
    });
    const inB = seats.filter((s) => s.startsWith('B:')).slice(0, 40);
    for (let i = 0; i < inB.length; i += 4) {
      expect(await store.hold(`s-${i}`, 'sect', inB.slice(i, i + 4), false)).toMatchObject({ ok: true });
    }
    expect(await store.hold('s-a', 'sect', ['A:0', 'C:2'], false)).toMatchObject({ ok: true });
    const section = await store.seatMap('sect', 'B');
    expect(Object.keys(section.seats)).toHaveLength(300);
    expect(
      Object.entries(section.seats)
        .filter(([, s]) => s === 'held')
        .map(([seat]) => seat)
        .sort(),
    ).toEqual([...inB].sort());
    expect((await keysOf('sect')).filter((key) => /:(holder|groups):\d+$/.test(key)).length).toBeGreaterThan(
      10,
    );
    await store.deleteEvent('sect', { force: true });
    expect(await keysOf('sect')).toEqual([]);
  });
});
