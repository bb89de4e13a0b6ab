import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emitter } from '@socket.io/redis-emitter';
import { Redis } from 'ioredis';
import type { RestoredSession } from '@stayline/client-sdk/protocol';
import { baseEnv, connect, startGateway, tokenFor, type RunningGateway } from '../support/gateway.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { nextEvent, request } from '../support/wait.ts';

// The documented way for a backend to publish without HTTP: @socket.io/redis-emitter on the adapter's key
// (`${REDIS_KEY_PREFIX}io`), addressing client rooms as `r:<room>` and users as `u:<userId>`.
describe('publishing with @socket.io/redis-emitter', () => {
  let redis: RedisProcess;
  let gw: RunningGateway;
  let env: Record<string, string | undefined>;
  let emitterClient: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    env = baseEnv({ REDIS_URL: redis.url });
    gw = await startGateway(env);
    emitterClient = new Redis(redis.url);
  });
  afterAll(async () => {
    emitterClient.disconnect();
    await gw.stop();
    await redis.stop();
  });

  it('reaches the members of a room and one user’s sockets', async () => {
    const socket = connect(gw.url, tokenFor(env, 'emitter-user'));
    await nextEvent<RestoredSession>(socket, 'session:restored');
    await request(socket, 'room:join', { room: 'scores' });
    const emitter = new Emitter(emitterClient, { key: 'stayline:io' });

    const toRoom = nextEvent(socket, 'score');
    emitter.to('r:scores').emit('score', { home: 2, away: 1 });
    expect(await toRoom).toEqual({ home: 2, away: 1 });

    const toUser = nextEvent(socket, 'notice');
    emitter.to('u:emitter-user').emit('notice', 'hello');
    expect(await toUser).toBe('hello');
    socket.close();
  });
});
