/**
 * Every Lua script of the session store, called directly on a real redis-server, checked against the
 * KEYS/ARGV/reply its header documents, and for what the contract suite cannot see through the store's
 * API: the session hash's layout and TTL, and the guards that make purges safe to repeat.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisClient, type Redis } from '../../src/infra/redis.ts';
import { createNodeKeys, nodeIndexBucket, nodeIndexEntry } from '../../src/session/redis/node-keys.ts';
import { defineScripts, type Scripts } from '../../src/session/redis/scripts.ts';
import { createUserKeys } from '../../src/session/redis/user-keys.ts';
import { eventually, startRedis, type RedisProcess } from '../support/redis.ts';

const TTL_MS = 60_000;
const keys = createNodeKeys('lua:');
const userKeys = createUserKeys('lua:')('u1');
/**
 * `session`: the user's hash: the session (`x` its expiry, `c`, `s<socketId>`, `r<room>`), the seen mark (`n`)
 * and the queue/hold index (`e<eventId>`), one key (lua/session/prelude.lua).
 */
const { session, revoked } = userKeys;
/** The connecting token's issue time (seconds) where no revocation is made. */
const IAT = 1_700_000_000;
/** The seen marker's lifetime in these tests (the store uses SEEN_TTL_MS). */
const SEEN_MS = 600_000;

let server: RedisProcess;
let redis: Redis;
let scripts: Scripts;

