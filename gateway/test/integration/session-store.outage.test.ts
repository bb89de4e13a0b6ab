/**
 * Redis outages: the store must fail fast and loudly (STORE_UNAVAILABLE within about commandTimeoutMs,
 * never a "no session" answer), must not replay failed commands later, and must heal by itself, on the
 * same instance, when Redis is back.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isGatewayError } from '../../src/errors/gateway-error.ts';
import { createSessionStore, type SessionStore } from '../../src/session/index.ts';
import { freePort, startRedis, eventually, type RedisProcess } from '../support/redis.ts';

/** Far above what these tests join: the room limit has its own test. */
const MAX_ROOMS = 10_000;

/** The connecting token's iat (seconds) where revocation is not what a test is about: none is made. */
const IAT = 1_700_000_000;

const logger = pino({ level: 'silent' });
const COMMAND_TIMEOUT_MS = 300;
/** Scheduling slack on top of the timeout (two busy test files share two cores). */
const MARGIN_MS = 250;

let server: RedisProcess;
let store: SessionStore;
let observed: { command: string; outcome: 'ok' | 'error' }[] = [];

function storeConfig(redisUrl: string) {
  return {
    redisUrl,
    redisClusterNodes: undefined,
    redisSentinel: undefined,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    keyPrefix: 'outage:',
    sessionTtlSeconds: 60,
    heartbeatSeconds: 1,
    deadAfterSeconds: 2,
  };
}

/** Every SessionStore method except close, as the gateway would call it for user u1 on node A. */
const CALLS: Record<string, (s: SessionStore) => Promise<unknown>> = {
  attachSocket: (s) => s.attachSocket('u1', 's2', 'A', 5, IAT),
  detachSocket: (s) => s.detachSocket('u1', 's1'),
  joinRoom: (s) => s.joinRoom('u1', 'lobby', MAX_ROOMS),
  leaveRoom: (s) => s.leaveRoom('u1', 'lobby'),
  touch: (s) => s.touch(['u1']),
  getSession: (s) => s.getSession('u1'),
  heartbeat: (s) => s.heartbeat('A'),
  purgeDeadNodes: (s) => s.purgeDeadNodes(),
  removeNode: (s) => s.removeNode('A'),
  revokeTokens: (s) => s.revokeTokens('u1', 60),
  isRevoked: (s) => s.isRevoked('u1', IAT),
  ping: (s) => s.ping(),
};

/** Runs every call at once; returns, per method, what it settled with and after how long. */
async function callEverything(
  target: SessionStore,
): Promise<Record<string, { error: unknown; ms: number; value?: unknown }>> {
  const entries = await Promise.all(
    Object.entries(CALLS).map(async ([name, call]) => {
      const started = performance.now();
      const settled = await call(target).then(
        (value: unknown) => ({ error: undefined, value }),
        (error: unknown) => ({ error }),
      );
      return [name, { ...settled, ms: performance.now() - started }] as const;
    }),
  );
  return Object.fromEntries(entries);
}

function expectAllUnavailable(results: Record<string, { error: unknown; ms: number }>, atLeastMs = 0): void {
  for (const [name, { error, ms }] of Object.entries(results)) {
    expect(isGatewayError(error, 'STORE_UNAVAILABLE'), `${name} should reject with STORE_UNAVAILABLE`).toBe(
      true,
    );
    expect(ms, `${name} settled after ${Math.round(ms)} ms`).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    expect(ms, `${name} settled after ${Math.round(ms)} ms`).toBeGreaterThanOrEqual(atLeastMs);
  }
}

/** Waits for the same store instance to answer again, then checks it reads and writes. */
async function expectRecovered(target: SessionStore): Promise<void> {
  await eventually(() => target.ping(), 10_000);
  expect(await target.attachSocket('u-after', 's1', 'A', 5, IAT)).toMatchObject({
    ok: true,
    session: { recovered: false },
  });
  expect(await target.joinRoom('u-after', 'lobby', MAX_ROOMS)).toMatchObject({
    changed: true,
    rooms: ['lobby'],
  });
  expect(await target.getSession('u-after')).toMatchObject({ rooms: ['lobby'], sockets: { s1: 'A' } });
}

