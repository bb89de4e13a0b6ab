/**
 * Three gateway nodes behind a real HAProxy (dev/local-cluster.ts, the `npm run cluster` path) with
 * ALB-like cookie stickiness: long-polling stays on the node that holds the session, the websocket
 * upgrade works through the proxy, a client whose node dies lands on another node with its session, and
 * the polling sessions of a draining node keep reaching it (`option persist`) until the drain closes them.
 * The tests share one cluster and run in order: the last two take nodes away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Socket } from 'socket.io-client';
import type { Ack, RestoredSession, RoomResult } from '@stayline/client-sdk/protocol';
import { findHaproxy } from '../../../dev/haproxy.ts';
import { startLocalCluster, type LocalCluster } from '../../../dev/local-cluster.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createSessionStore, type SessionStore } from '../../src/session/index.ts';
import { connect, type ClientOptions } from '../support/gateway.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const haproxy = findHaproxy();
if (haproxy === undefined) {
  // npm test installs haproxy (scripts/test.mjs NEEDS); a bare `vitest run` on a machine without it skips.
  console.warn(
    'SKIPPED gateway/test/cluster/haproxy.test.ts: haproxy is not installed (apt-get install haproxy)',
  );
}

/** Everything that can go wrong with a socket, recorded instead of thrown, so a test can assert none did. */
interface Watched {
  socket: Socket;
  sub: string;
  problems: string[];
  restored: RestoredSession[];
  /** Event names in arrival order (server:draining, disconnect), to check what came first. */
  timeline: string[];
}