beforeAll(async () => {
  server = await startRedis();
  redis = createRedisClient(server.url, {
    commandTimeoutMs: 2000,
    logger: pino({ level: 'silent' }),
    name: 'lua-test',
  });
  await eventually(() => redis.ping());
  scripts = defineScripts(redis);
});
beforeEach(async () => {
  await redis.flushall();
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

/**
 * Asserts the session expires in (almost exactly) ttlMs: its `x` field (the key itself lives at least that
 * long, and longer for the marks it also carries).
 */
async function expectUserKeysExpireIn(ttlMs: number): Promise<void> {
  const left = Number(await redis.hget(session, 'x')) - nowMs();
  expect(left, session).toBeGreaterThan(ttlMs - 1000);
  expect(left, session).toBeLessThanOrEqual(ttlMs);
  expect(await redis.pttl(session), session).toBeGreaterThan(ttlMs - 1000);
}

/** Ends the session as its expiry would (the key and its marks stay). */
async function expireSession(): Promise<void> {
  await redis.hset(session, 'x', nowMs() - 1);
}

/** The session hash's fields of one kind (`s` sockets -> node, `r` rooms), without the kind letter. */
async function fieldsOf(kind: 's' | 'r'): Promise<Record<string, string>> {
  const all = await redis.hgetall(session);
  return Object.fromEntries(
    Object.entries(all)
      .filter(([f]) => f.startsWith(kind))
      .map(([f, v]) => [f.slice(1), v]),
  );
}

const nowMs = (): number => Date.now();

describe('session Lua scripts on real Redis', () => {
  it('attach-socket.lua records the socket, refuses past maxSockets without writing, and sets every TTL', async () => {
    const before = nowMs();
    const first = (await scripts.attachSocket(userKeys, 's1', 'A', 2, TTL_MS, SEEN_MS, 0, IAT)) as unknown[];
    expect(first.slice(0, 2)).toEqual([1, 0]);
    expect(first[2]).toBeGreaterThanOrEqual(before + TTL_MS - 20);
    expect(first[3]).toEqual([]);
    await redis.hset(session, 'rlobby', '');
    expect(await scripts.attachSocket(userKeys, 's2', 'B', 2, TTL_MS, SEEN_MS, 0, IAT)).toEqual([
      1,
      1,
      expect.any(Number),
      ['lobby'],
      0,
      [],
    ]);
    expect(await scripts.attachSocket(userKeys, 's3', 'B', 2, TTL_MS, SEEN_MS, 0, IAT)).toEqual([0, 2]);
    expect(await fieldsOf('s')).toEqual({ s1: 'A', s2: 'B' });
    // One hash, small enough to stay a listpack: createdAt, a field per socket, a field per room.
    expect(Object.keys(await redis.hgetall(session)).sort()).toEqual(['n', 'rlobby', 'ss1', 'ss2', 'x']);
    expect(await redis.object('ENCODING', session)).toBe('listpack');
    await expectUserKeysExpireIn(TTL_MS);
    // The key outlives the session for the seen mark.
    expect(await redis.pttl(session)).toBeGreaterThan(SEEN_MS - 1000);
    expect(await redis.hget(session, 'n')).toBe('1');
  });

  it('attach-socket.lua reads and extends the queue/hold index only when asked to', async () => {
    await redis.hset(session, 'eev1', '', 'eev2', '');
    const without = (await scripts.attachSocket(
      userKeys,
      's1',
      'A',
      5,
      TTL_MS,
      SEEN_MS,
      0,
      IAT,
    )) as unknown[];
    expect(without[5]).toEqual([]);
    // The key lives as long as the seen mark (the longer of the two), not the index's lifetime.
    expect(await redis.pttl(session)).toBeLessThanOrEqual(SEEN_MS);
    const withIndex = (await scripts.attachSocket(
      userKeys,
      's2',
      'A',
      5,
      TTL_MS,
      SEEN_MS,
      2 * SEEN_MS,
      IAT,
    )) as unknown[];
    expect([...(withIndex[5] as string[])].sort()).toEqual(['ev1', 'ev2']);
    expect(await redis.pttl(session)).toBeGreaterThan(2 * SEEN_MS - 1000);
    // Never shortened: a later attach keeps the longer lifetime.
    await scripts.attachSocket(userKeys, 's3', 'A', 5, TTL_MS, SEEN_MS, 0, IAT);
    expect(await redis.pttl(session)).toBeGreaterThan(2 * SEEN_MS - 1000);
  });

  it('attach-socket.lua tells a return after the session expired from a first visit', async () => {
    const first = (await scripts.attachSocket(userKeys, 's1', 'A', 2, TTL_MS, SEEN_MS, 0, IAT)) as unknown[];
    expect(first[4]).toBe(0);
    await redis.hset(session, 'rlobby', '', 'eev1', '', 'c', 1);
    // The session expires, the seen mark and the index stay.
    await expireSession();
    expect(await scripts.getSession(userKeys)).toBeNull();
    expect(await scripts.touchSession(userKeys, TTL_MS)).toBe(0);
    expect(await scripts.detachSocket(userKeys, 's1', TTL_MS)).toBeNull();
    expect(await scripts.purgeSockets(userKeys, 'A', TTL_MS, ['s1'])).toBe(0);
    const back = (await scripts.attachSocket(
      userKeys,
      's2',
      'A',
      2,
      TTL_MS,
      SEEN_MS,
      1000,
      IAT,
    )) as unknown[];
    expect(back.slice(0, 2)).toEqual([1, 0]);
    expect(back[3]).toEqual([]); // the ended session's rooms are not restored
    expect(back[4]).toBe(1);
    expect(back[5]).toEqual(['ev1']);
    // The ended session's own fields went (s1, rlobby, and a `c` of round 1's layout); the marks stayed.
    expect(Object.keys(await redis.hgetall(session)).sort()).toEqual(['eev1', 'n', 'ss2', 'x']);
    // A room join on an ended session starts it again, without the ended session's fields.
    await scripts.joinRoom(userKeys, 'a', TTL_MS, 100);
    await expireSession();
    expect(await scripts.joinRoom(userKeys, 'b', TTL_MS, 100)).toEqual([1, expect.any(Number), ['b']]);
    expect(await fieldsOf('s')).toEqual({});
  });

  it('attach-socket.lua refuses a token issued at or before the revocation second with {-1, revokedAt}, writing nothing', async () => {
    const attach = (socketId: string, iat: number, maxSockets = 5) =>
      scripts.attachSocket(userKeys, socketId, 'A', maxSockets, TTL_MS, SEEN_MS, 0, iat);
    await redis.set(revoked, IAT);
    expect(await attach('s1', IAT)).toEqual([-1, IAT]);
    expect(await attach('s1', IAT - 86_400)).toEqual([-1, IAT]);
    // Nothing was written for the refused attaches: no session, no socket, no seen marker.
    expect(await redis.exists(session)).toBe(0);
    expect(((await attach('s1', IAT + 1)) as unknown[]).slice(0, 2)).toEqual([1, 0]);
    // Checked before the connection limit: at the limit, a revoked token is told so, not "limit".
    expect(await attach('s2', IAT, 1)).toEqual([-1, IAT]);
    expect(await attach('s2', IAT + 1, 1)).toEqual([0, 1]);
    expect(await fieldsOf('s')).toEqual({ s1: 'A' });
  });

  describe('attach-sockets.lua (a turn of attaches on a single Redis)', () => {
    const userKeysOf = createUserKeys('lua:');
    /** One attach of the call: its three keys and four arguments, as the store sends them. */
    const attachOf = (userId: string, socketId: string, maxSockets: number, iat = IAT) => {
      const entry = nodeIndexEntry(userId, socketId);
      const user = userKeysOf(userId);
      const bucket = keys.nodeSockets('A', nodeIndexBucket(entry));
      return {
        keys: [user.session, user.revoked, bucket],
        args: [socketId, maxSockets, iat, entry],
        bucket,
        entry,
      };
    };
    const attachSockets = (attaches: ReturnType<typeof attachOf>[], indexTtlMs = 0) =>
      scripts.attachSockets(
        attaches.flatMap((a) => a.keys),
        'A',
        TTL_MS,
        SEEN_MS,
        indexTtlMs,
        attaches.flatMap((a) => a.args),
      ) as Promise<unknown[]>;
    const indexed = async (a: ReturnType<typeof attachOf>): Promise<boolean> =>
      (await redis.hexists(a.bucket, a.entry)) === 1;

    it('answers each attach as attach-socket.lua would, and indexes exactly the sockets it recorded', async () => {
      // full: at its limit of 1; revoked: tokens issued at or before IAT refused; back: a live session with a
      // room and an event in its index; fresh: nothing yet.
      await scripts.attachSocket(userKeysOf('full'), 's0', 'B', 1, TTL_MS, SEEN_MS, 0, IAT);
      await redis.set(userKeysOf('revoked').revoked, String(IAT));
      await scripts.attachSocket(userKeysOf('back'), 's0', 'B', 5, TTL_MS, SEEN_MS, 0, IAT);
      await redis.hset(userKeysOf('back').session, 'rlobby', '', 'eev1', '');
      const calls = [
        attachOf('full', 's1', 1),
        attachOf('revoked', 's2', 5),
        attachOf('back', 's3', 5),
        attachOf('fresh', 's4', 5),
      ];
      const replies = await attachSockets(calls, 2 * SEEN_MS);
      expect(replies).toEqual([
        [0, 1],
        [-1, IAT],
        [1, 1, expect.any(Number), ['lobby'], 0, ['ev1']],
        [1, 0, expect.any(Number), [], 0, []],
      ]);
      expect(await Promise.all(calls.map(indexed))).toEqual([false, false, true, true]);
      expect(await redis.hget(userKeysOf('back').session, 'ss3')).toBe('A');
      expect(await redis.hget(userKeysOf('fresh').session, 'ss4')).toBe('A');
      expect(await redis.hexists(userKeysOf('full').session, 'ss1')).toBe(0);
      expect(await redis.exists(userKeysOf('revoked').session)).toBe(0);
      // The claims index was read and extended for the user who has one.
      expect(await redis.pttl(userKeysOf('back').session)).toBeGreaterThan(2 * SEEN_MS - 1000);
    });

    it('counts the attaches of one call against the limit in order, like attaches one after the other', async () => {
      const replies = await attachSockets([
        attachOf('u', 'a', 2),
        attachOf('u', 'b', 2),
        attachOf('u', 'c', 2),
      ]);
      expect(replies.map((r) => (r as unknown[])[0])).toEqual([1, 1, 0]);
      expect((replies[2] as unknown[])[1]).toBe(2);
      expect(
        Object.keys(await redis.hgetall(userKeysOf('u').session)).filter((f) => f.startsWith('s')),
      ).toEqual(['sa', 'sb']);
    });

    it('keeps the index entry of a socket an earlier attach recorded when its re-attach is refused', async () => {
      const first = attachOf('u', 's1', 5);
      expect(((await attachSockets([first]))[0] as unknown[])[0]).toBe(1);
      await redis.set(userKeysOf('u').revoked, String(IAT));
      expect(await attachSockets([first])).toEqual([[-1, IAT]]);
      // Still recorded from the first attach, so still indexed: a purge must find it.
      expect(await redis.hget(userKeysOf('u').session, 'ss1')).toBe('A');
      expect(await indexed(first)).toBe(true);
    });

    it("fails only the attach whose command Redis refused, with Redis' message", async () => {
      await redis.set(userKeysOf('broken').session, 'not a hash');
      const calls = [attachOf('ok1', 's1', 5), attachOf('broken', 's2', 5), attachOf('ok2', 's3', 5)];
      const replies = await attachSockets(calls);
      expect(replies[1]).toEqual([-2, expect.stringMatching(/^WRONGTYPE/)]);
      expect((replies[0] as unknown[])[0]).toBe(1);
      expect((replies[2] as unknown[])[0]).toBe(1);
      expect(await Promise.all(calls.map(indexed))).toEqual([true, true, true]);
    });
  });

  it('revoke-tokens.lua records the Redis second, keeps it keepMs, and never moves it back', async () => {
    const before = Math.floor(nowMs() / 1000);
    const at = await scripts.revokeTokens(userKeys, 90_000);
    expect(at).toBeGreaterThanOrEqual(before - 1);
    expect(at).toBeLessThanOrEqual(Math.floor(nowMs() / 1000) + 1);
    expect(await redis.get(revoked)).toBe(String(at));
    expect(await redis.pttl(revoked)).toBeGreaterThan(89_000);
    // A revocation already later than the clock (a Redis clock that stepped back) stays, with a fresh TTL.
    await redis.set(revoked, Number(at) + 1000, 'PX', 1000);
    expect(await scripts.revokeTokens(userKeys, 90_000)).toBe(Number(at) + 1000);
    expect(await redis.pttl(revoked)).toBeGreaterThan(89_000);
    // The key is in the user's slot: the attach script reads it as KEYS[6].
    expect(revoked).toBe('lua:{u:u1}:v');
  });

  it('detach-socket.lua returns the node the socket was on, then nil, and never creates a session', async () => {
    await scripts.attachSocket(userKeys, 's1', 'A', 5, 5000, SEEN_MS, 0, IAT);
    expect(await scripts.detachSocket(userKeys, 's1', TTL_MS)).toBe('A');
    expect(await scripts.detachSocket(userKeys, 's1', TTL_MS)).toBeNull();
    await expectUserKeysExpireIn(TTL_MS);
    // The session outlives its last socket.
    expect(Object.keys(await redis.hgetall(session)).sort()).toEqual(['n', 'x']);
    await redis.flushall();
    expect(await scripts.detachSocket(userKeys, 's1', TTL_MS)).toBeNull();
    expect(await redis.exists(session)).toBe(0);
  });

  it('join-room.lua and leave-room.lua report changes, return the rooms and slide every TTL', async () => {
    await scripts.attachSocket(userKeys, 's1', 'A', 5, 5000, SEEN_MS, 0, IAT);
    expect(await scripts.joinRoom(userKeys, 'b', TTL_MS, 100)).toEqual([1, expect.any(Number), ['b']]);
    expect(await scripts.joinRoom(userKeys, 'b', TTL_MS, 100)).toEqual([0, expect.any(Number), ['b']]);
    // At the limit: a new room is refused with the count, a room already joined is still fine.
    expect(await scripts.joinRoom(userKeys, 'c', TTL_MS, 1)).toEqual([-1, 1]);
    expect(await scripts.joinRoom(userKeys, 'b', TTL_MS, 1)).toEqual([0, expect.any(Number), ['b']]);
    await expectUserKeysExpireIn(TTL_MS);
    expect(await scripts.leaveRoom(userKeys, 'b', 2 * TTL_MS)).toEqual([1, expect.any(Number), []]);
    expect(await scripts.leaveRoom(userKeys, 'b', 2 * TTL_MS)).toEqual([0, expect.any(Number), []]);
    await expectUserKeysExpireIn(2 * TTL_MS);
  });

  it('keeps sockets, rooms and the session expiry apart in the one hash, whatever the ids', async () => {
    await scripts.attachSocket(userKeys, 'c', 'A', 5, TTL_MS, SEEN_MS, 0, IAT);
    await scripts.attachSocket(userKeys, 'rx', 'B', 5, TTL_MS, SEEN_MS, 0, IAT);
    expect(await scripts.joinRoom(userKeys, 'c', TTL_MS, 100)).toEqual([1, expect.any(Number), ['c']]);
    expect(await scripts.joinRoom(userKeys, 'sx', TTL_MS, 100)).toEqual([1, expect.any(Number), ['c', 'sx']]);
    const reply = (await scripts.getSession(userKeys)) as unknown[];
    expect(reply.slice(1)).toEqual([
      ['c', 'A', 'rx', 'B'],
      ['c', 'sx'],
    ]);
    expect(await scripts.detachSocket(userKeys, 'c', TTL_MS)).toBe('A');
    expect(await scripts.leaveRoom(userKeys, 'c', TTL_MS)).toEqual([1, expect.any(Number), ['sx']]);
    expect(Number(await redis.hget(session, 'x'))).toBeGreaterThan(nowMs());
  });

  it('touch-session.lua extends an existing session (1) and leaves a missing one missing (0)', async () => {
    expect(await scripts.touchSession(userKeys, TTL_MS)).toBe(0);
    expect(await redis.exists(session)).toBe(0);
    await scripts.attachSocket(userKeys, 's1', 'A', 5, 5000, SEEN_MS, 0, IAT);
    await scripts.joinRoom(userKeys, 'lobby', 5000, 100);
    expect(await scripts.touchSession(userKeys, TTL_MS)).toBe(1);
    await expectUserKeysExpireIn(TTL_MS);
  });

  it('get-session.lua returns nil without a session, else expiresAt, the socket pairs and the rooms', async () => {
    expect(await scripts.getSession(userKeys)).toBeNull();
    const before = nowMs();
    await scripts.attachSocket(userKeys, 's1', 'A', 5, TTL_MS, SEEN_MS, 0, IAT);
    await scripts.joinRoom(userKeys, 'lobby', TTL_MS, 100);
    const reply = (await scripts.getSession(userKeys)) as unknown[];
    expect(reply.slice(1)).toEqual([['s1', 'A'], ['lobby']]);
    expect(reply[0]).toBeGreaterThanOrEqual(before + TTL_MS - 20);
    expect(reply[0]).toBeLessThanOrEqual(nowMs() + TTL_MS + 20);
  });

  it('purge-sockets.lua removes only sockets still recorded on the given node, and is safe to repeat', async () => {
    await scripts.attachSocket(userKeys, 's1', 'A', 5, 5000, SEEN_MS, 0, IAT);
    await scripts.attachSocket(userKeys, 's2', 'B', 5, 5000, SEEN_MS, 0, IAT);
    expect(await scripts.purgeSockets(userKeys, 'A', TTL_MS, ['s1', 's2', 'missing'])).toBe(1);
    expect(await scripts.purgeSockets(userKeys, 'A', TTL_MS, ['s1', 's2', 'missing'])).toBe(0);
    expect(await fieldsOf('s')).toEqual({ s2: 'B' });
    await expectUserKeysExpireIn(TTL_MS);
  });

  it('heartbeat-node.lua, find-dead-nodes.lua and forget-node.lua track liveness by the Redis clock', async () => {
    expect(await scripts.heartbeatNode(keys, 'A')).toBe(1);
    expect(await scripts.heartbeatNode(keys, 'A')).toBe(0);
    const score = Number(await redis.zscore(keys.nodes, 'A'));
    expect(Math.abs(score - nowMs())).toBeLessThan(1000);
    // Backdate two nodes instead of waiting: C died before B.
    await redis.zadd(keys.nodes, score - 10_000, 'B', score - 20_000, 'C');
    expect(await scripts.findDeadNodes(keys, 5000, 100)).toEqual(['C', 'B']);
    expect(await scripts.findDeadNodes(keys, 5000, 1)).toEqual(['C']);
    expect(await scripts.findDeadNodes(keys, 30_000, 100)).toEqual([]);
    expect(await scripts.forgetNode(keys, 'A', 5000)).toBe(0); // alive: kept
    expect(await scripts.forgetNode(keys, 'B', 5000)).toBe(1);
    expect(await scripts.forgetNode(keys, 'B', 5000)).toBe(0); // already gone
    expect(await scripts.forgetNode(keys, 'A', -1)).toBe(1); // graceful: unconditional
    expect(await redis.zrange(keys.nodes, 0, -1)).toEqual(['C']);
  });
});
