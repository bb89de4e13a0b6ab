/**
 * A store outage is logged as two lines (when it starts, when it ends with the count of failed calls), not
 * one warning with a stack per failed request or background round.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Ack, RestoredSession } from '@stayline/client-sdk/protocol';
import { baseEnv, connect, startGatewayProcess, tokenFor, type GatewayProcess } from '../support/gateway.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const REQUESTS_DURING_OUTAGE = 20;

describe('logs during a store outage', () => {
  let redis: RedisProcess;
  let gw: GatewayProcess;
  let socket: Socket;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    redis = await startRedis();
    env = baseEnv({ REDIS_URL: redis.url, LOG_LEVEL: 'info', REDIS_COMMAND_TIMEOUT_MS: '300' });
    gw = await startGatewayProcess(env);
    socket = connect(gw.url, tokenFor(env, 'outage-user'));
    await nextEvent<RestoredSession>(socket, 'session:restored');
  });
  afterAll(async () => {
    socket.close();
    redis.resume();
    await gw.kill('SIGKILL');
    await redis.stop();
  });

  const logLines = (): Record<string, unknown>[] =>
    gw
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('logs the outage once when it starts and once when it ends, with the failed calls counted', async () => {
    redis.pause();
    try {
      const acks = await Promise.all(
        Array.from({ length: REQUESTS_DURING_OUTAGE }, (_, i) =>
          request<Ack<unknown>>(socket, 'room:join', { room: `r${i}`, requestId: `o-${i}` }),
        ),
      );
      expect(acks.map((a) => (a.ok ? 'ok' : a.error.code))).toEqual(
        Array(REQUESTS_DURING_OUTAGE).fill('STORE_UNAVAILABLE'),
      );
    } finally {
      redis.resume();
    }
    // Back: a request succeeds, and the end of the outage is logged.
    await waitFor(
      async () => {
        const ack = await request<Ack<unknown>>(socket, 'room:join', { room: 'after' });
        return ack.ok ? ack : undefined;
      },
      10_000,
      'a request after the outage',
    );
    const isEnd = (l: Record<string, unknown>) => l['msg'] === 'store available again';
    const ours = (l: Record<string, unknown>) =>
      isEnd(l) && Number(l['failedCalls']) >= REQUESTS_DURING_OUTAGE;
    await waitFor(() => Promise.resolve(logLines().some(ours) || undefined), 5_000, 'the end-of-outage line');
    // The whole log from the start: the connections coming up are not an outage, so this test's is the only
    // one, as two lines.
    const lines = logLines();
    const outageLines = lines.filter((l) => String(l['msg']).startsWith('store unavailable') || isEnd(l));
    const shapes = outageLines.map((l) => (isEnd(l) ? 'end' : 'start'));
    expect(shapes, JSON.stringify(outageLines)).toEqual(['start', 'end']);
    expect(outageLines.filter(ours)).toHaveLength(1);
    // Nothing else at warn or above, and no stack anywhere: the requests were counted, not logged.
    const loud = lines.filter((l) => Number(l['level']) >= 40);
    expect(loud, JSON.stringify(loud)).toEqual(outageLines.filter((l) => !isEnd(l)));
    expect(lines.filter((l) => JSON.stringify(l).includes('"stack"'))).toEqual([]);
  });
});
