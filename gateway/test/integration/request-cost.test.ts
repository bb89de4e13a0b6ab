/**
 * What one request costs in Redis through the whole gateway (socket -> pipeline -> feature -> store), seen
 * by Redis itself (MONITOR): a `seat:hold` with a request id sends two commands (the user's index write and
 * the hold script, which keeps the request record), nothing for the request ledger; and on a single Redis
 * the attaches of connecting clients go only through attach-sockets.lua (a turn's attaches in one call).
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Ack, RestoredSession, SeatHold } from '@stayline/client-sdk/protocol';
import { SCRIPT_SOURCES } from '../../src/session/redis/scripts.ts';
import { baseEnv, connect, startGateway, tokenFor, type RunningGateway } from '../support/gateway.ts';
import { service } from '../support/claims.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { startMonitor } from '../../../dev/redis-monitor.ts';
import { nextEvent, request } from '../support/wait.ts';

const SERVICE_TOKEN = 'request-cost-service-token-0123456789';
// A user id no background loop names: every command that carries it was sent for this user's requests.
const USER = 'cost-user-7f3a';

describe('the Redis cost of a request through the gateway', () => {
  let redis: RedisProcess;
  let gw: RunningGateway;
  let socket: Socket;
  let probe: Redis;
  let env: NodeJS.ProcessEnv;
  const herd: Socket[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    env = baseEnv({ SERVICE_TOKEN, REDIS_URL: redis.url });
    gw = await startGateway(env);
    await service(gw.url, SERVICE_TOKEN).defineEvent('cost', { seats: ['A1', 'A2', 'A3'] });
    socket = connect(gw.url, tokenFor(env, USER));
    await nextEvent<RestoredSession>(socket, 'session:restored');
    probe = new Redis(redis.url);
  });
  afterAll(async () => {
    socket.close();
    for (const c of herd) c.close();
    probe.disconnect();
    await gw.stop();
    await redis.stop();
  });

  /** The commands (outside Lua) that name USER while `act` runs, in the order Redis ran them. */
  const commandsFor = async (act: () => Promise<unknown>): Promise<string[]> => {
    const seen: string[] = [];
    const monitor = await startMonitor(redis.url, ({ args, source }) => {
      if (source !== 'lua' && args.some((a) => a.includes(USER))) seen.push(String(args[0]).toLowerCase());
      if (args[0]?.toLowerCase() === 'echo' && args[1] === 'cost-end') seen.push('end');
    });
    try {
      await act();
      // Everything Redis ran before this echo has been reported once the echo is.
      await probe.echo('cost-end');
      await expect.poll(() => seen.includes('end')).toBe(true);
      return seen.filter((c) => c !== 'end');
    } finally {
      monitor.stop();
    }
  };

  it('costs a seat:hold with a request id two commands, and its retry the same two', async () => {
    // Warm up the scripts (the first call after a start may be answered NOSCRIPT and sent again).
    await request<Ack<SeatHold>>(socket, 'seat:hold', {
      eventId: 'cost',
      seatIds: ['A3'],
      requestId: 'warm',
    });
    let first: Ack<SeatHold> | undefined;
    const sent = await commandsFor(async () => {
      first = await request<Ack<SeatHold>>(socket, 'seat:hold', {
        eventId: 'cost',
        seatIds: ['A1'],
        requestId: 'cost-1',
      });
    });
    expect(first?.ok).toBe(true);
    expect(sent).toEqual(['evalsha', 'evalsha']);
    let again: Ack<SeatHold> | undefined;
    const retried = await commandsFor(async () => {
      again = await request<Ack<SeatHold>>(socket, 'seat:hold', {
        eventId: 'cost',
        seatIds: ['A1'],
        requestId: 'cost-1',
      });
    });
    expect(again).toEqual(first);
    expect(retried).toEqual(['evalsha', 'evalsha']);
  });

  it('sends the attaches of clients connecting at once only as attach-sockets.lua calls on a single Redis', async () => {
    const script = (name: 'attachSockets' | 'attachSocket') => {
      const source = SCRIPT_SOURCES[name];
      return { source, sha: createHash('sha1').update(source).digest('hex') };
    };
    const [batch, single] = [script('attachSockets'), script('attachSocket')];
    const is = (args: string[], s: { source: string; sha: string }): boolean =>
      /^eval(sha)?$/i.test(String(args[0])) && (args[1] === s.sha || args[1] === s.source);
    const batches: number[] = [];
    let singles = 0;
    const monitor = await startMonitor(redis.url, ({ args, source }) => {
      if (source === 'lua') return;
      if (is(args, batch)) batches.push(Number(args[2]) / 3); // three keys per attach
      if (is(args, single)) singles += 1;
    });
    // They stay connected until afterAll: their closes would send detaches while the next test runs.
    herd.push(...Array.from({ length: 40 }, (_, i) => connect(gw.url, tokenFor(env, `${USER}-herd-${i}`))));
    try {
      await Promise.all(herd.map((c) => nextEvent<RestoredSession>(c, 'session:restored')));
      await expect.poll(() => batches.reduce((a, b) => a + b, 0), { timeout: 10_000 }).toBe(40);
      expect(singles).toBe(0);
    } finally {
      monitor.stop();
    }
  });

  it('runs other requests with a request id through the ledger (begin, act, record)', async () => {
    const sent = await commandsFor(() =>
      request(socket, 'seat:release', { eventId: 'cost', seatIds: ['A1'], requestId: 'cost-2' }),
    );
    // The ledger's begin and its record (both scripts over the user's record list), around the release.
    expect(sent.length).toBeGreaterThan(2);
    expect(sent[0]).toMatch(/^eval/);
    expect(sent.at(-1)).toMatch(/^eval/);
  });
});
