/**
 * Fences across a real Sentinel failover that loses writes: the replica is paused (SIGSTOP, by the pid it
 * reports) and its link cut, holds are acknowledged by the primary alone, the primary is SIGKILLed and the lagging replica
 * promoted. The promoted server never saw the last fence, yet the next fence is larger than every fence
 * issued before (no repeat). With REDIS_WAIT_REPLICAS=1 the hold made in the same window is refused, so
 * nothing the user was told "yours" is lost; without it the acknowledged hold is gone.
 */
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import { createRedisSentinelClient } from '../../src/infra/redis-sentinel.ts';
import type { HoldResult } from '../../src/session/claim-store.ts';
import { RedisClaimStore } from '../../src/session/redis-claim-store.ts';
import { createEventKeys } from '../../src/session/redis/event-keys.ts';
import type { WaitPolicy } from '../../src/session/redis/durable-write.ts';
import { eventually, startSentinelTopology, type SentinelTopology } from '../support/redis.ts';

const logger = pino({ level: 'silent' });
const PREFIX = 'ff:';
const eventKeys = createEventKeys(PREFIX);
/** The key of the bucket of event `ff`'s holders that holds `seat`, as `server` has the event. */
const holderOf = async (server: Redis, seat: string): Promise<string> =>
  eventKeys('ff').bucket('holder', seat, Number((await server.hget(eventKeys('ff').def, 'nb')) ?? 0));

describe('fences across a failover to a replica that lost the last writes', () => {
  let topology: SentinelTopology;
  let replicaPid = 0;
  const stores: RedisClaimStore[] = [];
  const open = (wait?: WaitPolicy): RedisClaimStore => {
    const store = new RedisClaimStore({
      redis: createRedisSentinelClient(
        {
          sentinels: topology.sentinels,
          name: topology.name,
          sentinelPassword: undefined,
          password: undefined,
        },
        { commandTimeoutMs: 1000, logger, name: 'claim-store' },
      ),
      ownsClient: true,
      keyPrefix: PREFIX,
      sessionTtlSeconds: 60,
      limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 30 },
      logger,
      ...(wait === undefined ? {} : { wait }),
    });
    stores.push(store);
    return store;
  };
  beforeAll(async () => {
    topology = await startSentinelTopology();
    const replica = new Redis(topology.replica.port, '127.0.0.1');
    replicaPid = Number(/process_id:(\d+)/.exec(await replica.info('server'))?.[1]);
    replica.disconnect();
    expect(replicaPid).toBeGreaterThan(0);
  });
  afterAll(async () => {
    if (replicaPid > 0) process.kill(replicaPid, 'SIGCONT');
    await Promise.all(stores.map((s) => s.close()));
    await topology?.stop();
  });

  it('issues a larger fence after the promotion than any issued before it, and loses no hold acknowledged under WAIT', async () => {
    const plain = open();
    // Long enough that a replica starved of CPU on a busy 2-core test machine still acknowledges in time.
    const durable = open({ replicas: 1, timeoutMs: 1500 });
    await eventually(() => plain.ping(), 10_000);
    await eventually(() => durable.ping(), 10_000);
    await plain.defineEvent('ff', {
      seats: ['S1', 'S2', 'S3', 'S4'],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 4,
      holdSeconds: 300,
    });
    const fenceOf = (r: HoldResult): number => {
      if (!r.ok) throw new Error(r.code);
      return r.hold.fence;
    };
    // A refusal right after the replica's sync is retryable (the hold is undone): retry it like a client.
    const first = await eventually(
      async () => fenceOf(await durable.hold('u1', 'ff', ['S1'], false)),
      10_000,
    );
    const replica = new Redis(topology.replica.port, '127.0.0.1');
    await eventually(
      async () => expect(await replica.hget(await holderOf(replica, 'S1'), 'S1')).toBe('u1'),
      5000,
    );
    replica.disconnect();

    process.kill(replicaPid, 'SIGSTOP');
    // And cut its link, so nothing written from now on is even in flight to it (a paused replica would
    // still read what already sits in its socket buffer when it wakes).
    const primary = new Redis(topology.primary.port, '127.0.0.1');
    await primary.client('KILL', 'TYPE', 'replica');
    primary.disconnect();
    // Acknowledged by the primary alone: lost with it.
    const lost = fenceOf(await plain.hold('u2', 'ff', ['S2'], false));
    expect(lost).toBeGreaterThan(first);
    // Under WAIT the same window answers a retryable refusal instead of "yours".
    const refused = await durable.hold('u3', 'ff', ['S3'], false).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).code).toBe('STORE_UNAVAILABLE');

    await topology.primary.kill();
    process.kill(replicaPid, 'SIGCONT');
    await topology.waitForPrimary(topology.replica.port, 30_000);

    const after = await eventually(async () => fenceOf(await plain.hold('u4', 'ff', ['S4'], false)), 20_000);
    const promoted = new Redis(topology.replica.port, '127.0.0.1');
    try {
      // The promoted server never got u2's hold (nor its fence); its counter now holds the new fence...
      expect(Number(await promoted.get(eventKeys('ff').fence))).toBe(after);
      expect(await promoted.hget(await holderOf(promoted, 'S2'), 'S2')).toBeNull();
      // ...and u1's hold, acknowledged under WAIT, survived.
      expect(await promoted.hget(await holderOf(promoted, 'S1'), 'S1')).toBe('u1');
    } finally {
      promoted.disconnect();
    }
    // No fence repeats: the next one is above every fence issued before the failover, the lost one included.
    expect(after).toBeGreaterThan(lost);
    expect(Number.isSafeInteger(after)).toBe(true);
    const u2 = await plain.hold('u2', 'ff', ['S2'], false);
    expect(fenceOf(u2)).toBeGreaterThan(after);
  }, 60_000);
});
