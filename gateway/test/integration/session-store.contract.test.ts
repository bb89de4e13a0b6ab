/**
 * The SessionStore contract, run against both stores: the in-memory one on a fake clock, the Redis one
 * on a real redis-server with real (short) TTLs. A harness hides the difference: `openNodes(n)` gives n
 * handles on the same data (n Redis connections, like n gateway nodes; the same object in memory),
 * `passTime(ms)` moves the fake clock or lets real time pass, `eventually` polls by the store's clock.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '../../src/errors/gateway-error.ts';
import { createRedisClient, createRedisClusterClient } from '../../src/infra/redis.ts';
import { MemorySessionStore, RedisSessionStore, type SessionStore } from '../../src/session/index.ts';
import {
  eventually,
  startRedis,
  startRedisCluster,
  type RedisClusterProcess,
  type RedisProcess,
} from '../support/redis.ts';

/** The connecting token's iat (seconds) where revocation is not what a test is about: none is made. */
const IAT = 1_700_000_000;

/** Far above what these tests join: the room limit has its own test. */
const MAX_ROOMS = 10_000;

interface StoreOptions {
  sessionTtlSeconds?: number;
  deadAfterSeconds?: number;
}

interface Harness {
  name: 'memory' | 'redis' | 'redis-cluster';
  setup(): Promise<void>;
  teardown(): Promise<void>;
  openNodes(count: number, options?: StoreOptions): Promise<SessionStore[]>;
  passTime(ms: number): Promise<void>;
  /** Repeats `check` until it passes, failing once `withinMs` of store time has passed. */
  eventually<T>(check: () => Promise<T>, withinMs: number): Promise<T>;
  now(): number;
  /** Tolerance of expiresAt checks: 0 on the fake clock; Redis' TIME against Date.now on the real one. */
  slackMs: number;
}

const logger = pino({ level: 'silent' });
const DEFAULTS = { sessionTtlSeconds: 60, deadAfterSeconds: 1 };
const opened: SessionStore[] = [];

function memoryHarness(): Harness {
  let clock = 1_700_000_000_000;
  return {
    name: 'memory',
    slackMs: 0,
    setup: () => Promise.resolve(),
    teardown: () => Promise.resolve(),
    openNodes(count, options) {
      const store = new MemorySessionStore({ ...DEFAULTS, ...options, now: () => clock });
      opened.push(store);
      return Promise.resolve(Array.from({ length: count }, () => store));
    },
    passTime(ms) {
      clock += ms;
      return Promise.resolve();
    },
    async eventually(check, withinMs) {
      const deadline = clock + withinMs;
      for (;;) {
        try {
          return await check();
        } catch (err) {
          if (clock >= deadline) throw err;
          clock += 50;
        }
      }
    },
    now: () => clock,
  };
}

function redisHarness(kind: 'redis' | 'redis-cluster' = 'redis'): Harness {
  let redis: RedisProcess | undefined;
  let redisCluster: RedisClusterProcess | undefined;
  let prefixes = 0;
  return {
    name: kind,
    slackMs: 20,
    async setup() {
      if (kind === 'redis') redis = await startRedis();
      else redisCluster = await startRedisCluster();
    },
    async teardown() {
      await redis?.stop();
      await redisCluster?.stop();
    },
    async openNodes(count, options) {
      const url = redis?.url ?? '';
      const keyPrefix = `contract${++prefixes}:`; // a fresh key space per test
      const stores = Array.from({ length: count }, (_, i) => {
        const clientOptions = { commandTimeoutMs: 2000, logger, name: `node-${i}` };
        const client = redisCluster
          ? createRedisClusterClient(redisCluster.seeds, clientOptions)
          : createRedisClient(url, clientOptions);
        return new RedisSessionStore({
          ...DEFAULTS,
          ...options,
          redis: client,
          ownsClient: true,
          keyPrefix,
          logger,
        });
      });
      opened.push(...stores);
      await Promise.all(stores.map((store) => eventually(() => store.ping())));
      return stores;
    },
    passTime: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    eventually: (check, withinMs) => eventually(check, withinMs),
    now: () => Date.now(),
  };
}