beforeAll(async () => {
  server = await startRedis();
  store = createSessionStore(storeConfig(server.url), {
    logger,
    observeCommand: (command, _seconds, outcome) => observed.push({ command, outcome }),
  });
  await eventually(() => store.ping());
});
beforeEach(async () => {
  // Each test starts with a fresh, empty Redis (commands that timed out in the previous test may still
  // have run) and a session for u1: socket s1 on node A, in 'lobby'.
  await server.restart();
  await eventually(() => store.ping(), 10_000);
  await store.attachSocket('u1', 's1', 'A', 5, IAT);
  await store.joinRoom('u1', 'lobby', MAX_ROOMS);
  observed = [];
});
afterAll(async () => {
  await store.close();
  await server.stop();
});

describe('Redis session store during an outage', () => {
  it.each(['stop', 'kill'] as const)(
    'rejects every method with STORE_UNAVAILABLE at once when Redis is down (%s), then recovers on the same instance',
    async (how) => {
      await server[how]();
      expectAllUnavailable(await callEverything(store));
      expect(
        observed
          .filter((o) => o.outcome === 'error')
          .map((o) => o.command)
          .sort(),
      ).toEqual(Object.keys(CALLS).sort());

      await server.restart();
      await expectRecovered(store);
      expect(observed.at(-1)).toEqual({ command: 'getSession', outcome: 'ok' });
    },
  );

  it('rejects every method with STORE_UNAVAILABLE within commandTimeoutMs when Redis hangs', async () => {
    server.pause();
    try {
      expectAllUnavailable(await callEverything(store), COMMAND_TIMEOUT_MS - 20);
    } finally {
      server.resume();
    }
    await expectRecovered(store);
  });

  it('may still apply a command that timed out while Redis hung, once Redis wakes up (a timeout is not a rollback)', async () => {
    server.pause();
    const late = await store.attachSocket('u1', 's-late', 'A', 5, IAT).catch((err: unknown) => err);
    expect(isGatewayError(late, 'STORE_UNAVAILABLE')).toBe(true);
    server.resume();
    // Redis reads the command it had buffered and runs it. Scripts are idempotent, so a retry is safe.
    await eventually(async () =>
      expect((await store.getSession('u1'))?.sockets).toEqual({ s1: 'A', 's-late': 'A' }),
    );
    expect(await store.attachSocket('u1', 's-late', 'A', 5, IAT)).toMatchObject({
      ok: true,
      session: { recovered: true },
    });
  });

  it('does not replay a command that failed during an outage after Redis comes back', async () => {
    server.pause();
    const pending = store.attachSocket('u-replay', 's1', 'A', 5, IAT).catch((err: unknown) => err);
    await server.kill(); // the command was written but never answered
    const failure = await pending;
    expect(isGatewayError(failure, 'STORE_UNAVAILABLE'), JSON.stringify(failure)).toBe(true);
    await server.restart();
    await eventually(() => store.ping(), 10_000);
    // A replay would have been sent on reconnect, before this ping, on the same connection.
    expect(await store.getSession('u-replay')).toBeNull();
  });

  it('rejects each attach of a turn with STORE_UNAVAILABLE while Redis refuses writes (maxmemory), recording none', async () => {
    const admin = new Redis(server.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      // One turn: the store sends both in one attach-sockets.lua call, which fails each attach alone.
      const settled = await Promise.allSettled([
        store.attachSocket('u2', 's1', 'A', 5, IAT),
        store.attachSocket('u3', 's1', 'A', 5, IAT),
      ]);
      for (const r of settled)
        expect(r).toMatchObject({ status: 'rejected', reason: { code: 'STORE_UNAVAILABLE' } });
      await admin.config('SET', 'maxmemory', '0');
      expect(await store.getSession('u2')).toBeNull();
      expect(await store.getSession('u3')).toBeNull();
      expect(await store.attachSocket('u2', 's1', 'A', 5, IAT)).toMatchObject({ ok: true });
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
  });

  it('rejects with STORE_UNAVAILABLE at once when Redis was never reachable', async () => {
    const orphan = createSessionStore(storeConfig(`redis://127.0.0.1:${await freePort()}`), { logger });
    try {
      const started = performance.now();
      await expect(orphan.getSession('u1')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(orphan.attachSocket('u1', 's1', 'A', 5, IAT)).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
      });
      expect(performance.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    } finally {
      await orphan.close();
    }
  });
});
