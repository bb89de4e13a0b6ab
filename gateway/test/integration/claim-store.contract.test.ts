/**
 * The ClaimStore contract, run against both stores: the memory store on a fake clock, the Redis store on a
 * real redis-server (every claims Lua script runs here against real Redis). `alive` decides whose session
 * lives: a set for the memory store, the real session key for Redis.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '../../src/errors/gateway-error.ts';
import type { ClaimStore, ClaimStoreLimits, EventDefinition } from '../../src/session/claim-store.ts';
import { MemoryClaimStore } from '../../src/session/memory-claim-store.ts';
import { RedisClaimStore } from '../../src/session/redis-claim-store.ts';
import { createUserKeys } from '../../src/session/redis/user-keys.ts';
import { contractRedis } from '../support/contract-redis.ts';
import { stadiumCases } from './claim-store.stadium-cases.ts';

const logger = pino({ level: 'silent' });
const LIMITS: ClaimStoreLimits = { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 0.2 };

interface Harness {
  name: 'memory' | 'redis';
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** `nodes` handles on the same data (separate connections for Redis). */
  open(nodes?: number): Promise<ClaimStore[]>;
  setAlive(userId: string, alive: boolean): Promise<void>;
  passTime(ms: number): Promise<void>;
  /** Every key left with the event's hash tag (the memory store has no keys to leave). */
  keysOf(eventId: string): Promise<string[]>;
}

function memoryHarness(): Harness {
  let clock = 1_700_000_000_000;
  const alive = new Set<string>();
  return {
    name: 'memory',
    setup: () => Promise.resolve(),
    teardown: () => Promise.resolve(),
    open(nodes = 1) {
      const store = new MemoryClaimStore({
        limits: LIMITS,
        now: () => clock,
        sessionAlive: (u) => Promise.resolve(alive.has(u)),
      });
      return Promise.resolve(Array.from({ length: nodes }, () => store));
    },
    setAlive(userId, isAlive) {
      if (isAlive) alive.add(userId);
      else alive.delete(userId);
      return Promise.resolve();
    },
    passTime(ms) {
      clock += ms;
      return Promise.resolve();
    },
    keysOf: () => Promise.resolve([]),
  };
}

function redisHarness(): Harness {
  const redis = contractRedis<ClaimStore>('c');
  return {
    name: 'redis',
    setup: () => redis.setup(),
    teardown: () => redis.teardown(),
    open: (nodes = 1) =>
      redis.open(
        nodes,
        (client, keyPrefix) =>
          new RedisClaimStore({
            redis: client,
            ownsClient: true,
            keyPrefix,
            sessionTtlSeconds: 60,
            limits: LIMITS,
            logger,
          }),
        (s) => s.ping(),
      ),
    async setAlive(userId, isAlive) {
      // The session lives while its `x` (expiry, epoch ms) is ahead (lua/session/prelude.lua).
      const key = createUserKeys(redis.prefix)(userId).session;
      if (isAlive) await redis.raw.hset(key, 'c', 1, 'x', Date.now() + 3_600_000);
      else await redis.raw.hset(key, 'x', 0);
    },
    passTime: (ms) => new Promise((r) => setTimeout(r, ms)),
    async keysOf(eventId) {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.raw.scan(
          cursor,
          'MATCH',
          `${redis.prefix}{event:${eventId}}*`,
          'COUNT',
          1000,
        );
        cursor = next;
        found.push(...keys);
      } while (cursor !== '0');
      return found;
    },
  };
}

const def = (overrides: Partial<EventDefinition> = {}): EventDefinition => ({
  seats: ['A1', 'A2', 'A3', 'A4', 'B1', 'B2'],
  requiresAdmission: false,
  admissionRatePerSecond: 0,
  maxSeatsPerUser: 4,
  holdSeconds: 300,
  ...overrides,
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isGatewayError(err)) return err.code;
    throw err;
  }
  return 'resolved';
}

