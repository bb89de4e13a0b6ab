/**
 * /readyz's `scripts` check against real redis-server: a flushed script cache is not a failure (the check
 * loads the scripts again, so requests after it meet no NOSCRIPT), and a server that answers PING and ROLE
 * but refuses scripting (an ACL without @scripting) is NotReady, named `not-loadable`, although every
 * other check passes; a script the server cannot compile is named too.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../src/infra/redis.ts';
import { NotReadyError } from '../../src/infra/redis-role.ts';
import { SCRIPT_SOURCES } from '../../src/session/redis/scripts.ts';
import { assertScriptsLoadable } from '../../src/session/redis/scripts-loadable.ts';
import { baseEnv, startGateway, type RunningGateway } from '../support/gateway.ts';
import { freePort, startRedis, type RedisProcess } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';
import { spawnServer, terminate, waitForPong } from '../../../dev/redis.ts';

interface Probe {
  status: number;
  checks: Record<string, string>;
}
const probe = async (url: string): Promise<Probe> => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks };
};
const shas = Object.values(SCRIPT_SOURCES).map((s) => createHash('sha1').update(s).digest('hex'));

describe('/readyz scripts check', () => {
  let redis: RedisProcess;
  let direct: Redis;
  const gateways: RunningGateway[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    direct = new Redis(redis.url);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    direct.disconnect();
    await redis.stop();
  });

  it('stays ready after SCRIPT FLUSH, having loaded every script again', async () => {
    const gateway = await startGateway(baseEnv({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' }));
    gateways.push(gateway);
    const first = await waitFor(async () => {
      const p = await probe(gateway.url);
      return p.status === 200 ? p : undefined;
    }, 10_000);
    expect(first.checks).toMatchObject({ store: 'ok', claims: 'ok', ledger: 'ok', scripts: 'ok' });
    expect(await direct.call('SCRIPT', 'EXISTS', ...shas)).toEqual(shas.map(() => 1));

    expect(await direct.call('SCRIPT', 'FLUSH')).toBe('OK');
    expect(await direct.call('SCRIPT', 'EXISTS', ...shas)).toEqual(shas.map(() => 0));
    // Probes (the check runs at most once a second): each still 200, and once past the cache the check has
    // loaded every script again.
    await waitFor(
      async () => {
        expect(await probe(gateway.url)).toMatchObject({ status: 200, checks: { scripts: 'ok' } });
        return ((await direct.call('SCRIPT', 'EXISTS', ...shas)) as number[]).every((f) => f === 1);
      },
      5_000,
      'the scripts loaded again by the check',
    );
  });

  it('names a script the server cannot compile', async () => {
    const client = createRedisClient(redis.url, {
      commandTimeoutMs: 1000,
      logger: pino({ level: 'silent' }),
      name: 'scripts-test',
    });
    try {
      await waitFor(async () => (await client.ping()) === 'PONG', 5_000);
      await assertScriptsLoadable(client, { fine: 'return 1' });
      const err = await assertScriptsLoadable(client, { fine: 'return 1', broken: 'return (' }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NotReadyError);
      expect((err as NotReadyError).state).toBe('not-loadable');
      expect((err as NotReadyError).message).toMatch(/SCRIPT LOAD of broken refused: ERR/);
    } finally {
      client.disconnect();
    }
  });

  it('is 503 naming scripts as not-loadable when an ACL denies scripting, every other check ok', async () => {
    const port = await freePort();
    // The default user may do everything but run scripts: PING, ROLE and SUBSCRIBE work, every hold fails.
    const server = spawnServer(port, [
      '--user',
      'default',
      'on',
      'nopass',
      '~*',
      '&*',
      '+@all',
      '-@scripting',
    ]);
    try {
      await waitForPong(port, server.child, server.output);
      const gateway = await startGateway(
        baseEnv({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: '500' }),
      );
      gateways.push(gateway);
      const p = await waitFor(
        async () => {
          const answer = await probe(gateway.url);
          return answer.checks['scripts'] === 'not-loadable' && answer.checks['store'] === 'ok'
            ? answer
            : undefined;
        },
        10_000,
        'scripts named not-loadable',
      );
      expect(p).toEqual({
        status: 503,
        checks: {
          draining: 'ok',
          store: 'ok',
          claims: 'ok',
          ledger: 'ok',
          history: 'ok',
          scripts: 'not-loadable',
          pubsub: 'ok',
        },
      });
      await gateway.stop();
    } finally {
      await terminate(server.child, 'SIGKILL');
    }
  });
});
