/**
 * Queue and seats on one in-process gateway, with each store: the embedded memory store (single node, the
 * default) and Redis. Plus what a Redis outage looks like to a client: STORE_UNAVAILABLE, never a wrong answer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type {
  Ack,
  QueuePlace,
  RestoredSession,
  SeatExpiredPayload,
  SeatHold,
  SeatMapResult,
} from '@stayline/client-sdk/protocol';
import { baseEnv, connect, startGateway, tokenFor, type RunningGateway } from '../support/gateway.ts';
import { SeatWatcher, service } from '../support/claims.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const SERVICE_TOKEN = 'queue-seats-service-token-0123456789';

for (const kind of ['memory', 'redis'] as const) {
  describe(`queue and seats on one node (${kind} store)`, () => {
    let redis: RedisProcess | undefined;
    let gw: RunningGateway;
    let env: Record<string, string | undefined>;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      if (kind === 'redis') redis = await startRedis();
      env = baseEnv({
        SERVICE_TOKEN,
        SESSION_TTL_SECONDS: '2',
        CLAIM_SWEEP_INTERVAL_MS: '100',
        QUEUE_PUSH_INTERVAL_MS: '200',
        ...(redis ? { REDIS_URL: redis.url } : {}),
      });
      gw = await startGateway(env);
    });
    afterEach(() => {
      for (const s of sockets.splice(0)) s.close();
    });
    afterAll(async () => {
      await gw.stop();
      await redis?.stop();
    });
    const open = async (sub: string) => {
      const socket = connect(gw.url, tokenFor(env, sub));
      sockets.push(socket);
      const session = await nextEvent<RestoredSession>(socket, 'session:restored');
      return { socket, session };
    };

    it('queues, holds, pushes positions and restores them on reconnect', async () => {
      await service(gw.url, SERVICE_TOKEN).defineEvent('one', { seats: ['A', 'B', 'C'] });
      const first = await open('first');
      const me = await open('me');
      expect(await request(first.socket, 'queue:join', { eventId: 'one' })).toEqual({
        ok: true,
        data: { eventId: 'one', position: 1, size: 1 },
      });
      expect(await request(me.socket, 'queue:join', { eventId: 'one', requestId: 'j' })).toEqual({
        ok: true,
        data: { eventId: 'one', position: 2, size: 2 },
      });
      const hold = await request<Ack<SeatHold>>(me.socket, 'seat:hold', { eventId: 'one', seatIds: ['B'] });
      if (!hold.ok) throw new Error(hold.error.code);
      const moved = nextEvent<QueuePlace>(me.socket, 'queue:position');
      await request(first.socket, 'queue:leave', { eventId: 'one' });
      expect(await moved).toEqual({ eventId: 'one', position: 1, size: 1 });
      me.socket.close();
      const back = await open('me');
      expect(back.session).toMatchObject({
        recovered: true,
        queues: [{ eventId: 'one', position: 1, size: 1 }],
        holds: [hold.data],
      });
    });

    it('ends the holds and the queue place of a user whose session ended', async () => {
      await service(gw.url, SERVICE_TOKEN).defineEvent('ttl', { seats: ['T1'] });
      const watcher = await new SeatWatcher((await open('ttl-watcher')).socket, 'ttl').read();
      const leaver = await open('ttl-leaver');
      await request(leaver.socket, 'queue:join', { eventId: 'ttl' });
      await request(leaver.socket, 'seat:hold', { eventId: 'ttl', seatIds: ['T1'] });
      await waitFor(() => watcher.map.seats['T1'] === 'held', 5000, 'seat:update T1 held');
      const heldAt = watcher.map.version;
      leaver.socket.close();
      // Session TTL 2 s, checks every 1 s, sweeps every 100 ms: freed within about 3.5 s of leaving.
      await waitFor(() => watcher.map.seats['T1'] === 'free', 8000, 'seat:update T1 free');
      expect(watcher.map.version).toBeGreaterThan(heldAt);
      expect(watcher.gaps).toBe(0);
      const back = await open('ttl-leaver');
      expect(back.session).toMatchObject({ recovered: false, queues: [], holds: [] });
    });

    it('tells the owner when a hold expires', async () => {
      await service(gw.url, SERVICE_TOKEN).defineEvent('exp', { seats: ['E1'], holdSeconds: 1 });
      const owner = await open('exp-owner');
      await request(owner.socket, 'seat:hold', { eventId: 'exp', seatIds: ['E1'] });
      expect(await nextEvent<SeatExpiredPayload>(owner.socket, 'seat:expired', 5000)).toEqual({
        eventId: 'exp',
        seatIds: ['E1'],
      });
      const map = await request<Ack<SeatMapResult>>(owner.socket, 'seat:map', { eventId: 'exp' });
      expect(map.ok && map.data.seats).toEqual({ E1: 'free' });
    });

    it('counts queue and seat operations in /metrics with bounded labels', async () => {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      expect(text).toMatch(/stayline_claim_operations_total\{[^}]*operation="hold",result="ok"[^}]*\} [1-9]/);
      expect(text).toMatch(/stayline_claim_operations_total\{[^}]*operation="join",result="ok"[^}]*\} [1-9]/);
      expect(text).toMatch(
        /stayline_claim_operations_total\{[^}]*operation="lapse",result="ok"[^}]*\} [1-9]/,
      );
      expect(text).toMatch(/stayline_queue_position_pushes_total\{[^}]*\} [1-9]/);
      expect(text).toContain('stayline_claim_sweep_duration_seconds_bucket');
      expect(text).not.toMatch(/operation="[^"]*(exp-owner|ttl-leaver)/);
    });
  });
}

describe('queue and seats while Redis is down', () => {
  let redis: RedisProcess;
  let gw: RunningGateway;
  let env: Record<string, string | undefined>;
  let socket: Socket;
  beforeAll(async () => {
    redis = await startRedis();
    env = baseEnv({ SERVICE_TOKEN, REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' });
    gw = await startGateway(env);
    await service(gw.url, SERVICE_TOKEN).defineEvent('down', { seats: ['X1', 'X2'] });
    socket = connect(gw.url, tokenFor(env, 'outage-user'));
    await nextEvent(socket, 'session:restored');
  });
  afterAll(async () => {
    socket.close();
    redis.resume();
    await gw.stop();
    await redis.stop();
  });

  it('answers STORE_UNAVAILABLE (never a wrong answer) and acts once Redis is back', async () => {
    redis.pause();
    try {
      const acks = await Promise.all([
        request<Ack<unknown>>(socket, 'seat:hold', { eventId: 'down', seatIds: ['X1'], requestId: 'o-1' }),
        request<Ack<unknown>>(socket, 'queue:join', { eventId: 'down' }),
        request<Ack<unknown>>(socket, 'seat:map', { eventId: 'down' }),
        // Another seat: a STORE_UNAVAILABLE answer does not prove nothing happened (the paused Redis runs
        // the queued commands when it wakes), so a release of X1 sent now might free it after the hold.
        request<Ack<unknown>>(socket, 'seat:release', { eventId: 'down', seatIds: ['X2'] }),
      ]);
      expect(acks.map((a) => (a.ok ? 'ok' : a.error.code))).toEqual(Array(4).fill('STORE_UNAVAILABLE'));
      const confirm = await service(gw.url, SERVICE_TOKEN).confirm('down', {
        userId: 'u',
        seatIds: ['X1'],
        fence: 1,
      });
      expect(confirm.status).toBe(503);
    } finally {
      redis.resume();
    }
    const hold = await waitFor(
      async () => {
        const ack = await request<Ack<SeatHold>>(socket, 'seat:hold', {
          eventId: 'down',
          seatIds: ['X1'],
          requestId: 'o-1',
        });
        return ack.ok ? ack : undefined;
      },
      10_000,
      'hold after recovery',
    );
    expect(hold.data.seatIds).toEqual(['X1']);
    const map = await request<Ack<SeatMapResult>>(socket, 'seat:map', { eventId: 'down' });
    expect(map.ok && map.data.seats).toEqual({ X1: 'held', X2: 'free' });
  });
});
