/**
 * What only the Redis claim store has: the key layout (one hash tag per event, the user's keys in the
 * user's slot), the user-side index written with the event-side script and repaired on restore, and the
 * script replies the contract suite does not reach (lapsed holds reported by a hold, settle of a dropped user).
 */
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../src/infra/redis.ts';
import { RedisClaimStore } from '../../src/session/redis-claim-store.ts';
import { createEventKeys, EVENT_KEY_PARTS, MEMBER_BUCKETS } from '../../src/session/redis/event-keys.ts';
import { SCRIPT_SOURCES } from '../../src/session/redis/scripts.ts';
import { createUserKeys } from '../../src/session/redis/user-keys.ts';
import { startMonitor } from '../../../dev/redis-monitor.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';

const logger = pino({ level: 'silent' });
let server: RedisProcess;
let raw: Redis;
let store: RedisClaimStore;
let client: Redis;
const PREFIX = 'rc:';
const eventKeys = createEventKeys(PREFIX);
const userKeys = createUserKeys(PREFIX);
const keys = {
  /** The user's hash: the session, the seen mark and the index (`e<eventId>` fields). */
  userIndex: (u: string) => userKeys(u).session,
  userSession: (u: string) => userKeys(u).session,
};

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.url);
  client = createRedisClient(server.url, { commandTimeoutMs: 2000, logger, name: 'redis-claims' });
  store = new RedisClaimStore({
    redis: client,
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

/** A member's time in the event (its bucket: lua/claims/prelude.lua's member_set). */
const memberTime = (eventId: string, u: string) =>
  raw.zscore(eventKeys(eventId).bucket('members', u, MEMBER_BUCKETS), u);

/** Makes a session live for an hour, as the session store's scripts would (its `x`: lua/session/prelude.lua). */
const liveSession = (key: string) => raw.hset(key, 'c', 1, 'x', Date.now() + 3_600_000);

/** The user's seat:hold records in the event: ids (as sent: these tests use no 32-hex ids) and time left. */
const records = async (eventId: string, u: string) =>
  (
    (await raw.eval(
      `local r = redis.call('HGET', KEYS[1], ARGV[1]); if not r then return {} end
       local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
       local l, out = cmsgpack.unpack(r), {}
       for i = 1, #l, 3 do out[#out + 1] = l[i]; out[#out + 1] = tostring(l[i + 1] - now) end
       return out`,
      1,
      eventKeys(eventId).reqs,
      u,
    )) as string[]
  ).flatMap((v, i, all) => (i % 2 === 0 ? [{ id: v, leftMs: Number(all[i + 1]) }] : []));

/** The events the user's index names (the `e<eventId>` fields of the user's marks). */
const indexed = async (u: string) =>
  (await raw.hkeys(keys.userIndex(u))).filter((f) => f.startsWith('e')).map((f) => f.slice(1));

const slotTag = (key: string) => /\{[^}]*\}/.exec(key)?.[0];

describe('RedisClaimStore on a real redis-server', () => {
  it('keeps every key of one event under one hash tag, and the user keys under the session`s tag', () => {
    const event = eventKeys('ev}{%1');
    const all = [...EVENT_KEY_PARTS.map((part) => event[part]), event.holdRequest('u}1', 'r')];
    expect(new Set(all.map(slotTag))).toEqual(new Set(['{event:ev%7D%7B%251}']));
    expect(slotTag(keys.userIndex('u}1'))).toBe('{u:u%7D1}');
    expect(slotTag(userKeys('u}1').request('r'))).toBe('{u:u%7D1}');
    expect(slotTag(keys.userSession('u}1'))).toBe('{u:u%7D1}');
    // Every command's key is one of the KEYS a claims script is given (K_* of prelude.lua), or a bucket of
    // one (`<K_HOLDER, K_GROUPS or K_MEMBERS>:<b>`, the same hash tag) named by prelude.lua's bucket_key,
    // bucket_named or bucket_keys, which alone give a value to the locals `bucket` and `buckets`.
    const claimsSources = Object.values(SCRIPT_SOURCES).filter((source) => source.includes('K_DEF'));
    expect(claimsSources).toHaveLength(14);
    for (const source of claimsSources) {
      for (const [, command, key] of source.matchAll(/redis\.call\('([A-Z]+)'(?:,\s*([^,)]+))?/g)) {
        if (command !== 'TIME') {
          expect(`${command} ${key}`).toMatch(
            /^[A-Z]+ (K_[A-Z]+|bucket_key\((K_HOLDER|K_GROUPS|base)|bucket|unpack\(buckets)$/,
          );
        }
      }
      for (const [binding] of source.matchAll(/(local|for _,) (bucket|buckets) (=|in) [^\n]*/g))
        expect(binding).toMatch(
          /= bucket_key\(|= bucket_keys\(|= bucket_named\(|= member_bucket\(|in ipairs\(bucket_keys\(/,
        );
      for (const [binding] of source.matchAll(/local base(, \w+)* = [^\n]*|for _, base in [^\n]*/g))
        expect(binding).toMatch(
          /^(local base, field = e\[1\], e\[2\]|for _, base in ipairs\(\{K_HOLDER, K_GROUPS(, K_MEMBERS)?\}\) do)$/,
        );
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
    expect(await indexed('ixu')).toEqual(['ix']);
    expect(await raw.pttl(keys.userIndex('ixu'))).toBeGreaterThan(60_000);
    // A stale entry (an event where the user has nothing, one that does not exist): harmless, then repaired.
    await raw.hset(keys.userIndex('ixu'), 'egone-event', '', 'eother', '');
    await store.defineEvent('other', {
      seats: [],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 1,
      holdSeconds: 300,
    });
    const claims = await store.userClaims('ixu');
    expect(claims.queues).toEqual([{ eventId: 'ix', position: 1, size: 1 }]);
    await expect.poll(() => indexed('ixu')).toEqual(['ix']);
    // A hold refused by the event side still leaves an index entry: harmless, repaired the same way.
    await store.hold('other-user', 'ix', ['A'], false);
    await store.hold('ixu2', 'ix', ['A'], false);
    expect(await indexed('ixu2')).toEqual(['ix']);
    expect(await store.userClaims('ixu2')).toEqual({ queues: [], holds: [], admissions: [] });
    await expect.poll(() => indexed('ixu2')).toEqual([]);
  });

  it('reports holds it ended because they had expired (seatHold), once', async () => {
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
    await liveSession(keys.userSession('st-live'));
    await store.joinQueue('st-live', 'st');
    await new Promise((r) => setTimeout(r, 300));
    const [a, b] = await Promise.all([store.sweep(), store.sweep()]);
    const dropped = [...a.lapsed, ...b.lapsed].filter((l) => l.eventId === 'st');
    expect(dropped).toEqual([{ eventId: 'st', userId: 'st-dead', seatIds: ['S1'] }]);
    expect(a.droppedFromQueues + b.droppedFromQueues).toBe(1);
    expect(await raw.exists(keys.userIndex('st-dead'))).toBe(0);
    expect(await memberTime('st', 'st-live')).not.toBeNull();
    expect((await store.queuePositions('st', ['st-live', 'st-dead'])).positions).toEqual(
      new Map([['st-live', 1]]),
    );
  });

  it('costs a seat:hold two commands in one round trip: both written before the first reply is read', async () => {
    await store.defineEvent('cost', {
      seats: ['C1', 'C2', 'C3', 'C4'],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 4,
      holdSeconds: 300,
    });
    // Warm up: the first call of a script after a start is answered NOSCRIPT and sent again as EVAL.
    await store.hold('cost-warm', 'cost', ['C4'], false, { requestId: 'warm', resultTtlMs: 60_000 });
    const seen: { source: string; command: string }[] = [];
    const monitor = await startMonitor(server.url, ({ args, source }) => {
      seen.push({ source, command: String(args[0]).toLowerCase() });
    });
    try {
      let marker = 0;
      for (const [seatId, request] of [
        ['C1', undefined],
        ['C2', { requestId: 'cost-r', resultTtlMs: 60_000 }],
        ['C2', { requestId: 'cost-r', resultTtlMs: 60_000 }], // the replay costs the same
      ] as const) {
        // The client's side: what it writes and when it first reads, in order.
        const wire: string[] = [];
        const stream = client.stream;
        const write = stream.write.bind(stream);
        const onData = (): number => wire.push('read');
        stream.write = (chunk: unknown, ...rest: never[]) => {
          // RESP: `*<n>\r\n$<len>\r\n<command>\r\n...`
          wire.push(`write ${String(chunk).split('\r\n')[2]?.toLowerCase()}`);
          return write(chunk as string, ...rest);
        };
        stream.prependListener('data', onData);
        const before = seen.length;
        try {
          const result = await store.hold('cost-u', 'cost', [seatId], false, request);
          expect(result.ok).toBe(true);
        } finally {
          stream.write = write;
          stream.off('data', onData);
        }
        expect(wire.slice(0, 3)).toEqual(['write evalsha', 'write evalsha', 'read']);
        expect(wire.filter((w) => w.startsWith('write'))).toHaveLength(2);
        // The server's side: the commands it ran for the hold, not counting those inside the scripts.
        const end = `end-${++marker}`;
        await client.echo(end);
        await expect.poll(() => seen.some((c) => c.command === 'echo')).toBe(true);
        const ran = seen.slice(before).filter((c) => c.source !== 'lua' && c.command !== 'echo');
        seen.length = 0;
        expect(ran.map((c) => c.command)).toEqual(['evalsha', 'evalsha']);
      }
    } finally {
      monitor.stop();
    }
  });

  it('keeps hold request records in the event`s slot, in the user`s list with their own expiry, for their result ttl', async () => {
    await store.defineEvent('recd', {
      seats: ['R1'],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 1,
      holdSeconds: 300,
    });
    await store.hold('rec:u', 'recd', ['R1'], false, { requestId: 'rq:1', resultTtlMs: 30_000 });
    const list = await records('recd', 'rec:u');
    expect(list.map((r) => r.id)).toEqual(['rq:1']);
    expect(list[0]!.leftMs).toBeGreaterThan(29_000);
    expect(list[0]!.leftMs).toBeLessThanOrEqual(30_000);
    expect(await raw.exists(eventKeys('recd').holdRequest('rec:u', 'rq:1'))).toBe(0);
    expect(await raw.exists(userKeys('rec:u').request('rq:1'))).toBe(0);
    // The user is a member, so the member check drops the list once it expired.
    expect(await memberTime('recd', 'rec:u')).not.toBeNull();
    // A key of its own when the event is unknown, or the user's list full (8 records).
    await expect(
      store.hold('rec:u', 'nowhere', ['R1'], false, { requestId: 'rq:x', resultTtlMs: 30_000 }),
    ).rejects.toMatchObject({ code: 'EVENT_UNKNOWN' });
    expect(await raw.pttl(eventKeys('nowhere').holdRequest('rec:u', 'rq:x'))).toBeGreaterThan(29_000);
    for (let i = 2; i <= 10; i++) {
      await store.hold('rec:u', 'recd', ['R1'], false, { requestId: `rq:${i}`, resultTtlMs: 30_000 });
    }
    expect((await records('recd', 'rec:u')).map((r) => r.id)).toEqual([
      'rq:1',
      'rq:2',
      'rq:3',
      'rq:4',
      'rq:5',
      'rq:6',
      'rq:7',
      'rq:8',
    ]);
    expect(await raw.exists(eventKeys('recd').holdRequest('rec:u', 'rq:9'))).toBe(1);
    // Each answers its retries, wherever it is kept.
    for (const id of ['rq:1', 'rq:8', 'rq:10']) {
      const again = await store.hold('rec:u', 'recd', ['R1'], false, { requestId: id, resultTtlMs: 30_000 });
      expect(again.replayed).toBe(true);
    }
  });

  it('drops expired hold request records at the member check, and the member with them', async () => {
    await store.defineEvent('recx', {
      seats: ['X1', 'X2'],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 1,
      holdSeconds: 300,
    });
    await liveSession(keys.userSession('rx-live'));
    await liveSession(keys.userSession('rx-other'));
    // A refusal is recorded too (the user had nothing else in the event).
    await store.hold('rx-other', 'recx', ['X1'], false);
    const refused = await store.hold('rx-live', 'recx', ['X1'], false, { requestId: 'a', resultTtlMs: 400 });
    expect(refused.ok).toBe(false);
    expect((await records('recx', 'rx-live')).map((r) => r.id)).toEqual(['a']);
    // A dead user's records outlive their session for their ttl too.
    await store.hold('rx-dead', 'recx', ['X2'], false, { requestId: 'b', resultTtlMs: 600 });
    await expect
      .poll(
        async () => {
          await store.sweep();
          return [
            await raw.hexists(eventKeys('recx').reqs, 'rx-live'),
            await raw.hexists(eventKeys('recx').reqs, 'rx-dead'),
            await memberTime('recx', 'rx-live'),
            await memberTime('recx', 'rx-dead'),
          ];
        },
        { timeout: 10_000, interval: 100 },
      )
      .toEqual([0, 0, null, null]);
    expect((await store.seatMap('recx')).seats).toEqual({ X1: 'held', X2: 'free' });
  });

  it('keeps a hold group as cmsgpack {fence, expiresAt, seats...}, and still reads the older cjson form', async () => {
    await store.defineEvent('grp', {
      seats: ['G1', 'G2'],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 2,
      holdSeconds: 300,
    });
    const held = await store.hold('g-u', 'grp', ['G1'], false);
    if (!held.ok) throw new Error('not held');
    const groups = eventKeys('grp').bucket(
      'groups',
      'g-u',
      Number(await raw.hget(eventKeys('grp').def, 'nb')),
    );
    const stored = await raw.hgetBuffer(groups, 'g-u');
    expect(stored![0]! & 0xf0).toBe(0x90); // a msgpack fixarray
    // The same group as round 1 wrote it: read, extended and sold the same way.
    const { fence, expiresAt } = held.hold;
    await raw.hset(groups, 'g-u', JSON.stringify({ f: String(fence), e: expiresAt, s: ['G1'] }));
    expect((await store.userClaims('g-u')).holds).toEqual([held.hold]);
    const more = await store.hold('g-u', 'grp', ['G2'], false);
    expect(more).toMatchObject({ ok: true, hold: { fence, expiresAt, seatIds: ['G1', 'G2'] } });
    expect(await store.confirm('g-u', 'grp', ['G1', 'G2'], fence)).toEqual(['G1', 'G2']);
  });

  it('sweeps through the due index: a round visits only due events; the walk files an entry a node lost', async () => {
    const prefix = 'due:';
    const open = () =>
      new RedisClaimStore({
        redis: createRedisClient(server.url, { commandTimeoutMs: 2000, logger, name: 'due' }),
        ownsClient: true,
        keyPrefix: prefix,
        sessionTtlSeconds: 60,
        limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 60 },
        logger,
      });
    const evalCalls = async () =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await raw.info('commandstats'))?.[1] ?? 0);
    const dueKey = `${prefix}{events}:due`;
    const s = open();
    try {
      await expect
        .poll(() =>
          s.ping().then(
            () => true,
            () => false,
          ),
        )
        .toBe(true);
      const def = { requiresAdmission: false, admissionRatePerSecond: 0, maxSeatsPerUser: 2, holdSeconds: 1 };
      for (let i = 0; i < 30; i++) await s.defineEvent(`dq${i}`, { ...def, seats: ['A', 'B'] });
      await s.sweep(); // a store's first round walks every event
      expect(await raw.zrange(dueKey, 0, -1)).toEqual([]);
      // A live owner, queued too: at the hold's expiry the sweeper also checks their session (one schedule
      // per member), and they stay a member (queued), due again at their next check.
      await liveSession(createUserKeys(prefix)('du').session);
      await s.joinQueue('du', 'dq7');
      await raw.zrem(dueKey, 'dq7');
      const held = await s.hold('du', 'dq7', ['A'], false);
      if (!held.ok) throw new Error('hold failed');
      // Filed by the hold itself, at the hold's expiry (earlier than its owner's session check).
      expect(await raw.zrange(dueKey, 0, -1, 'WITHSCORES')).toEqual(['dq7', String(held.hold.expiresAt)]);
      const before = await evalCalls();
      expect(await s.sweep()).toEqual({ lapsed: [], droppedFromQueues: 0 });
      expect(await evalCalls()).toBe(before); // nothing due: no event visited
      await new Promise((r) => setTimeout(r, Math.max(0, held.hold.expiresAt - Date.now()) + 100));
      const atExpiry = await evalCalls();
      expect((await s.sweep()).lapsed).toEqual([{ eventId: 'dq7', userId: 'du', seatIds: ['A'] }]);
      // One sweep script for the one due event, its owner's session check (the user's index read, one settle
      // script) and one index write: not one per defined event (30).
      expect((await evalCalls()) - atExpiry).toBeLessThanOrEqual(4);
      const [, next] = await raw.zrange(dueKey, 0, -1, 'WITHSCORES');
      expect(Number(next)).toBeGreaterThan(held.hold.expiresAt); // now the member's session check
      // An entry lost (a node died between the script and the index write): the next walk files it again.
      await raw.zrem(dueKey, 'dq7');
      const other = open();
      try {
        await expect
          .poll(() =>
            other.ping().then(
              () => true,
              () => false,
            ),
          )
          .toBe(true);
        await other.sweep();
        expect(await raw.zscore(dueKey, 'dq7')).toBe(next);
      } finally {
        await other.close();
      }
    } finally {
      await s.close();
    }
  });
});
