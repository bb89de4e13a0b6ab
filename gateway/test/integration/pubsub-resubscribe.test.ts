/**
 * A node whose adapter subscriber loses its Redis connection (`CLIENT KILL TYPE pubsub`) subscribes again by
 * itself, and says so: `stayline_pubsub_resubscribes_total` counts the comeback, and the outage is two log
 * lines (lost, connected again) plus the resubscribe line, not one line per reconnect attempt.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, startGatewayProcess, type GatewayProcess } from '../support/gateway.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

describe('the adapter subscriber after a pub/sub cut', () => {
  let redis: RedisProcess;
  let gw: GatewayProcess;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGatewayProcess(baseEnv({ REDIS_URL: redis.url, LOG_LEVEL: 'info' }));
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await gw.kill('SIGKILL');
    await redis.stop();
  });

  const resubscribes = async (): Promise<number> => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('stayline_pubsub_resubscribes_total'));
    return Number(line?.split(' ').at(-1) ?? NaN);
  };
  const subscribers = async (): Promise<number> =>
    Number(await admin.pubsub('NUMPAT')) + (await admin.pubsub('CHANNELS')).length;

  it('counts and logs each comeback of the subscriber, once', async () => {
    await waitFor(
      async () => ((await subscribers()) > 0 ? true : undefined),
      10_000,
      'the first subscription',
    );
    expect(await resubscribes()).toBe(0);
    for (let round = 1; round <= 2; round++) {
      expect(Number(await admin.client('KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
      await waitFor(
        async () => ((await resubscribes()) === round ? true : undefined),
        10_000,
        `comeback ${round}`,
      );
      await waitFor(async () => ((await subscribers()) > 0 ? true : undefined), 10_000, 'subscribed again');
    }
    const lines = gw
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      lines.filter((l) => l['msg'] === 'adapter subscriber reconnected and subscribed again'),
    ).toHaveLength(2);
    expect(
      lines.filter((l) => l['msg'] === 'adapter subscriber lost its Redis connection').length,
    ).toBeLessThanOrEqual(2);
  });
});