for (const harness of [memoryHarness(), redisHarness()]) {
  describe(`ClaimStore contract (${harness.name})`, () => {
    beforeAll(() => harness.setup());
    afterAll(() => harness.teardown());

    it('defines events idempotently and refuses to drop a held seat, changing nothing', async () => {
      const [s] = await harness.open();
      expect(await s!.defineEvent('e1', def())).toEqual({ created: true, seats: 6 });
      expect(await s!.defineEvent('e1', def())).toEqual({ created: false, seats: 6 });
      expect(await s!.getEvent('e1')).toMatchObject({
        maxSeatsPerUser: 4,
        requiresAdmission: false,
        holdSeconds: 300,
      });
      expect(await s!.getEvent('nope')).toBeNull();
      expect(await s!.listEvents()).toEqual(['e1']);
      expect(await s!.listEvents({ admittingByRate: true })).toEqual([]);
      await s!.defineEvent('e1', def({ admissionRatePerSecond: 2 }));
      expect(await s!.listEvents({ admittingByRate: true })).toEqual(['e1']);
      await s!.defineEvent('e1', def());
      expect(await s!.listEvents({ admittingByRate: true })).toEqual([]);
      await s!.hold('u1', 'e1', ['A1'], false);
      expect(await codeOf(s!.defineEvent('e1', def({ seats: ['A2'] })))).toBe('BAD_REQUEST');
      expect(Object.keys((await s!.seatMap('e1')).seats)).toHaveLength(6);
      expect(await s!.defineEvent('e1', def({ seats: ['A1', 'A2'] }))).toEqual({ created: false, seats: 2 });
      expect((await s!.seatMap('e1')).seats).toEqual({ A1: 'held', A2: 'free' });
    });

    it('gives exact, gap-free queue positions; joining twice keeps the place; leaving closes the gap', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('q', def());
      for (let i = 1; i <= 5; i++)
        expect(await s!.joinQueue(`u${i}`, 'q')).toEqual({ kind: 'queued', position: i, size: i });
      expect(await s!.joinQueue('u3', 'q')).toEqual({ kind: 'queued', position: 3, size: 5 });
      expect(await s!.leaveQueue('u2', 'q')).toEqual({ left: true, size: 4 });
      expect(await s!.leaveQueue('u2', 'q')).toEqual({ left: false, size: 4 });
      const { size, positions } = await s!.queuePositions('q', ['u1', 'u2', 'u3', 'u5']);
      expect(size).toBe(4);
      expect([...positions]).toEqual([
        ['u1', 1],
        ['u3', 2],
        ['u5', 4],
      ]);
      expect(await codeOf(s!.joinQueue('u1', 'missing'))).toBe('EVENT_UNKNOWN');
    });

    it('reads the positions of thousands of users at once, the same in both stores', async () => {
      // More users than one Redis queuePositions script takes (1,000), so the batches must line up.
      const [s] = await harness.open();
      await s!.defineEvent('big', def());
      const queued = Array.from({ length: 2500 }, (_, i) => `b${i}`);
      for (const userId of queued) await s!.joinQueue(userId, 'big');
      await s!.leaveQueue('b0', 'big');
      await s!.leaveQueue('b1999', 'big');
      const asked = [...queued.slice().reverse(), 'nobody', '__proto__'];
      const { size, positions } = await s!.queuePositions('big', asked);
      expect(size).toBe(2498);
      expect(positions.size).toBe(2498);
      expect(positions.get('b1')).toBe(1);
      expect(positions.get('b1998')).toBe(1998);
      expect(positions.get('b2000')).toBe(1999);
      expect(positions.get('b2499')).toBe(2498);
      expect(positions.has('b0') || positions.has('b1999') || positions.has('nobody')).toBe(false);
      expect((await s!.queuePositions('big', [])).size).toBe(2498);
    });

    it('admits in queue order by count; an admitted user who joins again is told the admission', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('a', def());
      for (let i = 1; i <= 4; i++) await s!.joinQueue(`u${i}`, 'a');
      const first = await s!.admit('a', 3);
      expect(first.map((a) => a.userId)).toEqual(['u1', 'u2', 'u3']);
      expect(await s!.joinQueue('u2', 'a')).toMatchObject({ kind: 'admitted', size: 1 });
      expect((await s!.queuePositions('a', ['u4'])).positions.get('u4')).toBe(1);
      expect((await s!.userClaims('u1')).admissions).toEqual([
        { eventId: 'a', expiresAt: first[0]!.expiresAt },
      ]);
      expect(await s!.admit('a', 10)).toHaveLength(1);
      expect(await s!.admit('a', 10)).toEqual([]);
    });

    it('admits by rate: at most one second of rate at once, then only what time allows', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('r', def({ admissionRatePerSecond: 5 }));
      for (let i = 1; i <= 20; i++) await s!.joinQueue(`u${String(i).padStart(2, '0')}`, 'r');
      const burst = await s!.admit('r');
      expect(burst.map((a) => a.userId)).toEqual(['u01', 'u02', 'u03', 'u04', 'u05']);
      await harness.passTime(450);
      const later = await s!.admit('r');
      // 450 ms at 5/s is two admissions (three if the clock moved 600 ms under a loaded machine).
      expect(later.length).toBeGreaterThanOrEqual(2);
      expect(later.length).toBeLessThanOrEqual(3);
      expect(later[0]!.userId).toBe('u06');
      expect(await s!.admit('norate-missing').catch((e: unknown) => (isGatewayError(e) ? e.code : e))).toBe(
        'EVENT_UNKNOWN',
      );
    });

    it('admits by rate below one per second: one admission carried over, then one every 1/rate seconds', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('slow', def({ admissionRatePerSecond: 0.5 }));
      for (const u of ['u1', 'u2', 'u3']) await s!.joinQueue(u, 'slow');
      // The queue waited longer than one admission's worth (2 s): one is due at once.
      expect((await s!.admit('slow')).map((a) => a.userId)).toEqual(['u1']);
      await harness.passTime(600);
      expect(await s!.admit('slow')).toEqual([]);
      await harness.passTime(1500);
      // 2.1 s at 0.5/s is one admission (two only if the clock moved past 4 s under a loaded machine).
      const later = (await s!.admit('slow')).map((a) => a.userId);
      expect(later[0]).toBe('u2');
      expect(later.length).toBeLessThanOrEqual(2);
    });

    it('holds all seats or none, names the unavailable ones, lets the holder hold again with the same fence', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('h', def());
      const first = await s!.hold('u1', 'h', ['A1', 'A2'], false);
      expect(first).toMatchObject({ ok: true, newlyHeld: ['A1', 'A2'], hold: { seatIds: ['A1', 'A2'] } });
      if (!first.ok) throw new Error('hold failed');
      const clash = await s!.hold('u2', 'h', ['A2', 'A3', 'A1'], false);
      expect(clash).toEqual({
        ok: false,
        code: 'SEAT_UNAVAILABLE',
        seatIds: ['A1', 'A2'],
        lapsed: [],
        replayed: false,
      });
      expect((await s!.seatMap('h')).seats['A3']).toBe('free');
      const again = await s!.hold('u1', 'h', ['A2', 'A3'], false);
      expect(again).toMatchObject({ ok: true, newlyHeld: ['A3'] });
      if (!again.ok) throw new Error('hold failed');
      expect(again.hold.fence).toBe(first.hold.fence);
      expect(again.hold.expiresAt).toBe(first.hold.expiresAt);
      expect(await s!.hold('u1', 'h', ['A4', 'B1'], false)).toEqual({
        ok: false,
        code: 'SEAT_LIMIT',
        limit: 4,
        lapsed: [],
        replayed: false,
      });
      expect(await codeOf(s!.hold('u1', 'h', ['Z9'], false))).toBe('SEAT_UNKNOWN');
      expect(await codeOf(s!.hold('u1', 'missing', ['A1'], false))).toBe('EVENT_UNKNOWN');
      expect((await s!.seatMap('h')).seats).toEqual({
        A1: 'held',
        A2: 'held',
        A3: 'held',
        A4: 'free',
        B1: 'free',
        B2: 'free',
      });
    });

    it('requires an admission for events that admit through the queue', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('adm', def({ requiresAdmission: true }));
      expect(await codeOf(s!.hold('u1', 'adm', ['A1'], false))).toBe('ADMISSION_REQUIRED');
      expect((await s!.seatMap('adm')).seats['A1']).toBe('free');
      expect(await s!.hold('u1', 'adm', ['A1'], true)).toMatchObject({ ok: true });
    });

    it('releases only for the holder (FORBIDDEN otherwise, nothing changes); releasing twice is fine', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('rel', def());
      await s!.hold('u1', 'rel', ['A1', 'A2'], false);
      expect(await codeOf(s!.release('u2', 'rel', ['A1']))).toBe('FORBIDDEN');
      expect(await codeOf(s!.release('u1', 'rel', ['A2', 'B1', 'Z9']))).toBe('SEAT_UNKNOWN');
      expect(await s!.release('u1', 'rel', ['A1', 'B1'])).toEqual(['A1']);
      expect(await s!.release('u1', 'rel', ['A1'])).toEqual([]);
      expect((await s!.userClaims('u1')).holds).toMatchObject([{ eventId: 'rel', seatIds: ['A2'] }]);
      expect(await s!.release('u1', 'rel', ['A2'])).toEqual(['A2']);
      expect((await s!.userClaims('u1')).holds).toEqual([]);
    });

    it('confirms a sale with the live fence (retry-safe); sold is final; a stale or wrong fence is refused', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('c', def());
      const held = await s!.hold('u1', 'c', ['A1', 'A2'], false);
      if (!held.ok) throw new Error('hold failed');
      const fence = held.hold.fence;
      expect(await codeOf(s!.confirm('u1', 'c', ['A1'], fence + 1))).toBe('FENCE_STALE');
      expect(await codeOf(s!.confirm('u2', 'c', ['A1'], fence))).toBe('FENCE_STALE');
      expect(await s!.confirm('u1', 'c', ['A1'], fence)).toEqual(['A1']);
      expect(await s!.confirm('u1', 'c', ['A1'], fence)).toEqual([]);
      expect((await s!.seatMap('c')).seats['A1']).toBe('sold');
      expect(await s!.hold('u2', 'c', ['A1'], false)).toMatchObject({ ok: false, code: 'SEAT_UNAVAILABLE' });
      expect(await codeOf(s!.release('u1', 'c', ['A1']))).toBe('FORBIDDEN');
      expect((await s!.userClaims('u1')).holds).toMatchObject([{ seatIds: ['A2'], fence }]);
    });

    it('refuses the old fence once the hold expired and another user took the seat', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('x', def({ holdSeconds: 1 }));
      const old = await s!.hold('u1', 'x', ['A1'], false);
      if (!old.ok) throw new Error('hold failed');
      await harness.passTime(1100);
      const taken = await s!.hold('u2', 'x', ['A1'], false);
      expect(taken).toMatchObject({ ok: true, lapsed: [{ eventId: 'x', userId: 'u1', seatIds: ['A1'] }] });
      if (!taken.ok) throw new Error('hold failed');
      expect(taken.hold.fence).toBeGreaterThan(old.hold.fence);
      expect(await codeOf(s!.confirm('u1', 'x', ['A1'], old.hold.fence))).toBe('FENCE_STALE');
      expect(await s!.confirm('u2', 'x', ['A1'], taken.hold.fence)).toEqual(['A1']);
    });

    it('sweeps expired holds once across nodes sweeping at the same time', async () => {
      const stores = await harness.open(3);
      const [s] = stores;
      await s!.defineEvent('sw', def({ holdSeconds: 1 }));
      await s!.hold('u1', 'sw', ['A1', 'A2'], false);
      await s!.hold('u2', 'sw', ['B1'], false);
      await harness.passTime(1100);
      const rounds = await Promise.all(stores.map((x) => x.sweep()));
      const lapsed = rounds.flatMap((r) => r.lapsed).sort((a, b) => a.userId.localeCompare(b.userId));
      expect(lapsed).toEqual([
        { eventId: 'sw', userId: 'u1', seatIds: ['A1', 'A2'] },
        { eventId: 'sw', userId: 'u2', seatIds: ['B1'] },
      ]);
      expect(Object.values((await s!.seatMap('sw')).seats).every((v) => v === 'free')).toBe(true);
      expect((await s!.sweep()).lapsed).toEqual([]);
    });

    it('logs every seat change under a version: changes after a version give each seat its latest status', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('log', def({ holdSeconds: 1 }));
      const start = await s!.seatMap('log');
      expect(await s!.seatChanges('log', undefined)).toEqual({
        version: start.version,
        complete: true,
        seats: {},
      });
      await s!.hold('u1', 'log', ['A1', 'A2'], false);
      expect(await s!.release('u1', 'log', ['A1'])).toEqual(['A1']);
      const mid = await s!.seatMap('log');
      expect(mid.version).toBeGreaterThan(start.version);
      const held = await s!.hold('u2', 'log', ['B1'], false);
      if (!held.ok) throw new Error('hold failed');
      await s!.confirm('u2', 'log', ['B1'], held.hold.fence);
      const end = await s!.seatMap('log');
      expect(await s!.seatChanges('log', start.version)).toEqual({
        version: end.version,
        complete: true,
        seats: { A1: 'free', A2: 'held', B1: 'sold' },
      });
      expect(await s!.seatChanges('log', mid.version)).toEqual({
        version: end.version,
        complete: true,
        seats: { B1: 'sold' },
      });
      expect(await s!.seatChanges('log', end.version)).toEqual({
        version: end.version,
        complete: true,
        seats: {},
      });
      // Refused requests change nothing and log nothing.
      expect(await codeOf(s!.release('u3', 'log', ['A2']))).toBe('FORBIDDEN');
      expect(await s!.hold('u3', 'log', ['A2', 'A3'], false)).toMatchObject({ ok: false });
      expect((await s!.seatMap('log')).version).toBe(end.version);
      // An expiry found by the sweeper is a change like any other.
      await harness.passTime(1100);
      expect((await s!.sweep()).lapsed).toEqual([{ eventId: 'log', userId: 'u1', seatIds: ['A2'] }]);
      const swept = await s!.seatChanges('log', end.version);
      expect(swept).toMatchObject({ complete: true, seats: { A2: 'free' } });
      expect(swept.version).toBeGreaterThan(end.version);
      // A new seat set cannot be told as changes: older versions answer incomplete, newer ones carry on.
      await s!.defineEvent('log', def({ seats: [...def().seats, 'C1'] }));
      const redefined = await s!.seatMap('log');
      expect(redefined.version).toBeGreaterThan(swept.version);
      expect(await s!.seatChanges('log', swept.version)).toEqual({
        version: redefined.version,
        complete: false,
        seats: {},
      });
      await s!.hold('u4', 'log', ['C1'], false);
      expect(await s!.seatChanges('log', redefined.version)).toMatchObject({
        complete: true,
        seats: { C1: 'held' },
      });
      // The same definition again is no change.
      await s!.defineEvent('log', def({ seats: [...def().seats, 'C1'] }));
      expect((await s!.seatChanges('log', redefined.version)).complete).toBe(true);
      expect(await codeOf(s!.seatChanges('nope', 0))).toBe('EVENT_UNKNOWN');
    });

    it('drops the queue place and holds of a user whose session ended; keeps those of a live one', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('se', def());
      await harness.setAlive('gone', true);
      await harness.setAlive('here', true);
      await s!.joinQueue('gone', 'se');
      await s!.joinQueue('here', 'se');
      await s!.hold('gone', 'se', ['A1'], false);
      await s!.hold('here', 'se', ['A2'], false);
      await harness.setAlive('gone', false);
      await harness.passTime(300);
      const round = await s!.sweep();
      expect(round.lapsed).toEqual([{ eventId: 'se', userId: 'gone', seatIds: ['A1'] }]);
      expect(round.droppedFromQueues).toBe(1);
      expect(await s!.userClaims('gone')).toEqual({ queues: [], holds: [], admissions: [] });
      const here = await s!.userClaims('here');
      expect(here.queues).toEqual([{ eventId: 'se', position: 1, size: 1 }]);
      expect(here.holds).toMatchObject([{ eventId: 'se', seatIds: ['A2'] }]);
    });

    it('computes userClaims now: positions move when people ahead leave', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('uc1', def());
      await s!.defineEvent('uc2', def());
      await s!.joinQueue('a', 'uc1');
      await s!.joinQueue('b', 'uc1');
      await s!.joinQueue('b', 'uc2');
      const held = await s!.hold('b', 'uc2', ['B2', 'B1'], false);
      if (!held.ok) throw new Error('hold failed');
      await s!.leaveQueue('a', 'uc1');
      expect(await s!.userClaims('b')).toEqual({
        queues: [
          { eventId: 'uc1', position: 1, size: 1 },
          { eventId: 'uc2', position: 1, size: 1 },
        ],
        holds: [
          { eventId: 'uc2', seatIds: ['B1', 'B2'], fence: held.hold.fence, expiresAt: held.hold.expiresAt },
        ],
        admissions: [],
      });
    });

    it('reads the claims of many users at once, each their own (the Redis store gathers them per event)', async () => {
      const [s] = await harness.open();
      const seats = Array.from({ length: 300 }, (_, i) => `S${i}`);
      await s!.defineEvent('many1', def({ seats, maxSeatsPerUser: 1 }));
      await s!.defineEvent('many2', def());
      await s!.defineEvent('many3', def());
      // 450 users: more than one script call's worth in one event; every third holds a seat, every
      // fifth is also queued in a second event, and user 0 is in an event that is then deleted.
      const users = Array.from({ length: 450 }, (_, i) => `m${i}`);
      for (const [i, u] of users.entries()) {
        await s!.joinQueue(u, 'many1');
        if (i % 3 === 0 && !(await s!.hold(u, 'many1', [`S${i / 3}`], false)).ok)
          throw new Error('hold failed');
        if (i % 5 === 0) await s!.joinQueue(u, 'many2');
      }
      await s!.joinQueue('m0', 'many3');
      await s!.deleteEvent('many3', { force: true });
      const claims = await Promise.all([...users, 'nobody', 'm7'].map((u) => s!.userClaims(u)));
      expect(claims.at(-2)).toEqual({ queues: [], holds: [], admissions: [] });
      expect(claims.at(-1)).toEqual(claims[7]);
      users.forEach((u, i) => {
        const queues = [{ eventId: 'many1', position: i + 1, size: 450 }];
        if (i % 5 === 0) queues.push({ eventId: 'many2', position: i / 5 + 1, size: 90 });
        expect(claims[i]!.queues).toEqual(queues);
        expect(claims[i]!.holds.map((h) => [h.eventId, h.seatIds])).toEqual(
          i % 3 === 0 ? [['many1', [`S${i / 3}`]]] : [],
        );
      });
    });

    it('answers a retried hold with its first outcome, changing nothing; another request id acts', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('rp', def({ maxSeatsPerUser: 2 }));
      const r1 = { requestId: 'r-1', resultTtlMs: 60_000 };
      const first = await s!.hold('u1', 'rp', ['A1'], false, r1);
      expect(first).toMatchObject({ ok: true, replayed: false, newlyHeld: ['A1'] });
      await s!.release('u1', 'rp', ['A1']);
      const version = (await s!.seatMap('rp')).version;
      expect(await s!.hold('u1', 'rp', ['A1'], false, r1)).toEqual({ ...first, replayed: true });
      expect(await s!.seatMap('rp')).toMatchObject({ version, seats: { A1: 'free' } });
      expect((await s!.userClaims('u1')).holds).toEqual([]);
      // The same request id of another user, or another request id, is another request.
      expect(await s!.hold('u2', 'rp', ['A2'], false, r1)).toMatchObject({ ok: true, replayed: false });
      expect(
        await s!.hold('u1', 'rp', ['A1'], false, { requestId: 'r-2', resultTtlMs: 60_000 }),
      ).toMatchObject({ ok: true, replayed: false, newlyHeld: ['A1'] });
      // Without a request id nothing is recorded: every call acts.
      expect(await s!.hold('u1', 'rp', ['A1'], false)).toMatchObject({
        ok: true,
        newlyHeld: [],
        replayed: false,
      });
    });

    it('replays every refusal exactly as it was first given, even after the cause went away', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('rf', def({ maxSeatsPerUser: 2 }));
      await s!.defineEvent('rfa', def({ requiresAdmission: true }));
      await s!.hold('u1', 'rf', ['A1'], false);
      const req = (requestId: string) => ({ requestId, resultTtlMs: 60_000 });
      const unavailable = await s!.hold('u2', 'rf', ['A1', 'A2'], false, req('un'));
      expect(unavailable).toEqual({
        ok: false,
        code: 'SEAT_UNAVAILABLE',
        seatIds: ['A1'],
        lapsed: [],
        replayed: false,
      });
      const limit = await s!.hold('u2', 'rf', ['A2', 'A3', 'A4'], false, req('lim'));
      expect(limit).toEqual({ ok: false, code: 'SEAT_LIMIT', limit: 2, lapsed: [], replayed: false });
      expect(await codeOf(s!.hold('u2', 'rf', ['Z9'], false, req('unk')))).toBe('SEAT_UNKNOWN');
      expect(await codeOf(s!.hold('u2', 'rfa', ['A1'], false, req('adm')))).toBe('ADMISSION_REQUIRED');
      expect(await codeOf(s!.hold('u2', 'later', ['A1'], false, req('ev')))).toBe('EVENT_UNKNOWN');
      // The causes go away: the seat is freed, the limit raised, the seat and event defined, admission shown.
      await s!.release('u1', 'rf', ['A1']);
      await s!.defineEvent('rf', def({ maxSeatsPerUser: 4, seats: [...def().seats, 'Z9'] }));
      await s!.defineEvent('later', def());
      const version = (await s!.seatMap('rf')).version;
      expect(await s!.hold('u2', 'rf', ['A1', 'A2'], false, req('un'))).toEqual({
        ...unavailable,
        replayed: true,
      });
      expect(await s!.hold('u2', 'rf', ['A2', 'A3', 'A4'], false, req('lim'))).toEqual({
        ...limit,
        replayed: true,
      });
      expect(await codeOf(s!.hold('u2', 'rf', ['Z9'], false, req('unk')))).toBe('SEAT_UNKNOWN');
      expect(await codeOf(s!.hold('u2', 'rfa', ['A1'], true, req('adm')))).toBe('ADMISSION_REQUIRED');
      expect(await codeOf(s!.hold('u2', 'later', ['A1'], false, req('ev')))).toBe('EVENT_UNKNOWN');
      expect((await s!.seatMap('rf')).version).toBe(version);
      expect((await s!.seatMap('later')).seats['A1']).toBe('free');
      expect((await s!.seatMap('rfa')).seats['A1']).toBe('free');
    });

    it('replays a hold that ended expired groups with no lapsed holds (they were announced once)', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('rl', def({ holdSeconds: 1 }));
      await s!.hold('u1', 'rl', ['A1'], false);
      await harness.passTime(1100);
      const req = { requestId: 'r-lapse', resultTtlMs: 60_000 };
      const taken = await s!.hold('u2', 'rl', ['A1'], false, req);
      expect(taken).toMatchObject({ ok: true, lapsed: [{ eventId: 'rl', userId: 'u1', seatIds: ['A1'] }] });
      expect(await s!.hold('u2', 'rl', ['A1'], false, req)).toEqual({ ...taken, lapsed: [], replayed: true });
    });

    it('lets exactly one of identical holds racing on three nodes act; the others get its outcome', async () => {
      const stores = await harness.open(3);
      await stores[0]!.defineEvent('race', def());
      const req = { requestId: 'r-race', resultTtlMs: 60_000 };
      const results = await Promise.all(
        stores.flatMap((s) => [
          s.hold('u1', 'race', ['A1', 'A2'], false, req),
          s.hold('u1', 'race', ['A1', 'A2'], false, req),
        ]),
      );
      const acted = results.filter((r) => !r.replayed);
      expect(acted).toHaveLength(1);
      expect(acted[0]).toMatchObject({ ok: true, newlyHeld: ['A1', 'A2'] });
      for (const r of results.filter((x) => x.replayed)) expect(r).toEqual({ ...acted[0], replayed: true });
      // A racing different request of the same user is a request of its own.
      const other = await Promise.all(
        stores.map((s, i) =>
          s.hold('u1', 'race', ['B1'], false, { requestId: `r-other-${i}`, resultTtlMs: 60_000 }),
        ),
      );
      expect(other.filter((r) => r.replayed)).toEqual([]);
    });

    it('forgets a hold request record after its ttl: the same request id acts again', async () => {
      const [s] = await harness.open();
      await s!.defineEvent('rt', def());
      const req = { requestId: 'r-ttl', resultTtlMs: 300 };
      expect(await s!.hold('u1', 'rt', ['A1'], false, req)).toMatchObject({ ok: true, replayed: false });
      await s!.release('u1', 'rt', ['A1']);
      expect(await s!.hold('u1', 'rt', ['A1'], false, req)).toMatchObject({ replayed: true });
      await harness.passTime(400);
      expect(await s!.hold('u1', 'rt', ['A1'], false, req)).toMatchObject({
        ok: true,
        replayed: false,
        newlyHeld: ['A1'],
      });
    });

    stadiumCases(harness);
  });
}
