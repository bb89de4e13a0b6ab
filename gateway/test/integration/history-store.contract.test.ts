/**
 * The HistoryStore contract, run against both stores: the memory one on a fake clock, the Redis one on a
 * real redis-server (its two scripts run here against real Redis), two "nodes" on the same data.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '../../src/errors/gateway-error.ts';
import type { HistoryLimits, HistoryStore, StreamRef } from '../../src/session/history-store.ts';
import { MemoryHistoryStore } from '../../src/session/memory-history-store.ts';
import { RedisHistoryStore } from '../../src/session/redis-history-store.ts';
import { contractRedis } from '../support/contract-redis.ts';

interface Harness {
  name: 'memory' | 'redis';
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** `nodes` stores on the same data (separate connections for Redis), with these limits. */
  open(limits: HistoryLimits, nodes?: number): Promise<HistoryStore[]>;
  passTime(ms: number): Promise<void>;
  /** Loses every stream's history (Redis: FLUSHALL, as a restart without data would). */
  loseEverything(): Promise<void>;
  /** The keys of a room stream, Redis only: their slot and TTLs. */
  keys?: (room: string) => Promise<{ name: string; pttl: number }[]>;
  /** Subscribes a fresh connection to `channel`, Redis only; resolves once subscribed. */
  subscribe?: (channel: string) => Promise<{ messages: string[]; close(): void }>;
}

function memoryHarness(): Harness {
  let clock = 1_700_000_000_000;
  let stores: MemoryHistoryStore[] = [];
  let limits: HistoryLimits | undefined;
  return {
    name: 'memory',
    setup: () => Promise.resolve(),
    teardown: () => Promise.resolve(),
    open(l, nodes = 1) {
      limits = l;
      const store = new MemoryHistoryStore({ limits: l, now: () => clock });
      stores = [store];
      return Promise.resolve(Array.from({ length: nodes }, () => store));
    },
    passTime(ms) {
      clock += ms;
      return Promise.resolve();
    },
    loseEverything() {
      // A memory store loses its history with its process: a new store on the same clock.
      const fresh = new MemoryHistoryStore({ limits: limits!, now: () => clock });
      Object.assign(stores[0]!, { streams: (fresh as unknown as { streams: unknown }).streams });
      return Promise.resolve();
    },
  };
}

function redisHarness(): Harness {
  const redis = contractRedis<HistoryStore>('h');
  return {
    name: 'redis',
    setup: () => redis.setup(),
    teardown: () => redis.teardown(),
    open: (limits, nodes = 1) =>
      redis.open(
        nodes,
        (client, keyPrefix) => new RedisHistoryStore({ redis: client, ownsClient: true, keyPrefix, limits }),
        (s) => s.ping(),
      ),
    passTime: (ms) => new Promise((r) => setTimeout(r, ms)),
    async loseEverything() {
      await redis.raw.flushall();
    },
    async subscribe(channel) {
      const sub = new Redis(redis.url);
      const messages: string[] = [];
      sub.on('message', (_channel: string, message: string) => messages.push(message));
      await sub.subscribe(channel);
      return { messages, close: () => sub.disconnect() };
    },
    async keys(room) {
      const names = await redis.raw.keys(`${redis.prefix}*`);
      const mine = names.filter((k) => k.includes(`{room:${room}}`));
      return Promise.all(mine.map(async (name) => ({ name, pttl: await redis.raw.pttl(name) })));
    },
  };
}

const room = (name: string): StreamRef => ({ kind: 'room', room: name });
const user = (id: string): StreamRef => ({ kind: 'user', userId: id });