describe.each([memoryHarness(), redisHarness(), redisHarness('redis-cluster')])(
  '$name session store',
  (h) => {
    beforeAll(() => h.setup());
    afterAll(() => h.teardown());
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    /** Handles on the same data as if from `count` nodes (index them with `at`). */
    const at = (nodes: readonly SessionStore[], i: number): SessionStore => {
      const node = nodes[i % nodes.length];
      if (node === undefined) throw new Error('no store');
      return node;
    };
    const open = async (options?: StoreOptions): Promise<SessionStore> =>
      at(await h.openNodes(1, options), 0);
    /** Asserts `expiresAt` is ttl after some moment between `before` and now. */
    const expectExpiresAt = (expiresAt: number, ttlMs: number, before: number): void => {
      expect(expiresAt).toBeGreaterThanOrEqual(before + ttlMs - h.slackMs);
      expect(expiresAt).toBeLessThanOrEqual(h.now() + ttlMs + h.slackMs);
    };

    it('resolves getSession with null for a user who never connected', async () => {
      const store = await open();
      expect(await store.getSession('nobody')).toBeNull();
    });

    it('tells a user who comes back after the TTL from a first visit (returnedAfterExpiry)', async () => {
      const store = await open({ sessionTtlSeconds: 1 });
      const first = await store.attachSocket('late', 's1', 'A', 5, IAT);
      expect(first).toMatchObject({ ok: true, session: { recovered: false, returnedAfterExpiry: false } });
      await store.detachSocket('late', 's1');
      await h.passTime(1_300);
      expect(await store.getSession('late')).toBeNull();
      const back = await store.attachSocket('late', 's2', 'A', 5, IAT);
      expect(back).toMatchObject({ ok: true, session: { recovered: false, returnedAfterExpiry: true } });
      const tab = await store.attachSocket('late', 's3', 'A', 5, IAT);
      expect(tab).toMatchObject({ ok: true, session: { recovered: true, returnedAfterExpiry: false } });
    });

    it('reports recovered false on the first attach and true for a second tab', async () => {
      const store = await open();
      const before = h.now();
      const first = await store.attachSocket('u1', 's1', 'A', 5, IAT);
      expect(first).toMatchObject({ ok: true, session: { recovered: false, rooms: [] } });
      if (first.ok) expectExpiresAt(first.session.expiresAt, 60_000, before);
      expect(await store.attachSocket('u1', 's2', 'B', 5, IAT)).toMatchObject({
        ok: true,
        session: { recovered: true },
      });
      expect((await store.getSession('u1'))?.sockets).toEqual({ s1: 'A', s2: 'B' });
    });

    it('keeps rooms across detach and restores them on the next attach', async () => {
      const store = await open();
      await store.attachSocket('u1', 's1', 'A', 5, IAT);
      await store.joinRoom('u1', 'lobby', MAX_ROOMS);
      await store.joinRoom('u1', 'game:7', MAX_ROOMS);
      await store.detachSocket('u1', 's1');
      expect(await store.getSession('u1')).toMatchObject({ rooms: ['game:7', 'lobby'], sockets: {} });
      expect(await store.attachSocket('u1', 's9', 'B', 5, IAT)).toMatchObject({
        ok: true,
        session: { recovered: true, rooms: ['game:7', 'lobby'] },
      });
    });

    it('treats repeated joins and leaves as no-ops that report changed false', async () => {
      const store = await open();
      await store.attachSocket('u1', 's1', 'A', 5, IAT);
      const before = h.now();
      const joined = await store.joinRoom('u1', 'b', MAX_ROOMS);
      expect(joined).toMatchObject({ changed: true, rooms: ['b'] });
      expectExpiresAt(joined.expiresAt, 60_000, before);
      expect(await store.joinRoom('u1', 'b', MAX_ROOMS)).toMatchObject({ changed: false, rooms: ['b'] });
      expect(await store.joinRoom('u1', 'a', MAX_ROOMS)).toMatchObject({ changed: true, rooms: ['a', 'b'] });
      expect(await store.leaveRoom('u1', 'b')).toMatchObject({ changed: true, rooms: ['a'] });
      expect(await store.leaveRoom('u1', 'b')).toMatchObject({ changed: false, rooms: ['a'] });
      expect(await store.leaveRoom('u1', 'never')).toMatchObject({ changed: false, rooms: ['a'] });
    });

    it('refuses a join past the room limit with ROOM_LIMIT, atomically under 40 concurrent joins from 4 nodes', async () => {
      const nodes = await h.openNodes(4);
      await at(nodes, 0).attachSocket('u1', 's1', 'A', 5, IAT);
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) => at(nodes, i).joinRoom('u1', `room-${i}`, 7)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(7);
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(refused).toHaveLength(33);
      for (const err of refused) expect(err).toMatchObject({ code: 'ROOM_LIMIT' });
      expect((await at(nodes, 0).getSession('u1'))?.rooms).toHaveLength(7);
      // A room already joined can be joined again at the limit; leaving one makes room for another.
      const kept = (await at(nodes, 0).getSession('u1'))?.rooms[0] ?? '';
      await expect(at(nodes, 1).joinRoom('u1', kept, 7)).resolves.toMatchObject({ changed: false });
      await at(nodes, 2).leaveRoom('u1', kept);
      await expect(at(nodes, 3).joinRoom('u1', 'late-room', 7)).resolves.toMatchObject({ changed: true });
    });

    it('detaches idempotently and never creates a session by detaching or touching', async () => {
      const store = await open();
      await store.detachSocket('ghost', 's1');
      await store.touch(['ghost']);
      expect(await store.getSession('ghost')).toBeNull();
      await store.attachSocket('u1', 's1', 'A', 5, IAT);
      await store.detachSocket('u1', 's1');
      await store.detachSocket('u1', 's1');
      expect(await store.getSession('u1')).toMatchObject({ sockets: {}, rooms: [] });
    });

    it('expires a session one TTL after its last activity, and a later attach is not recovered', async () => {
      const store = await open({ sessionTtlSeconds: 2 });
      await store.attachSocket('u1', 's1', 'A', 5, IAT);
      await store.joinRoom('u1', 'lobby', MAX_ROOMS);
      await h.passTime(1200);
      await store.detachSocket('u1', 's1'); // activity: a full TTL from now
      await h.passTime(1200); // 2.4 s after the attach
      expect(await store.getSession('u1')).toMatchObject({ rooms: ['lobby'] });
      await h.eventually(async () => expect(await store.getSession('u1')).toBeNull(), 1500);
      expect(await store.attachSocket('u1', 's2', 'A', 5, IAT)).toMatchObject({
        ok: true,
        session: { recovered: false, rooms: [] },
      });
    });

    it('keeps touched sessions alive past their TTL (sliding expiry), for many users at once', async () => {
      const store = await open({ sessionTtlSeconds: 2 });
      const users = Array.from({ length: 1200 }, (_, i) => `user-${i}`);
      await Promise.all(users.map((u) => store.attachSocket(u, `s-${u}`, 'A', 5, IAT)));
      for (let round = 0; round < 3; round += 1) {
        await h.passTime(800);
        await store.touch([...users, 'no-session']);
      }
      const sessions = await Promise.all(users.map((u) => store.getSession(u)));
      expect(sessions.filter((s) => s === null)).toHaveLength(0); // 2.4 s after attach, TTL 2 s
      expect(await store.getSession('no-session')).toBeNull();
      await h.eventually(async () => expect(await store.getSession('user-0')).toBeNull(), 2500);
    });

    it('enforces the connection limit atomically under 50 concurrent attaches from 5 nodes', async () => {
      const nodes = await h.openNodes(5);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          at(nodes, i).attachSocket('u1', `s${i}`, `node-${i % 5}`, 5, IAT),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(5);
      expect(results.filter((r) => !r.ok)).toEqual(
        Array(45).fill({ ok: false, reason: 'CONNECTION_LIMIT', liveSockets: 5 }),
      );
      expect(Object.keys((await at(nodes, 0).getSession('u1'))?.sockets ?? {})).toHaveLength(5);
    });

    it('does not count a re-attach of a recorded socket against the limit, and frees a slot on detach', async () => {
      const store = await open();
      await store.attachSocket('u1', 's1', 'A', 2, IAT);
      await store.attachSocket('u1', 's2', 'A', 2, IAT);
      expect(await store.attachSocket('u1', 's2', 'A', 2, IAT)).toMatchObject({
        ok: true,
        session: { recovered: true },
      });
      expect(await store.attachSocket('u1', 's3', 'A', 2, IAT)).toEqual({
        ok: false,
        reason: 'CONNECTION_LIMIT',
        liveSockets: 2,
      });
      await store.detachSocket('u1', 's1');
      expect(await store.attachSocket('u1', 's3', 'A', 2, IAT)).toMatchObject({ ok: true });
    });

    it('creates the session when a live socket joins a room without one', async () => {
      const store = await open({ sessionTtlSeconds: 1 });
      expect(await store.joinRoom('u1', 'lobby', MAX_ROOMS)).toMatchObject({
        changed: true,
        rooms: ['lobby'],
      });
      expect(await store.getSession('u1')).toMatchObject({ rooms: ['lobby'], sockets: {} });
    });

    it('purges the sockets of a node that stopped beating, keeping sessions, rooms and live nodes', async () => {
      const nodes = await h.openNodes(2);
      const [a, b] = [at(nodes, 0), at(nodes, 1)];
      await a.heartbeat('A');
      await b.heartbeat('B');
      await a.attachSocket('u1', 's1', 'A', 5, IAT);
      await b.attachSocket('u1', 's2', 'B', 5, IAT);
      await a.attachSocket('u2', 's3', 'A', 5, IAT);
      await a.joinRoom('u1', 'lobby', MAX_ROOMS);
      const result = await h.eventually(async () => {
        await b.heartbeat('B');
        const purged = await b.purgeDeadNodes();
        expect(purged.nodes).toEqual(['A']);
        return purged;
      }, 3000);
      expect(result.sockets).toBe(2);
      expect(await b.getSession('u1')).toMatchObject({ rooms: ['lobby'], sockets: { s2: 'B' } });
      expect(await b.getSession('u2')).toMatchObject({ rooms: [], sockets: {} });
      expect(await b.purgeDeadNodes()).toEqual({ nodes: [], sockets: 0 });
    });

    it('removes each socket of a dead node exactly once when two live nodes purge at the same time', async () => {
      const nodes = await h.openNodes(3);
      const [a, b, c] = [at(nodes, 0), at(nodes, 1), at(nodes, 2)];
      await a.heartbeat('A');
      const users = Array.from({ length: 300 }, (_, i) => `user-${i}`);
      await Promise.all(
        users.flatMap((u) => [
          a.attachSocket(u, `${u}-1`, 'A', 5, IAT),
          a.attachSocket(u, `${u}-2`, 'A', 5, IAT),
        ]),
      );
      await h.passTime(1500);
      const [fromB, fromC] = await Promise.all([b.purgeDeadNodes(), c.purgeDeadNodes()]);
      expect(fromB.sockets + fromC.sockets).toBe(600);
      expect([...fromB.nodes, ...fromC.nodes]).toContain('A');
      const sessions = await Promise.all(users.map((u) => b.getSession(u)));
      expect(sessions.every((s) => s !== null && Object.keys(s.sockets).length === 0)).toBe(true);
      expect(await b.purgeDeadNodes()).toEqual({ nodes: [], sockets: 0 });
    });

    it('removes its own sockets and registry entry on removeNode, leaving other nodes alone', async () => {
      const nodes = await h.openNodes(2);
      const [a, b] = [at(nodes, 0), at(nodes, 1)];
      await a.heartbeat('A');
      await a.attachSocket('u1', 's1', 'A', 5, IAT);
      await b.attachSocket('u1', 's2', 'B', 5, IAT);
      await a.joinRoom('u1', 'lobby', MAX_ROOMS);
      await a.removeNode('A');
      await a.removeNode('A');
      await a.removeNode('never-seen');
      expect(await b.getSession('u1')).toMatchObject({ rooms: ['lobby'], sockets: { s2: 'B' } });
      await h.passTime(1500);
      expect(await b.purgeDeadNodes()).toEqual({ nodes: [], sockets: 0 });
    });

    it('keeps sessions of user ids with braces, percent signs and spaces apart', async () => {
      const store = await open();
      const ids = ['a', 'a}b', '{user:a}', 'a%7Db', 'a b', '}', '%'];
      for (const id of ids) {
        await store.attachSocket(id, `socket of ${id}`, 'node {x}', 5, IAT);
        await store.joinRoom(id, `room of ${id}`, MAX_ROOMS);
      }
      for (const id of ids) {
        expect(await store.getSession(id)).toMatchObject({
          rooms: [`room of ${id}`],
          sockets: { [`socket of ${id}`]: 'node {x}' },
        });
      }
      await store.removeNode('node {x}');
      expect(await store.getSession('a}b')).toMatchObject({ sockets: {} });
    });

    it('refuses, on every node, an attach with a token issued at or before the revocation second, writing nothing; a later token attaches', async () => {
      const nodes = await h.openNodes(2);
      const [a, b] = [at(nodes, 0), at(nodes, 1)];
      await a.attachSocket('u1', 's1', 'A', 5, IAT);
      await a.joinRoom('u1', 'lobby', MAX_ROOMS);
      const revokedAt = await a.revokeTokens('u1', 60);
      // Whole seconds of the store's clock (Redis' TIME against this process's clock: a second apart at most).
      expect(Number.isInteger(revokedAt)).toBe(true);
      expect(Math.abs(revokedAt - Math.floor(h.now() / 1000))).toBeLessThanOrEqual(h.slackMs > 0 ? 1 : 0);
      const refused = { ok: false, reason: 'REVOKED', revokedAtSeconds: revokedAt };
      // "At or before": a token issued in the very second of the revocation is refused too.
      expect(await b.attachSocket('u1', 's2', 'B', 5, revokedAt)).toEqual(refused);
      expect(await b.attachSocket('u1', 's3', 'B', 5, revokedAt - 3600)).toEqual(refused);
      expect(await a.attachSocket('u1', 's1', 'A', 5, revokedAt)).toEqual(refused);
      expect(await b.attachSocket('u1', 's4', 'B', 5, revokedAt + 1)).toMatchObject({
        ok: true,
        session: { recovered: true, rooms: ['lobby'] },
      });
      // The revocation left the session and its live socket alone (closing sockets is the gateway's part).
      expect(await a.getSession('u1')).toMatchObject({ rooms: ['lobby'], sockets: { s1: 'A', s4: 'B' } });
      expect(await b.isRevoked('u1', revokedAt)).toBe(true);
      expect(await b.isRevoked('u1', revokedAt - 1)).toBe(true);
      expect(await b.isRevoked('u1', revokedAt + 1)).toBe(false);
      // Other users, including ids that only look alike, are not revoked.
      for (const other of ['u2', 'u1 ', 'U1', '{user:u1}']) {
        expect(await b.isRevoked(other, revokedAt)).toBe(false);
        expect(await b.attachSocket(other, `s-${other}`, 'B', 5, revokedAt)).toMatchObject({ ok: true });
      }
    });

    it('checks the revocation before the connection limit', async () => {
      const store = await open();
      await store.attachSocket('u1', 's1', 'A', 1, IAT);
      const revokedAt = await store.revokeTokens('u1', 60);
      expect(await store.attachSocket('u1', 's2', 'A', 1, revokedAt)).toMatchObject({
        ok: false,
        reason: 'REVOKED',
      });
      expect(await store.attachSocket('u1', 's2', 'A', 1, revokedAt + 1)).toMatchObject({
        ok: false,
        reason: 'CONNECTION_LIMIT',
      });
    });

    it('forgets a revocation keepSeconds after it was made, never earlier', async () => {
      const store = await open();
      const revokedAt = await store.revokeTokens('u1', 3);
      await h.passTime(1000);
      expect(await store.isRevoked('u1', revokedAt)).toBe(true);
      expect(await store.attachSocket('u1', 's1', 'A', 5, revokedAt)).toMatchObject({ reason: 'REVOKED' });
      await h.eventually(async () => expect(await store.isRevoked('u1', revokedAt)).toBe(false), 3000);
      expect(await store.attachSocket('u1', 's1', 'A', 5, revokedAt)).toMatchObject({ ok: true });
    });

    it('moves a repeated revocation forward and keeps it a full keepSeconds from the last call', async () => {
      const store = await open();
      const first = await store.revokeTokens('u1', 4);
      await h.passTime(1100);
      const second = await store.revokeTokens('u1', 4);
      expect(second).toBeGreaterThan(first);
      expect(await store.isRevoked('u1', second)).toBe(true);
      await h.passTime(3100); // 4.2 s after the first call, 3.1 s after the second
      expect(await store.isRevoked('u1', first)).toBe(true);
      expect(await store.isRevoked('u1', second + 1)).toBe(false);
    });

    it('rejects with STORE_UNAVAILABLE after close', async () => {
      const store = await open();
      await store.close();
      const err: unknown = await store.getSession('u1').catch((e: unknown) => e);
      expect(isGatewayError(err, 'STORE_UNAVAILABLE')).toBe(true);
      await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    });
  },
);
