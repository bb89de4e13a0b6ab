/**
 * Durable holds and sales (REDIS_WAIT_REPLICAS) and fences that only grow, with real processes: a primary
 * and a replica (`--replicaof`, no Sentinel: WAIT needs none). With the replica paused (SIGSTOP, by pid) a
 * hold is refused retryably within about the wait timeout and is not left held; once it resumes, the retry
 * succeeds. Fences: a counter emptied as a failover to a replica that lost the last writes would leave it
 * still yields a larger fence.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError, toWireError } from '../../src/errors/gateway-error.ts';
import { createRedisClient } from '../../src/infra/redis.ts';
import { RedisClaimStore } from '../../src/session/redis-claim-store.ts';
import { DURABLE_LANES, type DurableOperation } from '../../src/session/redis/durable-write.ts';
import { createEventKeys } from '../../src/session/redis/event-keys.ts';
import { freePort, installExitHook, spawnServer, terminate, waitForPong } from '../../../dev/redis.ts';
import { eventually } from '../support/redis.ts';

const logger = pino({ level: 'silent' });
const PREFIX = 'dw:';
// Long enough that a replica starved of CPU on a busy 2-core test machine still acknowledges in time.
const WAIT_TIMEOUT_MS = 1500;
const eventKeys = createEventKeys(PREFIX);
const limits = { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 30 };
let primary: ReturnType<typeof spawnServer>;
let replica: ReturnType<typeof spawnServer>;
let raw: Redis;
let store: RedisClaimStore;
const short: DurableOperation[] = [];
let cleanup = (): void => undefined;

const define = (eventId: string, seats: string[]) =>
  store.defineEvent(eventId, {
    seats,
    requiresAdmission: false,
    admissionRatePerSecond: 0,
    maxSeatsPerUser: 10,
    holdSeconds: 300,
  });

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

beforeAll(async () => {
  installExitHook();
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  // No 5 s diskless-sync delay; the replica's RDB goes to a temporary directory, not the working tree.
  const dir = mkdtempSync(join(tmpdir(), 'stayline-wait-'));
  cleanup = () => rmSync(dir, { recursive: true, force: true });
  primary = spawnServer(primaryPort, ['--repl-diskless-sync-delay', '0', '--dir', dir]);
  await waitForPong(primaryPort, primary.child, primary.output);
  replica = spawnServer(replicaPort, ['--replicaof', '127.0.0.1', String(primaryPort), '--dir', dir]);
  await waitForPong(replicaPort, replica.child, replica.output);
  raw = new Redis(primaryPort, '127.0.0.1');
  await eventually(
    async () => expect(await raw.info('replication')).toMatch(/slave0:.*state=online/),
    10_000,
  );
  // Online is not yet acknowledging: right after its sync a replica's first offsets can take a while to
  // reach the primary, and a WAIT then answers 0 (the product refuses those writes, retryably, as it should).
  // The tests start once a WAIT on the primary is answered by the replica.
  await eventually(async () => expect(await raw.wait(1, 1000)).toBe(1), 20_000);
  store = new RedisClaimStore({
    redis: createRedisClient(`redis://127.0.0.1:${primaryPort}`, {
      commandTimeoutMs: 2000,
      logger,
      name: 'durable-claims',
    }),
    ownsClient: true,
    keyPrefix: PREFIX,
    sessionTtlSeconds: 60,
    limits,
    logger,
    wait: { replicas: 1, timeoutMs: WAIT_TIMEOUT_MS },
    onWaitShort: (operation) => short.push(operation),
  });
  await eventually(() => store.ping(), 5000);
}, 30_000);

afterAll(async () => {
  replica?.child.kill('SIGCONT');
  await store?.close();
  raw?.disconnect();
  await Promise.all([
    primary && terminate(primary.child, 'SIGKILL'),
    replica && terminate(replica.child, 'SIGKILL'),
  ]);
  cleanup();
});

describe('REDIS_WAIT_REPLICAS=1 with a primary and a replica', () => {
  it('acknowledges a hold, a release and a sale while the replica keeps up', async () => {
    await define('up', ['A1', 'A2']);
    const held = await store.hold('u1', 'up', ['A1', 'A2'], false);
    expect(held).toMatchObject({ ok: true, newlyHeld: ['A1', 'A2'] });
    expect(await store.release('u1', 'up', ['A2'])).toEqual(['A2']);
    if (!held.ok) throw new Error('not held');
    expect(await store.confirm('u1', 'up', ['A1'], held.hold.fence)).toEqual(['A1']);
    expect(short).toEqual([]);
  });

  it('refuses a hold retryably within about the wait timeout while the replica is paused, leaves the seat free, and the retry succeeds', async () => {
    await define('lag', ['B1', 'B2']);
    const before = await store.hold('u2', 'lag', ['B1'], false);
    if (!before.ok) throw new Error('not held');
    replica.child.kill('SIGSTOP');
    let resumed = false;
    try {
      const started = performance.now();
      const err = await failure(
        store.hold('u2', 'lag', ['B1', 'B2'], false, { requestId: 'r-1', resultTtlMs: 60_000 }),
      );
      const tookMs = performance.now() - started;
      expect(err.code).toBe('STORE_UNAVAILABLE');
      expect(toWireError(err).retryable).toBe(true);
      expect(tookMs).toBeGreaterThanOrEqual(WAIT_TIMEOUT_MS - 20);
      expect(tookMs).toBeLessThan(WAIT_TIMEOUT_MS + 700);
      // Exactly what the refused call newly held was taken back: B2 free, the earlier B1 still u2's, no
      // request record left to replay "held".
      expect({ ...(await store.seatMap('lag')).seats }).toEqual({ B1: 'held', B2: 'free' });
      expect(await raw.exists(eventKeys('lag').holdRequest('u2', 'r-1'))).toBe(0);
      expect(await raw.hexists(eventKeys('lag').reqs, 'u2')).toBe(0);
      // A release and a sale are not acknowledged either (the sale stays a sale; its retry confirms it).
      expect((await failure(store.release('u2', 'lag', ['B1']))).code).toBe('STORE_UNAVAILABLE');
      // That release did happen on the primary (a release is not undone), so u3 gets B1, refused the same way.
      expect((await failure(store.hold('u3', 'lag', ['B1'], false))).code).toBe('STORE_UNAVAILABLE');
      expect(short).toEqual(['hold', 'release', 'hold']);
      replica.child.kill('SIGCONT');
      resumed = true;
      const retry = await store.hold('u2', 'lag', ['B1', 'B2'], false, {
        requestId: 'r-1',
        resultTtlMs: 60_000,
      });
      expect(retry).toMatchObject({ ok: true, replayed: false });
      if (!retry.ok) throw new Error('not held');
      expect(retry.hold.fence).toBeGreaterThan(before.hold.fence);
      // A replay of the acknowledged hold is acknowledged too (the replay writes, so its WAIT covers it).
      const replay = await store.hold('u2', 'lag', ['B1', 'B2'], false, {
        requestId: 'r-1',
        resultTtlMs: 60_000,
      });
      expect(replay).toEqual({ ...retry, replayed: true });
    } finally {
      if (!resumed) replica.child.kill('SIGCONT');
    }
  });

  it('refuses a sale retryably while the replica is paused; the retry with the same fence succeeds', async () => {
    await define('sale', ['C1']);
    const held = await store.hold('u4', 'sale', ['C1'], false);
    if (!held.ok) throw new Error('not held');
    short.length = 0;
    replica.child.kill('SIGSTOP');
    try {
      expect((await failure(store.confirm('u4', 'sale', ['C1'], held.hold.fence))).code).toBe(
        'STORE_UNAVAILABLE',
      );
    } finally {
      replica.child.kill('SIGCONT');
    }
    expect(short).toEqual(['confirm']);
    expect(await store.confirm('u4', 'sale', ['C1'], held.hold.fence)).toEqual([]);
    expect({ ...(await store.seatMap('sale')).seats }).toEqual({ C1: 'sold' });
  });

  it('waits again when the script went out behind the WAIT (EVALSHA refused with NOSCRIPT, then EVAL)', async () => {
    await define('noscript', ['D1', 'D2']);
    // Acknowledged, once on every lane (each has sent the hold scripts, so the next use is an EVALSHA).
    for (let i = 0; i < DURABLE_LANES; i++) {
      expect(await store.hold('u6', 'noscript', ['D2'], false)).toMatchObject({ ok: true });
    }
    short.length = 0;
    replica.child.kill('SIGSTOP');
    try {
      // Every earlier write is acknowledged already: a WAIT sent before the EVAL would answer 1 at once.
      await raw.script('FLUSH');
      const started = performance.now();
      expect((await failure(store.hold('u5', 'noscript', ['D1'], false))).code).toBe('STORE_UNAVAILABLE');
      // Redis 7.0 lets a WAIT block on a paused replica even with nothing new to wait for, so the refusal
      // alone proves nothing here: the second WAIT (the one sent behind the re-sent EVAL) shows in the time.
      expect(performance.now() - started).toBeGreaterThanOrEqual(2 * WAIT_TIMEOUT_MS - 20);
      expect({ ...(await store.seatMap('noscript')).seats }).toEqual({ D1: 'free', D2: 'held' });
    } finally {
      replica.child.kill('SIGCONT');
    }
    expect(short).toEqual(['hold']);
    expect(await store.hold('u5', 'noscript', ['D1'], false)).toMatchObject({ ok: true });
  });
});

describe('lanes', () => {
  it('keeps other claim traffic off the connections a WAIT blocks: a seat map answers while holds wait', async () => {
    await define('lanes', ['L1', 'L2']);
    replica.child.kill('SIGSTOP');
    try {
      const holds = Promise.allSettled([
        store.hold('u7', 'lanes', ['L1'], false),
        store.hold('u8', 'lanes', ['L2'], false),
      ]);
      const started = performance.now();
      expect(Object.keys((await store.seatMap('lanes')).seats).sort()).toEqual(['L1', 'L2']);
      expect(performance.now() - started).toBeLessThan(WAIT_TIMEOUT_MS / 2);
      expect((await holds).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    } finally {
      replica.child.kill('SIGCONT');
    }
  });
});

describe('fences', () => {
  it('stay safe integers and keep growing when the counter is lost (a promoted replica without the last writes)', async () => {
    await define('f', ['F1', 'F2']);
    const fences: number[] = [];
    for (let i = 0; i < 5; i++) {
      const held = await store.hold('fu', 'f', ['F1'], false, { requestId: `f-${i}`, resultTtlMs: 60_000 });
      if (!held.ok) throw new Error('not held');
      fences.push(held.hold.fence);
      // The recorded answer keeps all 16 digits (cjson alone would round them to 14).
      const replay = await store.hold('fu', 'f', ['F1'], false, { requestId: `f-${i}`, resultTtlMs: 60_000 });
      expect(replay).toMatchObject({ ok: true, replayed: true, hold: { fence: held.hold.fence } });
      expect((await store.userClaims('fu')).holds).toMatchObject([{ fence: held.hold.fence }]);
      expect(await store.release('fu', 'f', ['F1'])).toEqual(['F1']);
      if (i === 2) {
        // What a failover to a replica that missed the last fence writes leaves: an older counter (here
        // none at all). A failover takes far longer than a millisecond; 5 ms stand in for it.
        await raw.del(eventKeys('f').fence);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    expect(fences.every((f) => Number.isSafeInteger(f))).toBe(true);
    expect([...fences].sort((a, b) => a - b)).toEqual(fences);
    expect(new Set(fences).size).toBe(fences.length);
    // Stale-fence semantics unchanged: the first group's fence no longer sells.
    const live = await store.hold('fu', 'f', ['F2'], false);
    if (!live.ok) throw new Error('not held');
    expect((await failure(store.confirm('fu', 'f', ['F2'], fences[0]!))).code).toBe('FENCE_STALE');
    expect(await store.confirm('fu', 'f', ['F2'], live.hold.fence)).toEqual(['F2']);
  });

  it('stay above fences issued before this scheme (a small counter)', async () => {
    await define('old', ['O1']);
    await raw.set(eventKeys('old').fence, '41');
    const held = await store.hold('ou', 'old', ['O1'], false);
    if (!held.ok) throw new Error('not held');
    expect(held.hold.fence).toBeGreaterThan(41);
  });
});