for (const harness of [memoryHarness(), redisHarness()]) {
  describe(`HistoryStore contract (${harness.name})`, () => {
    beforeAll(() => harness.setup());
    afterAll(() => harness.teardown());

    it('gives each message of a stream the next offset in one epoch, across nodes, and replays what follows a position', async () => {
      const [a, b] = await harness.open({ size: 100, ttlSeconds: 3600 }, 2);
      const head = await a!.since(room('news'), undefined);
      expect(head).toMatchObject({ last: 0, messages: [], gap: undefined });
      const positions = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a! : b!).append(room('news'), 'headline', { i })),
      );
      expect(positions.map((p) => p.offset).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      expect(new Set(positions.map((p) => p.epoch))).toEqual(new Set([head.epoch]));
      const read = await b!.since(room('news'), { epoch: head.epoch, offset: 15 });
      expect(read).toMatchObject({ epoch: head.epoch, last: 20, gap: undefined });
      expect(read.messages.map((m) => m.offset)).toEqual([16, 17, 18, 19, 20]);
      const byOffset = new Map(positions.map((p, i) => [p.offset, i]));
      expect(read.messages.map((m) => m.data)).toEqual(
        read.messages.map((m) => ({ i: byOffset.get(m.offset) })),
      );
      expect(await a!.since(room('news'), { epoch: head.epoch, offset: 20 })).toMatchObject({
        messages: [],
        gap: undefined,
      });
    });

    it('keeps streams apart: rooms, users, and a room named like a user', async () => {
      const [s] = await harness.open({ size: 10, ttlSeconds: 3600 });
      await s!.append(room('u:x'), 'a', 1);
      await s!.append(user('x'), 'b', 2);
      const p = await s!.append(user('x'), 'c', undefined);
      expect(p.offset).toBe(2);
      const read = await s!.since(user('x'), { epoch: p.epoch, offset: 0 });
      expect(read.messages).toEqual([
        { offset: 1, event: 'b', data: 2 },
        { offset: 2, event: 'c', data: undefined },
      ]);
      expect((await s!.since(room('u:x'), undefined)).last).toBe(1);
      expect((await s!.since(room('__proto__'), undefined)).last).toBe(0);
    });

    it('says trimmed below the HISTORY_SIZE newest messages, and still hands a node what is left', async () => {
      const [s] = await harness.open({ size: 5, ttlSeconds: 3600 });
      let epoch = '';
      for (let i = 1; i <= 12; i++) epoch = (await s!.append(room('t'), 'm', i)).epoch;
      const read = await s!.since(room('t'), { epoch, offset: 3 });
      expect(read.gap).toBe('trimmed');
      expect(read.messages.map((m) => m.offset)).toEqual([8, 9, 10, 11, 12]);
      // The oldest retained one's predecessor is still a full replay.
      expect(await s!.since(room('t'), { epoch, offset: 7 })).toMatchObject({ gap: undefined });
    });

    it('says expired when the first missed message is older than HISTORY_TTL_SECONDS', async () => {
      const [s] = await harness.open({ size: 100, ttlSeconds: 2 });
      const first = await s!.append(room('e'), 'm', 1);
      await harness.passTime(1200);
      await s!.append(room('e'), 'm', 2);
      await harness.passTime(1200);
      const read = await s!.since(room('e'), { epoch: first.epoch, offset: 0 });
      expect(read.gap).toBe('expired');
      // The second message is younger than the TTL: a client that had the first is replayed it.
      expect(await s!.since(room('e'), first)).toMatchObject({ gap: undefined, messages: [{ offset: 2 }] });
    });

    it('gives a lost history a new epoch: epoch-changed for a client of the old one, offsets begin again', async () => {
      const [s] = await harness.open({ size: 100, ttlSeconds: 3600 });
      await s!.append(room('lost'), 'm', 1);
      const before = await s!.append(room('lost'), 'm', 2);
      await harness.loseEverything();
      const after = await s!.append(room('lost'), 'm', 3);
      expect(after.offset).toBe(1);
      expect(after.epoch).not.toBe(before.epoch);
      expect(await s!.since(room('lost'), before)).toMatchObject({
        gap: 'epoch-changed',
        messages: [],
        last: 1,
      });
      // A position ahead of the head (a history lost and begun again) is an epoch change too.
      expect(await s!.since(room('lost'), { epoch: after.epoch, offset: 9 })).toMatchObject({
        gap: 'epoch-changed',
      });
    });

    it('forgets a stream idle for HISTORY_TTL_SECONDS (a new epoch next time)', async () => {
      const [s] = await harness.open({ size: 100, ttlSeconds: 1 });
      const p = await s!.append(room('idle'), 'm', 1);
      await harness.passTime(1300);
      expect(await s!.since(room('idle'), p)).toMatchObject({ gap: 'epoch-changed', last: 0 });
    });

    it('refuses with STORE_UNAVAILABLE once closed', async () => {
      const [s] = await harness.open({ size: 10, ttlSeconds: 60 });
      await s!.close();
      const codes = await Promise.all(
        [s!.append(room('x'), 'm', 1), s!.since(room('x'), undefined)].map((p) =>
          p.then(
            () => 'resolved',
            (err: unknown) => (isGatewayError(err) ? err.code : 'other'),
          ),
        ),
      );
      expect(codes).toEqual(['STORE_UNAVAILABLE', 'STORE_UNAVAILABLE']);
    });

    if (harness.subscribe !== undefined) {
      const subscribe = harness.subscribe;
      it('publishes an appended message with its position in the same step, when asked', async () => {
        const [s] = await harness.open({ size: 10, ttlSeconds: 60 });
        const sub = await subscribe('hist-test');
        const broadcast = { channel: 'hist-test', room: 'r:a"b\\c', node: 'node-1' };
        const first = await s!.append(room('a"b\\c'), 'ev"t', { x: [1, '/'] }, broadcast);
        const second = await s!.append(room('a"b\\c'), 'e2', undefined, broadcast);
        await s!.append(room('quiet'), 'e3', 1);
        for (let i = 0; i < 100 && sub.messages.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
        sub.close();
        expect(sub.messages.map((m) => JSON.parse(m) as unknown)).toEqual([
          {
            node: 'node-1',
            room: 'r:a"b\\c',
            epoch: first.epoch,
            offset: 1,
            event: 'ev"t',
            data: { x: [1, '/'] },
          },
          { node: 'node-1', room: 'r:a"b\\c', epoch: second.epoch, offset: 2, event: 'e2', data: null },
        ]);
      });
    }

    if (harness.keys !== undefined) {
      const keys = harness.keys;
      it('keeps a room stream in its own hash slot, with the history TTL', async () => {
        const [s] = await harness.open({ size: 10, ttlSeconds: 60 });
        await s!.append(room('slot'), 'm', 1);
        const found = await keys('slot');
        expect(found.map((k) => k.name.replace(/^h\d+:/, '')).sort()).toEqual([
          '{room:slot}:hlog',
          '{room:slot}:hmeta',
        ]);
        for (const k of found) expect(k.pttl).toBeGreaterThan(50_000);
      });
    }
  });
}