describe.skipIf(haproxy === undefined)('a cluster behind HAProxy with cookie stickiness', () => {
  let cluster: LocalCluster;
  let store: SessionStore;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    cluster = await startLocalCluster({
      nodes: 3,
      haproxy: true,
      env: {
        NODE_ENV: 'test',
        NODE_HEARTBEAT_SECONDS: '1',
        NODE_DEAD_AFTER_SECONDS: '3',
        EVENTS_PER_SECOND: '5000',
        EVENTS_BURST: '5000',
        // Long enough that HAProxy's health check (1 s x 2) marks a draining node down mid-drain.
        DRAIN_SECONDS: '4',
      },
    });
    store = createSessionStore(loadConfig(cluster.env).store, { logger: pino({ level: 'silent' }) });
    await waitFor(() => store.ping().then(() => true), 5_000, 'the test store to connect');
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await store?.close();
    await cluster?.stop();
  });

  /** Connects through HAProxy; `withCredentials` gives the Node client a cookie jar, as a browser has. */
  const open = (sub: string, options: ClientOptions): Watched => {
    const socket = connect(cluster.url, cluster.token(sub), { withCredentials: true, ...options });
    sockets.push(socket);
    const watched: Watched = { socket, sub, problems: [], restored: [], timeline: [] };
    socket.on('server:draining', () => watched.timeline.push('server:draining'));
    socket.on('disconnect', (reason) => watched.timeline.push(`disconnect: ${reason}`));
    socket.on('connect_error', (err) => watched.problems.push(`connect_error: ${err.message}`));
    socket.on('disconnect', (reason, details) =>
      watched.problems.push(`disconnect: ${reason} ${JSON.stringify(details ?? '')}`),
    );
    socket.on('session:restored', (s) => watched.restored.push(s));
    return watched;
  };
  const restoredOnce = (w: Watched): Promise<unknown> =>
    waitFor(() => w.restored.length >= 1, 10_000, `${w.sub} to get session:restored`);

  /** stayline_connections of each node, read from the node itself (not through HAProxy). */
  const connectionsPerNode = async (): Promise<Record<string, number>> => {
    const entries = await Promise.all(
      cluster.nodes.map(async (n) => {
        const text = await (await fetch(`${n.url}/metrics`)).text();
        const match = /^stayline_connections\{[^}]*\} (\d+)$/m.exec(text);
        return [n.id, Number(match?.[1] ?? NaN)] as const;
      }),
    );
    return Object.fromEntries(entries);
  };
  /** The node that holds `socket`, from the session in Redis. */
  const nodeOf = async (w: Watched): Promise<string | undefined> => {
    const id = w.socket.id;
    const session = await store.getSession(w.sub);
    return id === undefined ? undefined : session?.sockets[id];
  };

  it('pins each session’s polls to its node with the AWSALB cookie; without it polls hit "Session ID unknown"', async () => {
    const handshake = await fetch(`${cluster.url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    const body = await handshake.text();
    const sid = (JSON.parse(body.slice(1)) as { sid: string }).sid;
    const setCookie = handshake.headers.getSetCookie().find((c) => c.startsWith('AWSALB='));
    expect(setCookie).toMatch(/^AWSALB=node-\d\|[^;]*; path=\/; HttpOnly$/);
    const cookie = (setCookie ?? '').split(';')[0] ?? '';
    const stuckTo = cookie.slice('AWSALB='.length).split('|')[0];

    // An Engine.IO pong ("3") is harmless to post at any time: 200 "ok" on the node that holds the sid,
    // 400 "Session ID unknown" on any other.
    const post = (base: string, withCookie: boolean) =>
      fetch(`${base}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', ...(withCookie ? { cookie } : {}) },
        body: '3',
      }).then(async (r) => ({ status: r.status, text: await r.text() }));

    // The cookie names the node that holds the session.
    for (const node of cluster.nodes) {
      const direct = await post(node.url, false);
      if (node.id === stuckTo) expect(direct).toEqual({ status: 200, text: 'ok' });
      else expect(direct).toMatchObject({ status: 400, text: expect.stringContaining('Session ID unknown') });
    }
    const sticky = [];
    for (let i = 0; i < 12; i++) sticky.push(await post(cluster.url, true));
    expect(sticky).toEqual(Array(12).fill({ status: 200, text: 'ok' }));
    // The naive setup (no stickiness) fails: HAProxy balances the cookieless polls over all three nodes.
    const loose = [];
    for (let i = 0; i < 12; i++) loose.push(await post(cluster.url, false));
    const unknown = loose.filter((r) => r.status === 400 && r.text.includes('Session ID unknown'));
    expect(unknown.length).toBeGreaterThan(0);
    expect(unknown.length + loose.filter((r) => r.status === 200).length).toBe(12);
  });

  it('serves polling-only clients through HAProxy: spread over the nodes, many requests, no session errors', async () => {
    const clients = Array.from({ length: 12 }, (_, i) => open(`poller-${i}`, { transports: ['polling'] }));
    await Promise.all(clients.map(restoredOnce));
    // Every client does 15 acknowledged round trips, each a POST and a long-poll GET on its session.
    await Promise.all(
      clients.map(async (c, i) => {
        for (let k = 0; k < 15; k++) {
          const room = `poll-${i}-${k % 3}`;
          const ack = await request<Ack<RoomResult>>(c.socket, k % 2 === 0 ? 'room:join' : 'room:leave', {
            room,
          });
          expect(ack.ok).toBe(true);
        }
      }),
    );
    for (const c of clients) {
      expect(c.problems).toEqual([]);
      expect(c.socket.connected).toBe(true);
      expect(c.socket.io.engine.transport.name).toBe('polling');
    }
    const perNode = await connectionsPerNode();
    expect(Object.values(perNode).reduce((a, b) => a + b, 0)).toBe(12);
    // Balanced, not all on one node: stickiness, not luck, is what keeps each session working.
    expect(Object.values(perNode).filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    const nodes = await Promise.all(clients.map(nodeOf));
    expect(nodes.every((n) => n !== undefined && /^node-\d$/.test(n))).toBe(true);
    for (const c of clients) c.socket.close();
    await waitFor(
      async () => Object.values(await connectionsPerNode()).every((n) => n === 0),
      10_000,
      'the polling clients to be gone from every node',
    );
  });

  it('upgrades polling to websocket through HAProxy, and serves websocket-only clients', async () => {
    const upgraders = Array.from({ length: 6 }, (_, i) =>
      open(`upgrader-${i}`, { transports: ['polling', 'websocket'] }),
    );
    const upgraded = upgraders.map((c) => nextEvent(c.socket.io.engine as never, 'upgrade', 10_000));
    // One Promise.all, so a failed restore does not leave the upgrade waits rejecting unhandled.
    await Promise.all([...upgraders.map(restoredOnce), ...upgraded]);
    const direct = Array.from({ length: 3 }, (_, i) => open(`ws-only-${i}`, { transports: ['websocket'] }));
    await Promise.all(direct.map(restoredOnce));
    for (const c of [...upgraders, ...direct]) {
      expect(c.socket.io.engine.transport.name).toBe('websocket');
      const ack = await request<Ack<RoomResult>>(c.socket, 'room:join', { room: `ws-${c.sub}` });
      expect(ack).toMatchObject({ ok: true, data: { rooms: [`ws-${c.sub}`] } });
      expect(c.problems).toEqual([]);
    }
    for (const c of [...upgraders, ...direct]) c.socket.close();
  });

  it('moves the clients of a SIGKILLed node to the survivors through HAProxy, sessions and rooms restored', async () => {
    const reconnecting: ClientOptions = {
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 500,
    };
    const clients = [
      ...Array.from({ length: 6 }, (_, i) =>
        open(`moved-poll-${i}`, { ...reconnecting, transports: ['polling'] }),
      ),
      ...Array.from({ length: 6 }, (_, i) =>
        open(`moved-ws-${i}`, { ...reconnecting, transports: ['polling', 'websocket'] }),
      ),
    ];
    await Promise.all(clients.map(restoredOnce));
    await Promise.all(
      clients.map(async (c) => {
        for (const room of ['alpha', `own-${c.sub}`]) {
          expect((await request<Ack<RoomResult>>(c.socket, 'room:join', { room })).ok).toBe(true);
        }
      }),
    );
    const before = await Promise.all(clients.map(nodeOf));
    // Kill the node that holds the most of them (leastconn spreads 12 clients, so it holds at least 4).
    const counts = new Map<string, number>();
    for (const n of before) if (n !== undefined) counts.set(n, (counts.get(n) ?? 0) + 1);
    const victimId = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const victim = cluster.nodes.find((n) => n.id === victimId);
    if (victim === undefined) throw new Error(`no node holds the clients: ${JSON.stringify(before)}`);
    const onVictim = clients.filter((_, i) => before[i] === victim.id);
    const elsewhere = clients.filter((_, i) => before[i] !== victim.id);
    expect(onVictim.length).toBeGreaterThanOrEqual(4);

    await victim.kill('SIGKILL');
    await Promise.all(
      onVictim.map((c) =>
        waitFor(() => c.restored.length >= 2 && c.socket.connected, 20_000, `${c.sub} to be restored`),
      ),
    );
    for (const c of onVictim) {
      expect(c.restored[1]).toMatchObject({ recovered: true });
      expect([...(c.restored[1]?.rooms ?? [])].sort()).toEqual(['alpha', `own-${c.sub}`].sort());
      const now = await nodeOf(c);
      expect(now).toMatch(/^node-\d$/);
      expect(now).not.toBe(victim.id);
      // The session now works on its new node, through HAProxy.
      const ack = await request<Ack<RoomResult>>(c.socket, 'room:join', { room: 'after-failover' });
      expect(ack.ok).toBe(true);
    }
    // The clients on the other nodes never noticed.
    for (const c of elsewhere) {
      expect(c.problems).toEqual([]);
      expect(c.restored).toHaveLength(1);
    }
  });
  it('drains a node’s polling sessions through HAProxy: each is told server:draining, then restored elsewhere', async () => {
    // Runs after the SIGKILL test: two nodes are left. The drain closes one socket per 250 ms batch, so
    // the 14+ sessions of the target take 3.5 s or more, while HAProxy marks the node down after about 2 s
    // of failed /readyz checks; `option persist` keeps the sessions it still holds reaching it, so none of
    // them is cut off with "Session ID unknown" before its turn.
    const alive = cluster.nodes.filter(
      (n) => n.process.child.exitCode === null && n.process.child.signalCode === null,
    );
    expect(alive).toHaveLength(2);
    // Stock clients: socket.io-client's own reconnection and delays, no app code. Polling only, as behind
    // a proxy that blocks websockets, so every request of a session goes through HAProxy's stickiness.
    const clients = Array.from({ length: 36 }, (_, i) =>
      open(`drained-${i}`, { reconnection: true, transports: ['polling'] }),
    );
    await Promise.all(clients.map(restoredOnce));
    await Promise.all(
      clients.map(async (c) =>
        expect((await request<Ack<RoomResult>>(c.socket, 'room:join', { room: `d-${c.sub}` })).ok).toBe(true),
      ),
    );
    const before = await Promise.all(clients.map(nodeOf));
    const target = alive.find((n) => before.filter((b) => b === n.id).length >= 14);
    if (target === undefined) throw new Error(`no node holds 14 of the clients: ${JSON.stringify(before)}`);
    const survivor = alive.find((n) => n !== target);
    const drained = clients.filter((_, i) => before[i] === target.id);
    const kept = clients.filter((_, i) => before[i] !== target.id);

    const exitCode = target.kill('SIGTERM');
    await Promise.all(
      drained.map((c) =>
        waitFor(() => c.restored.length >= 2 && c.socket.connected, 20_000, `${c.sub} to be restored`),
      ),
    );
    expect(await exitCode).toBe(0);
    for (const c of drained) {
      // Told first, then closed: not cut off by the load balancer before the drain reached it.
      // ("transport close": the server closed it; a poll sent to the wrong node would be "transport error")
      expect(c.timeline.slice(0, 2), c.sub).toEqual(['server:draining', 'disconnect: transport close']);
      expect(c.restored[1]).toMatchObject({ recovered: true, rooms: [`d-${c.sub}`] });
      expect(await nodeOf(c)).toBe(survivor?.id);
      // Never refused: DRAIN_GRACE_SECONDS kept the node serving until HAProxy stopped routing to it, and
      // a refusal would have been a closed transport, not a connect_error that ends a stock client.
      expect(
        c.problems.filter((p) => p.startsWith('connect_error')),
        c.sub,
      ).toEqual([]);
    }
    for (const c of kept) expect(c.problems).toEqual([]);
  });
});
