/**
 * Polling fallback through the shipped HAProxy config: three gateway nodes behind HAProxy
 * (dev/haproxy.ts renders deploy/haproxy/haproxy.cfg.template, cookie stickiness and all), and
 * in front of it a proxy that refuses every websocket upgrade, as some corporate proxies do. The SDK with
 * its default `['websocket']` cannot connect there; with `transports: ['websocket', 'polling']` it falls
 * back to long-polling, and every poll of a session reaches its node (the AWSALB cookie), through many
 * calls, several clients spread over the nodes, and a SIGKILL of a client's node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findHaproxy } from '../../../dev/haproxy.ts';
import { startLocalCluster, type LocalCluster } from '../../../dev/local-cluster.ts';
import { waitFor } from '../../../gateway/test/support/wait.ts';
import { createClient, type StaylineClient } from '../../src/index.ts';
import { recordStatuses, untilStatus } from '../support/client-wait.ts';
import { startNoWebsocketProxy, type NoWebsocketProxy } from '../support/no-websocket-proxy.ts';

const haproxy = findHaproxy();
if (haproxy === undefined) {
  console.warn('SKIPPED client-sdk/test/integration/polling-fallback.test.ts: haproxy is not installed');
}

describe.skipIf(haproxy === undefined)('polling fallback through the shipped HAProxy', () => {
  let cluster: LocalCluster;
  let proxy: NoWebsocketProxy;
  const clients: StaylineClient[] = [];

  beforeAll(async () => {
    cluster = await startLocalCluster({
      nodes: 3,
      haproxy: true,
      env: { NODE_ENV: 'test', NODE_HEARTBEAT_SECONDS: '1', NODE_DEAD_AFTER_SECONDS: '3' },
    });
    proxy = await startNoWebsocketProxy(cluster.url);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await proxy?.close();
    await cluster?.stop();
  });

  const open = (sub: string, transports?: ('websocket' | 'polling')[]): StaylineClient => {
    const client = createClient({
      url: proxy.url,
      getToken: () => cluster.token(sub),
      backoff: { baseMs: 100, capMs: 500 },
      ...(transports === undefined ? {} : { transports }),
    });
    clients.push(client);
    return client;
  };
  /** stayline_connections of each node, read from the node itself. */
  const connectionsPerNode = async (): Promise<number[]> =>
    Promise.all(
      cluster.nodes.map(async (n) => {
        const text = await (await fetch(`${n.url}/metrics`)).text();
        return Number(/^stayline_connections\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? NaN);
      }),
    );

  it('does not connect with the default websocket-only transport when websockets are blocked', async () => {
    const client = open('ws-only');
    await waitFor(() => client.state.attempt >= 2, 15_000, 'two failed attempts');
    expect(client.state).toMatchObject({ status: 'connecting', lastError: 'CLIENT_NETWORK' });
    expect(proxy.counts.upgradesRefused).toBeGreaterThanOrEqual(2);
    client.close();
  });

  it("falls back to long-polling with transports ['websocket', 'polling'], each session pinned to its node", async () => {
    const refusedBefore = proxy.counts.upgradesRefused;
    const pollers = Array.from({ length: 6 }, (_, i) => open(`poller-${i}`, ['websocket', 'polling']));
    await Promise.all(pollers.map((c) => untilStatus(c, 'connected', 20_000)));
    // The websocket was tried and refused first, then polling carried the session.
    expect(proxy.counts.upgradesRefused).toBeGreaterThan(refusedBefore);
    expect(proxy.counts.pollingRequests).toBeGreaterThan(0);
    // Many round trips, each a POST and a long-poll GET: any poll landing on another node would end the
    // session with "Session ID unknown" and the calls would fail or be sent again after a reconnect.
    const statuses = pollers.map(recordStatuses);
    await Promise.all(
      pollers.map(async (c, i) => {
        for (let k = 0; k < 12; k++) {
          const result = await (k % 2 === 0
            ? c.joinRoom(`poll-${i}-${k}`)
            : c.leaveRoom(`poll-${i}-${k - 1}`));
          expect(result.rooms).toEqual(k % 2 === 0 ? [`poll-${i}-${k}`] : []);
        }
      }),
    );
    // Never dropped meanwhile: each client stayed "connected" from start to end.
    expect(statuses).toEqual(pollers.map(() => ['connected']));
    const perNode = await connectionsPerNode();
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(6);
    expect(perNode.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    for (const c of pollers) c.close();
  });

  it('comes back over polling on another node after a SIGKILL, with its rooms restored', async () => {
    const client = open('survivor', ['websocket', 'polling']);
    await untilStatus(client, 'connected', 20_000);
    await client.joinRoom('kept');
    const before = await connectionsPerNode();
    const victim = cluster.nodes[before.findIndex((n) => n > 0)];
    if (victim === undefined) throw new Error('no node holds the client');
    const restored = new Promise<boolean>((resolve) => {
      const off = client.onSessionChange((change) => {
        if (change.cause !== 'session:restored' || change.previous === undefined) return;
        off();
        resolve(change.session.recovered && change.session.rooms.includes('kept'));
      });
    });
    await victim.kill('SIGKILL');
    await untilStatus(client, 'reconnecting', 15_000);
    await untilStatus(client, 'connected', 30_000);
    expect(await restored).toBe(true);
    expect((await client.joinRoom('after')).rooms.sort()).toEqual(['after', 'kept']);
  });
});
