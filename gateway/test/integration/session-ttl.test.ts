import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Ack, RestoredSession, RoomResult } from '@stayline/client-sdk/protocol';
import { baseEnv, connect, startGateway, tokenFor, type RunningGateway } from '../support/gateway.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

// The same end-to-end TTL behaviour from the embedded store and from Redis.
describe.each(['memory', 'redis'] as const)('session TTL through a gateway (%s store)', (kind) => {
  let redis: RedisProcess | undefined;
  let gw: RunningGateway;
  let env: Record<string, string | undefined>;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    redis = kind === 'redis' ? await startRedis() : undefined;
    env = baseEnv({ SESSION_TTL_SECONDS: '2', ...(redis ? { REDIS_URL: redis.url } : {}) });
    gw = await startGateway(env);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await gw.stop();
    await redis?.stop();
  });
  const open = async (sub: string): Promise<{ socket: Socket; session: RestoredSession }> => {
    const socket = connect(gw.url, tokenFor(env, sub));
    sockets.push(socket);
    return { socket, session: await nextEvent<RestoredSession>(socket, 'session:restored') };
  };

  it('starts fresh after a reconnect later than the TTL, with nothing stale', async () => {
    const first = await open('ttl-gone');
    await request<Ack<RoomResult>>(first.socket, 'room:join', { room: 'old-room' });
    first.socket.close();
    await waitFor(() => Date.now() > first.session.expiresAt + 1_000, 6_000, 'the TTL to pass');
    const second = await open('ttl-gone');
    expect(second.session).toMatchObject({ recovered: false, rooms: [] });
    const metrics = await fetch(`${gw.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/stayline_sessions_expired_total\{[^}]*\} 1\b/);
  });

  it('keeps the session of a user connected for longer than the TTL (the TTL slides while present)', async () => {
    const first = await open('ttl-present');
    await request<Ack<RoomResult>>(first.socket, 'room:join', { room: 'kept' });
    const connectedAt = Date.now();
    await waitFor(() => Date.now() > connectedAt + 4_500, 6_000, 'twice the TTL to pass');
    first.socket.close();
    const second = await open('ttl-present');
    expect(second.session).toMatchObject({ recovered: true, rooms: ['kept'] });
    expect(second.session.expiresAt).toBeGreaterThan(Date.now());
  });
});
