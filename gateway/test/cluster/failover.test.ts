import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Socket } from 'socket.io-client';
import type { Ack, RestoredSession, RoomResult } from '@stayline/client-sdk/protocol';
import { loadConfig } from '../../src/config/index.ts';
import { createSessionStore, type SessionStore } from '../../src/session/index.ts';
import { connect, retriesRefusals, tokenFor, type ConnectError } from '../support/gateway.ts';
import { startCluster, type TestCluster } from '../support/cluster.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

// SIGKILL healing on one redis-server and on a Redis Cluster; the outage test stops the single server.
describe.each(['single', 'cluster'] as const)('node death and Redis outages (Redis %s)', (redisKind) => {
  let cluster: TestCluster;
  let store: SessionStore;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, redis: redisKind });
    // The test reads sessions straight from Redis, through the same store code the nodes use.
    store = createSessionStore(loadConfig(cluster.env).store, { logger: pino({ level: 'silent' }) });
    await waitFor(() => store.ping().then(() => true), 5_000, 'the test store to connect');
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await store.close();
    await cluster.stop();
  });
  const singleRedis = () => {
    if (!cluster.redis) throw new Error('this test needs a single redis-server');
    return cluster.redis;
  };
  const node = (i: number) => {
    const n = cluster.nodes[i];
    if (!n) throw new Error(`no node ${i}`);
    return n;
  };
  const open = async (url: string, sub: string): Promise<{ socket: Socket; session: RestoredSession }> => {
    const socket = connect(url, tokenFor(cluster.env, sub));
    sockets.push(socket);
    const session = await nextEvent<RestoredSession>(socket, 'session:restored');
    return { socket, session };
  };

  it('restores the clients of a SIGKILLed node on the survivors and purges the dead node’s entries', async () => {
    const victim = node(0);
    const users = Array.from({ length: 12 }, (_, i) => `killed-${i}`);
    const clients = await Promise.all(users.map((u) => open(victim.url, u)));
    await Promise.all(
      clients.map(({ socket }, i) =>
        request<Ack<RoomResult>>(socket, 'room:join', { room: `team-${i % 3}` }),
      ),
    );
    const before = await store.getSession('killed-0');
    expect(Object.values(before?.sockets ?? {})).toEqual(['node-1']);

    const drops = clients.map(({ socket }) => nextEvent(socket, 'disconnect', 10_000));
    await victim.kill('SIGKILL');
    await Promise.all(drops);

    const restored = await Promise.all(users.map((u, i) => open(node(1 + (i % 2)).url, u)));
    restored.forEach(({ session }, i) =>
      expect(session).toMatchObject({ recovered: true, rooms: [`team-${i % 3}`] }),
    );

    // Heartbeat 1 s, dead after 3 s: the survivors purge the dead node's entries within about 4 s.
    const purgedAt = Date.now();
    await waitFor(
      async () => {
        const views = await Promise.all(users.map((u) => store.getSession(u)));
        return views.every((v) => v !== null && !Object.values(v.sockets).includes('node-1'));
      },
      10_000,
      'the dead node’s socket entries to be purged',
    );
    expect(Date.now() - purgedAt).toBeLessThan(8_000);
    const after = await store.getSession('killed-0');
    expect(Object.values(after?.sockets ?? {})).toHaveLength(1);
    expect(after?.rooms).toEqual(['team-0']);
  });

  it.runIf(redisKind === 'single')(
    'answers STORE_UNAVAILABLE fast while Redis is down, turns /readyz 503, and recovers by itself',
    async () => {
      const live = await open(node(1).url, 'outage-user');
      await request<Ack<RoomResult>>(live.socket, 'room:join', { room: 'before' });
      await singleRedis().kill();

      const started = Date.now();
      const ack = await request<Ack<RoomResult>>(live.socket, 'room:join', { room: 'during' });
      expect(ack).toMatchObject({ ok: false, error: { code: 'STORE_UNAVAILABLE', retryable: true } });
      expect(Date.now() - started).toBeLessThan(500 + 1_000);

      const newcomerToken = tokenFor(cluster.env, 'outage-newcomer');
      const refused = connect(node(2).url, newcomerToken, retriesRefusals(newcomerToken));
      sockets.push(refused);
      const error = await nextEvent<ConnectError>(refused, 'connect_error');
      expect(error.data).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });

      await waitFor(
        async () => (await fetch(`${node(1).url}/readyz`)).status === 503,
        5_000,
        '/readyz to turn 503',
      );
      // A volatile broadcast during the outage must not crash the node (the adapter's publish fails
      // unhandled); one with history is refused, since it cannot be stored: nothing is published.
      expect(
        (await cluster.publish(node(1), { room: 'before', event: 'ping', data: 1, volatile: true })).status,
      ).toBe(202);
      const stored = await cluster.publish(node(1), { room: 'before', event: 'ping', data: 2 });
      expect(stored.status).toBe(503);
      expect(await stored.json()).toMatchObject({
        ok: false,
        error: { code: 'STORE_UNAVAILABLE', retryable: true },
      });
      expect((await fetch(`${node(1).url}/healthz`)).status).toBe(200);

      await singleRedis().restart();
      // Every node reconnects by itself; the newcomer below goes to node 2, so wait for both.
      for (const n of [node(1), node(2)]) {
        await waitFor(
          async () => (await fetch(`${n.url}/readyz`)).status === 200,
          10_000,
          '/readyz to recover',
        );
      }
      await waitFor(
        async () => (await request<Ack<RoomResult>>(live.socket, 'room:join', { room: 'after' })).ok,
        10_000,
        'joins to work again',
      );
      const newcomer = await open(node(2).url, 'outage-newcomer');
      expect(newcomer.session.recovered).toBe(false);
      for (const n of [node(1), node(2)]) expect(n.child.exitCode).toBeNull();
    },
  );
});
