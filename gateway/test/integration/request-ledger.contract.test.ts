/**
 * The RequestLedger contract, run against both ledgers: the memory one on a fake clock, the Redis one on a
 * real redis-server (its scripts run here against real Redis), several "nodes" on the same data.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '../../src/errors/gateway-error.ts';
import { MemoryRequestLedger } from '../../src/session/memory-request-ledger.ts';
import { RedisRequestLedger } from '../../src/session/redis-request-ledger.ts';
import { createRequestLedger, type ClosableRequestLedger } from '../../src/session/request-ledger.ts';
import { createUserKeys } from '../../src/session/redis/user-keys.ts';
import { contractRedis } from '../support/contract-redis.ts';
import { freePort } from '../support/redis.ts';

const logger = pino({ level: 'silent' });

interface Harness {
  name: 'memory' | 'redis';
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** `nodes` ledgers on the same data (separate connections for Redis). */
  open(nodes?: number): Promise<ClosableRequestLedger[]>;
  passTime(ms: number): Promise<void>;
  /**
   * The raw stored entry of (userId, requestId), Redis only: `where` it is (the user's record list or a key
   * of its own), its value and how long it has left (its own expiry in the list, the key's PTTL otherwise).
   */
  raw?: (
    userId: string,
    requestId: string,
  ) => Promise<{ where: 'list' | 'own' | 'none'; value: string | null; pttl: number; listPttl: number }>;
  /** Stores an entry as given (e.g. in an older form), Redis only. */
  writeRaw?: (userId: string, requestId: string, value: string) => Promise<void>;
}

function memoryHarness(): Harness {
  let clock = 1_700_000_000_000;
  return {
    name: 'memory',
    setup: () => Promise.resolve(),
    teardown: () => Promise.resolve(),
    open(nodes = 1) {
      const ledger = new MemoryRequestLedger({ now: () => clock });
      return Promise.resolve(Array.from({ length: nodes }, () => ledger));
    },
    passTime(ms) {
      clock += ms;
      return Promise.resolve();
    },
  };
}

