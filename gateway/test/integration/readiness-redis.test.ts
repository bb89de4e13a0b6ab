/**
 * /readyz tells the truth about Redis: a gateway pointed (by mistake) at a read-only replica or at a
 * Sentinel with REDIS_URL answers PING there but cannot write, so it must be NotReady, name the failing
 * checks, and log why once (not on every probe). On the primary, and without Redis at all, it is ready.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { buildGateway, type Gateway } from '../../src/gateway.ts';
import { baseEnv } from '../support/gateway.ts';
import { startSentinelTopology, type SentinelTopology } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

interface Probe {
  status: number;
  body: { ready: boolean; nodeId: string; checks: Record<string, string> };
}

/** A gateway built in this process with a logger whose JSON lines the test reads. */
async function startLogged(
  env: Record<string, string | undefined>,
): Promise<{ gateway: Gateway; url: string; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const gateway = buildGateway(loadConfig(baseEnv({ ...env, REDIS_COMMAND_TIMEOUT_MS: '500' })), {
    logger: pino({ level: 'info' }, sink),
  });
  const { port } = await gateway.listen();
  return { gateway, url: `http://127.0.0.1:${port}`, lines };
}

const probe = async (url: string): Promise<Probe> => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Probe['body'] };
};

describe('/readyz against the wrong Redis', () => {
  let topology: SentinelTopology;
  const gateways: Gateway[] = [];
  beforeAll(async () => {
    topology = await startSentinelTopology();
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await topology.stop();
  });
  const start = async (env: Record<string, string | undefined>) => {
    const started = await startLogged(env);
    gateways.push(started.gateway);
    return started;
  };
  const notReadyLines = (lines: Record<string, unknown>[], check: string) =>
    lines.filter((l) => l['check'] === check && l['level'] === 40);

  it('is 503 naming store, claims and ledger as replica on a read-only replica, and says why once', async () => {
    const { url, lines } = await start({ REDIS_URL: topology.replica.url });
    const first = await waitFor(
      async () => {
        const p = await probe(url);
        // The first writes (heartbeat, sweep) meet READONLY and their client reconnects, as it would to
        // follow a failover: a probe in that gap, before any ROLE answer, says `unavailable`.
        const named = ['store', 'claims', 'ledger'].every((c) => p.body.checks[c] === 'replica');
        return named && p.body.checks['pubsub'] === 'ok' ? p : undefined;
      },
      10_000,
      'the checks to name the replica',
    );
    expect(first.status).toBe(503);
    expect(first.body).toMatchObject({
      ready: false,
      checks: { draining: 'ok', store: 'replica', claims: 'replica', ledger: 'replica', pubsub: 'ok' },
    });
    // More probes (past the 1 s cache): still 503, and the reason is not logged again.
    const firstAt = Date.now();
    let probes = 0;
    await waitFor(
      async () => {
        probes++;
        expect((await probe(url)).status).toBe(503);
        return Date.now() - firstAt > 1_100;
      },
      5_000,
      'probes past the readiness cache',
    );
    expect(probes).toBeGreaterThan(1);
    for (const check of ['store', 'claims', 'ledger']) {
      // Once per reason: `replica`, and maybe `unavailable` from a probe before the first ROLE answer.
      const said = notReadyLines(lines, check);
      expect(said.filter((l) => l['state'] === 'replica')).toEqual([
        expect.objectContaining({ reason: expect.stringContaining('read-only replica') }),
      ]);
      expect(said.filter((l) => l['state'] !== 'replica').map((l) => l['state'])).toEqual(
        said.length === 2 ? ['unavailable'] : [],
      );
    }
  });

  it('is 503 naming the stores as sentinel when REDIS_URL is a Sentinel address', async () => {
    const { url, lines } = await start({ REDIS_URL: `redis://${topology.sentinels[0] ?? ''}` });
    const p = await waitFor(
      async () => {
        const answer = await probe(url);
        return answer.body.checks['store'] === 'sentinel' ? answer : undefined;
      },
      10_000,
      'the store check to name the Sentinel',
    );
    expect(p.status).toBe(503);
    expect(p.body.checks).toMatchObject({ store: 'sentinel', claims: 'sentinel', ledger: 'sentinel' });
    expect(notReadyLines(lines, 'store')[0]).toMatchObject({
      reason: expect.stringContaining('REDIS_SENTINELS'),
    });
  });

  it('is 200 with every check ok on the primary, by REDIS_URL or through the sentinels', async () => {
    for (const env of [
      { REDIS_URL: topology.primary.url },
      { REDIS_SENTINELS: topology.sentinels.join(','), REDIS_SENTINEL_NAME: topology.name },
    ]) {
      const { url, lines } = await start(env);
      const p = await waitFor(
        async () => {
          const answer = await probe(url);
          return answer.status === 200 ? answer : undefined;
        },
        10_000,
        '/readyz 200',
      );
      expect(p.body).toMatchObject({
        ready: true,
        checks: { draining: 'ok', store: 'ok', claims: 'ok', ledger: 'ok', pubsub: 'ok' },
      });
      expect(lines.filter((l) => l['module'] === 'readiness')).toEqual([]);
    }
  });

  it('stays ready on the memory store (no Redis), with only the checks it has', async () => {
    const { url } = await start({});
    const p = await probe(url);
    expect(p).toEqual({
      status: 200,
      body: expect.objectContaining({
        ready: true,
        checks: { draining: 'ok', store: 'ok', claims: 'ok' },
      }) as unknown,
    });
  });
});