function redisHarness(): Harness {
  const redis = contractRedis<ClosableRequestLedger>('l');
  return {
    name: 'redis',
    setup: () => redis.setup(),
    teardown: () => redis.teardown(),
    open: (nodes = 1) =>
      redis.open(
        nodes,
        (client, keyPrefix) => new RedisRequestLedger({ redis: client, ownsClient: true, keyPrefix }),
        (l) => l.abandon('warm-up', 'warm-up'),
      ),
    passTime: (ms) => new Promise((r) => setTimeout(r, ms)),
    async raw(userId, requestId) {
      const keys = createUserKeys(redis.prefix)(userId);
      // The list is cmsgpack: decoded by Redis' own Lua, as the scripts read it.
      const found = (await redis.raw.eval(
        `local r = redis.call('GET', KEYS[1]); if not r then return false end
         local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
         local id = ARGV[1]
         if #id == 32 and not string.find(id, '[^0-9a-f]') then
           id = '\\0' .. string.gsub(id, '..', function(h) return string.char(tonumber(h, 16)) end)
         end
         local l = cmsgpack.unpack(r)
         for i = 1, #l, 3 do if l[i] == id then return {l[i + 2], tostring(l[i + 1] - now)} end end
         return false`,
        1,
        keys.requests,
        requestId,
      )) as [string, string] | null;
      const listPttl = await redis.raw.pttl(keys.requests);
      if (found) return { where: 'list', value: found[0], pttl: Number(found[1]), listPttl };
      const value = await redis.raw.get(keys.request(requestId));
      const pttl = await redis.raw.pttl(keys.request(requestId));
      return { where: value === null ? 'none' : 'own', value, pttl, listPttl };
    },
    async writeRaw(userId, requestId, value) {
      await redis.raw.set(createUserKeys(redis.prefix)(userId).request(requestId), value, 'PX', 60_000);
    },
  };
}

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
  describe(`RequestLedger contract (${harness.name})`, () => {
    beforeAll(() => harness.setup());
    afterAll(() => harness.teardown());

    it('of racing begins on three nodes exactly one is new; a retry gets the recorded ack', async () => {
      const ledgers = await harness.open(3);
      const begins = await Promise.all(
        ledgers.flatMap((l) => [l.begin('u1', 'r-1', 5000), l.begin('u1', 'r-1', 5000)]),
      );
      expect(begins.filter((b) => b.state === 'new')).toHaveLength(1);
      expect(begins.filter((b) => b.state === 'pending')).toHaveLength(5);
      await ledgers[0]!.complete('u1', 'r-1', 'seat:hold', '{"ok":true,"data":1}', 60_000);
      expect(await ledgers[1]!.begin('u1', 'r-1', 5000)).toEqual({
        state: 'done',
        event: 'seat:hold',
        ack: '{"ok":true,"data":1}',
      });
      expect(await ledgers[1]!.begin('u2', 'r-1', 5000)).toEqual({ state: 'new' });
      await ledgers[2]!.abandon('u2', 'r-1');
      expect(await ledgers[0]!.begin('u2', 'r-1', 5000)).toEqual({ state: 'new' });
    });

    it('abandons only an in-flight marker, never a recorded ack', async () => {
      const [l] = await harness.open();
      expect(await l!.begin('u1', 'ab', 5000)).toEqual({ state: 'new' });
      await l!.complete('u1', 'ab', 'room:join', '{"ok":true,"data":{}}', 60_000);
      await l!.abandon('u1', 'ab');
      expect(await l!.begin('u1', 'ab', 5000)).toMatchObject({ state: 'done', event: 'room:join' });
      await l!.abandon('u1', 'never-begun');
      expect(await l!.begin('u1', 'never-begun', 5000)).toEqual({ state: 'new' });
    });

    it('lets an in-flight marker lapse after pendingMs, and a recorded ack after its ttl', async () => {
      const [l] = await harness.open();
      expect(await l!.begin('u1', 'ttl', 200)).toEqual({ state: 'new' });
      expect(await l!.begin('u1', 'ttl', 200)).toEqual({ state: 'pending' });
      await harness.passTime(300);
      expect(await l!.begin('u1', 'ttl', 5000)).toEqual({ state: 'new' });
      await l!.complete('u1', 'ttl', 'queue:join', '{"ok":true,"data":1}', 200);
      expect(await l!.begin('u1', 'ttl', 5000)).toMatchObject({ state: 'done' });
      await harness.passTime(300);
      expect(await l!.begin('u1', 'ttl', 5000)).toEqual({ state: 'new' });
    });

    it('rejects with STORE_UNAVAILABLE once closed', async () => {
      const [l] = await harness.open();
      await l!.close();
      expect(await codeOf(l!.begin('u1', 'closed', 5000))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(l!.complete('u1', 'closed', 'e', '{}', 5000))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(l!.abandon('u1', 'closed'))).toBe('STORE_UNAVAILABLE');
    });

    if (harness.raw) {
      const raw = harness.raw;
      it('keeps the entry in the user`s record list, {u:<id>}:q, as `<event>\\n<ack>` with its own expiry', async () => {
        const [l] = await harness.open();
        await l!.begin('u1', 'keep', 5000);
        expect(await raw('u1', 'keep')).toMatchObject({ where: 'list', value: 'pending' });
        await l!.complete('u1', 'keep', 'seat:hold', '{"ok":true}', 60_000);
        const stored = await raw('u1', 'keep');
        expect(stored).toMatchObject({ where: 'list', value: 'seat:hold\n{"ok":true}' });
        expect(stored.pttl).toBeGreaterThan(59_000);
        // The key lives as long as its latest entry: a shorter entry after it does not cut it.
        await l!.begin('u1', 'short', 5000);
        await l!.complete('u1', 'short', 'room:join', '{"ok":true}', 1000);
        expect((await raw('u1', 'keep')).listPttl).toBeGreaterThan(59_000);
        expect((await raw('u1', 'short')).pttl).toBeLessThanOrEqual(1000);
        // A successful ack is kept as its data; an SDK request id (32 hex digits) as its 16 bytes.
        const sdkId = '0123456789abcdef0123456789abcdef';
        await l!.begin('u1', sdkId, 5000);
        await l!.complete('u1', sdkId, 'room:join', '{"ok":true,"data":{"room":"a"}}', 60_000);
        expect(await raw('u1', sdkId)).toMatchObject({ where: 'list', value: 'room:join\r{"room":"a"}' });
        expect(await l!.begin('u1', sdkId, 5000)).toEqual({
          state: 'done',
          event: 'room:join',
          ack: '{"ok":true,"data":{"room":"a"}}',
        });
        expect(await l!.begin('u1', sdkId.toUpperCase(), 5000)).toEqual({ state: 'new' });
      });

      it('gives an entry a key of its own when the list is full or the answer long, and reads it there', async () => {
        const [l] = await harness.open();
        for (let i = 0; i < 20; i++) {
          expect(await l!.begin('full', `f-${i}`, 5000)).toEqual({ state: 'new' });
        }
        // The list holds 16 live entries; the 17th on take keys of their own.
        expect(await raw('full', 'f-15')).toMatchObject({ where: 'list', value: 'pending' });
        expect(await raw('full', 'f-16')).toMatchObject({ where: 'own', value: 'pending' });
        for (let i = 0; i < 20; i++) await l!.complete('full', `f-${i}`, 'room:join', `{"i":${i}}`, 60_000);
        for (let i = 0; i < 20; i++) {
          expect(await l!.begin('full', `f-${i}`, 5000)).toEqual({
            state: 'done',
            event: 'room:join',
            ack: `{"i":${i}}`,
          });
        }
        await l!.abandon('full', 'f-19'); // a recorded ack is never abandoned, wherever it is
        expect(await l!.begin('full', 'f-19', 5000)).toMatchObject({ state: 'done' });
        const long = `{"rooms":"${'x'.repeat(600)}"}`;
        expect(await l!.begin('long', 'l-1', 5000)).toEqual({ state: 'new' });
        await l!.complete('long', 'l-1', 'room:join', long, 60_000);
        expect(await raw('long', 'l-1')).toMatchObject({ where: 'own', value: `room:join\n${long}` });
        expect(await l!.begin('long', 'l-1', 5000)).toEqual({ state: 'done', event: 'room:join', ack: long });
        await l!.begin('long', 'l-2', 5000);
        await l!.abandon('long', 'l-2');
        expect(await raw('long', 'l-2')).toMatchObject({ where: 'none' });
      });

      it('reads entries in the JSON form written before issue 15, and writes it for odd event names', async () => {
        const [l] = await harness.open();
        await harness.writeRaw!('u1', 'old', JSON.stringify({ event: 'room:join', ack: '{"ok":true}' }));
        expect(await l!.begin('u1', 'old', 5000)).toEqual({
          state: 'done',
          event: 'room:join',
          ack: '{"ok":true}',
        });
        for (const [i, event] of ['{odd', 'two\nlines', 'car\rreturn', ''].entries()) {
          expect(await l!.begin('u1', `odd-${i}`, 5000)).toEqual({ state: 'new' });
          for (const ack of ['{"ok":false}\n', '{"ok":true,"data":"\r\n"}']) {
            await l!.complete('u1', `odd-${i}`, event, ack, 60_000);
            expect(await l!.begin('u1', `odd-${i}`, 5000)).toEqual({ state: 'done', event, ack });
          }
        }
      });
    }
  });
}

describe('createRequestLedger', () => {
  it('is the memory ledger without a Redis, the Redis one with a url or a client', async () => {
    const config = {
      redisUrl: undefined,
      redisClusterNodes: undefined,
      commandTimeoutMs: 200,
      keyPrefix: 'x:',
    };
    const memory = createRequestLedger(config, { logger });
    expect(memory.kind).toBe('memory');
    await memory.close();
    const port = await freePort();
    const redis = createRequestLedger({ ...config, redisUrl: `redis://127.0.0.1:${port}` }, { logger });
    expect(redis.kind).toBe('redis');
    // Nothing listens there: the ledger says so the way the stores do.
    expect(await codeOf(redis.begin('u1', 'down', 1000))).toBe('STORE_UNAVAILABLE');
    await redis.close();
  });
});
