/**
 * Message history end to end with the SDK (issue 12): 3 real gateway processes on a real Redis, each SDK
 * client behind its own small TCP proxy playing the load balancer, so a test decides which node a
 * reconnect lands on. What the app sees through `client.onAppEvent` and `client.onGap` is the judge:
 * after a 2 s drop and after a SIGKILL of the client's node, every message exactly once and in order on
 * another node; across a pub/sub cut, the same for two connected clients on two nodes; history trimmed
 * or lost (Redis restarted empty) reaches the app as a gap with its reason, never as a silent hole. A
 * stock socket.io-client (default options) that its own Manager brings back to another node is told
 * `position-unknown` (the gateway side with explicit reconnects is gateway/test/cluster/history.test.ts).
 */
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../../../gateway/test/support/gateway.ts';
import { startCluster, type TestCluster } from '../../../gateway/test/support/cluster.ts';
import { nextEvent, waitFor } from '../../../gateway/test/support/wait.ts';
import { createClient, type AppEventMeta, type StaylineClient, type StreamGap } from '../../src/index.ts';
import type { RestoredSession } from '../../src/protocol/index.ts';
import { untilStatus } from '../support/client-wait.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

/** What one handler saw: the data's `n` and the message's offset, in arrival order. */
interface Seen {
  n: number;
  offset: number | undefined;
  epoch: string | undefined;
}

/** An SDK client behind its own proxy, recording what its handlers and gap listeners see. */
interface Rider {
  client: StaylineClient;
  proxy: TcpProxy;
  seen: Seen[];
  gaps: StreamGap[];
  /** Every `session:restored` the client got, as the server sent it. */
  restores: RestoredSession[];
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

let cluster: TestCluster;
const riders: Rider[] = [];
const sockets: Socket[] = [];

const port = (i: number): number => cluster.nodes[i]!.port;

/** An SDK client of user `sub` reaching node `node` (only) through a fresh proxy, handling `event`. */
async function ride(sub: string, node: number, event: string): Promise<Rider> {
  const proxy = await startTcpProxy([port(node)]);
  const client = createClient({
    url: proxy.url,
    getToken: () => tokenFor(cluster.env, sub),
    backoff: { baseMs: 100, capMs: 400 },
  });
  const rider: Rider = { client, proxy, seen: [], gaps: [], restores: [] };
  client.on('session:restored', (session) => rider.restores.push(session));
  riders.push(rider);
  client.onAppEvent(event, (data: unknown, meta: AppEventMeta) =>
    rider.seen.push({
      n: (data as { n: number }).n,
      offset: meta.position?.offset,
      epoch: meta.position?.epoch,
    }),
  );
  client.onGap((g) => rider.gaps.push(g));
  await untilStatus(client, 'connected', 15_000);
  return rider;
}

/** Cuts the rider's connection (RST) and keeps it away: new connections are refused until `back`. */
async function cut(rider: Rider): Promise<void> {
  rider.proxy.refuseNew = true;
  const reconnecting = untilStatus(rider.client, 'reconnecting');
  rider.proxy.cutAll();
  await reconnecting;
}

/** Lets the rider back in, to node `node` this time; resolves with its restored session. */
async function back(rider: Rider, node: number): Promise<RestoredSession> {
  const before = rider.restores.length;
  rider.proxy.upstreams = [port(node)];
  rider.proxy.refuseNew = false;
  await waitFor(() => rider.restores.length > before, 15_000, 'session:restored');
  expect(rider.proxy.routed.at(-1)).toBe(port(node));
  return rider.restores.at(-1)!;
}

async function publish(node: number, body: Record<string, unknown>): Promise<void> {
  const res = await cluster.publish(cluster.nodes[node]!, body);
  expect(res.status).toBe(202);
  await res.body?.cancel();
}

const ns = (r: Rider): number[] => r.seen.map((s) => s.n);
const offsets = (r: Rider): (number | undefined)[] => r.seen.map((s) => s.offset);

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3, env: { HISTORY_SIZE: '100' } });
});
afterEach(async () => {
  for (const r of riders.splice(0)) {
    r.client.close();
    await r.proxy.close();
  }
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await cluster?.stop();
});

describe('SDK replay on 3 gateway nodes (Redis single)', () => {
  it('hands the 10 messages published during a 2 s drop to the handler once and in order on another node, then live ones', async () => {
    const alice = await ride('e2e-alice', 0, 'headline');
    expect((await alice.client.joinRoom('news')).rooms).toContain('news');
    await publish(2, { room: 'news', event: 'headline', data: { n: 0 } });
    await waitFor(() => alice.seen.length === 1, 5_000, 'the first headline');

    const droppedAt = Date.now();
    await cut(alice);
    for (let n = 1; n <= 10; n++) await publish(n % 3, { room: 'news', event: 'headline', data: { n } });
    // The scenario is a 2 s outage: the client stays away that long whatever the publishing took.
    await new Promise((r) => setTimeout(r, Math.max(0, 2_000 - (Date.now() - droppedAt))));
    expect(alice.seen).toHaveLength(1);

    const restoring = back(alice, 1);
    // Published while the client is coming back: after the replay, never before it, never twice.
    const racing = Promise.all(
      range(11, 10).map((n) => publish(n % 3, { room: 'news', event: 'headline', data: { n } })),
    );
    const session = await restoring;
    expect(session).toMatchObject({ recovered: true, rooms: ['news'], gaps: [] });
    expect(session.gapReasons).toEqual({});
    await racing;
    await waitFor(() => alice.seen.length >= 21, 10_000, 'every headline');
    // The stream's order: the replayed 0-10 first, then the racing ones in the order Redis took them.
    expect(offsets(alice)).toEqual(range(alice.seen[0]!.offset!, 21));
    expect(ns(alice).slice(0, 11)).toEqual(range(0, 11));
    expect([...ns(alice)].sort((x, y) => x - y)).toEqual(range(0, 21));
    expect(alice.gaps).toEqual([]);
  });

  it('hands every message once and in order after a SIGKILL of the client’s node mid-stream', async () => {
    const bob = await ride('e2e-bob', 2, 'score');
    await bob.client.joinRoom('match');
    // Node 1 takes the reconnect once node 2 is gone (the proxy tries its upstreams in order).
    bob.proxy.upstreams = [port(2), port(1)];
    const victim = cluster.nodes[2]!;
    const reconnecting = untilStatus(bob.client, 'reconnecting', 15_000);
    try {
      for (let n = 1; n <= 60; n++) {
        if (n === 21) await victim.kill('SIGKILL');
        await publish(n % 2, { room: 'match', event: 'score', data: { n } });
      }
      await reconnecting;
      await waitFor(() => bob.restores.length === 2, 20_000, 'the restore on node 2');
      expect(bob.restores[1]).toMatchObject({ recovered: true, gaps: [], rooms: ['match'] });
      expect(bob.restores[1]?.gapReasons).toEqual({});
      expect(bob.proxy.routed.at(-1)).toBe(port(1));
      await waitFor(() => bob.seen.length >= 60, 15_000, 'every score');
      expect(ns(bob)).toEqual(range(1, 60));
      expect(offsets(bob)).toEqual(range(bob.seen[0]!.offset!, 60));
      expect(bob.gaps).toEqual([]);
    } finally {
      // Node 3 is replaced, so the next tests have three nodes again.
      await victim.kill('SIGKILL');
      await cluster.addNode('node-3b'); // appended last, where the victim was
      cluster.nodes.splice(cluster.nodes.indexOf(victim), 1);
    }
  });

  it('hands each of 200 messages once and in order to two SDK clients on two nodes across CLIENT KILL TYPE pubsub', async () => {
    const admin = new Redis(cluster.redis!.url);
    try {
      const [a, b] = await Promise.all([ride('e2e-cut-a', 0, 'tick'), ride('e2e-cut-b', 1, 'tick')]);
      await Promise.all([a.client.joinRoom('live'), b.client.joinRoom('live')]);
      let killed = 0;
      for (let n = 1; n <= 200; n += 2) {
        if (n === 101) killed = Number(await admin.client('KILL', 'TYPE', 'pubsub'));
        // Two publishing nodes at once, in pairs: some messages reach a node out of order too.
        await Promise.all([
          publish(2, { room: 'live', event: 'tick', data: { n } }),
          publish(n % 4 === 1 ? 0 : 1, { room: 'live', event: 'tick', data: { n: n + 1 } }),
        ]);
      }
      expect(killed).toBeGreaterThan(0);
      await waitFor(() => a.seen.length >= 200 && b.seen.length >= 200, 15_000, 'every tick on both');
      for (const r of [a, b]) {
        // Publishes of a pair race: the handler's order is the stream's (offsets), each n exactly once.
        expect(offsets(r)).toEqual(range(r.seen[0]!.offset!, 200));
        expect([...ns(r)].sort((x, y) => x - y)).toEqual(range(1, 200));
        expect(r.gaps).toEqual([]);
      }
      // Both nodes delivered the same stream in the same order.
      expect(ns(a)).toEqual(ns(b));
    } finally {
      admin.disconnect();
    }
  });

  it('reports a trimmed gap to onGap (no silent hole) when history no longer reaches back, then goes on live', async () => {
    const carol = await ride('e2e-carol', 0, 'm');
    await carol.client.joinRoom('busy');
    await publish(1, { room: 'busy', event: 'm', data: { n: 0 } });
    await waitFor(() => carol.seen.length === 1, 5_000, 'the first message');
    await cut(carol);
    for (let n = 1; n <= 120; n++) await publish(1, { room: 'busy', event: 'm', data: { n } });
    const session = await back(carol, 2);
    expect(session).toMatchObject({ gaps: ['busy'], gapReasons: { 'room:busy': 'trimmed' } });
    expect(carol.gaps.map((g) => [g.stream, g.room, g.reason])).toEqual([['room:busy', 'busy', 'trimmed']]);
    const [gap] = carol.gaps;
    expect(gap?.before?.offset).toBe(carol.seen[0]!.offset);
    expect(gap?.after?.offset).toBe(carol.seen[0]!.offset! + 120);
    await publish(0, { room: 'busy', event: 'm', data: { n: 121 } });
    await waitFor(() => carol.seen.length === 2, 5_000, 'the live message');
    expect(ns(carol)).toEqual([0, 121]);
    expect(carol.gaps).toHaveLength(1);
  });

  it('tells a stock socket.io-client with default options, brought back to another node by its own Manager, position-unknown', async () => {
    const proxy = await startTcpProxy([port(0)]);
    try {
      const socket = io(proxy.url, { auth: { token: tokenFor(cluster.env, 'e2e-stock') } });
      sockets.push(socket);
      await nextEvent(socket, 'session:restored', 15_000);
      const joined = await socket.timeout(5_000).emitWithAck('room:join', { room: 'quiet' });
      expect(joined).toMatchObject({ ok: true });
      const again = nextEvent<RestoredSession>(socket, 'session:restored', 20_000);
      proxy.upstreams = [port(1)];
      proxy.cutAll();
      await publish(2, { room: 'quiet', event: 'm', data: { n: 1 } });
      expect(await again).toMatchObject({
        recovered: true,
        gaps: ['quiet'],
        gapReasons: { 'room:quiet': 'position-unknown', user: 'position-unknown' },
      });
      expect(proxy.routed.at(-1)).toBe(port(1));
    } finally {
      await proxy.close();
    }
  });

  // Last: it empties Redis for everything after it.
  it('reports epoch-changed to onGap after Redis restarted empty: live for a connected client, on restore for the user stream', async () => {
    const dan = await ride('e2e-dan', 0, 'note');
    const eve = await ride('e2e-eve', 1, 'note');
    await dan.client.joinRoom('desk');
    await publish(2, { room: 'desk', event: 'note', data: { n: 1 } });
    await publish(2, { userId: 'e2e-eve', event: 'note', data: { n: 1 } });
    await waitFor(() => dan.seen.length === 1 && eve.seen.length === 1, 5_000, 'the first notes');
    await cut(eve);

    await cluster.redis!.kill();
    await cluster.redis!.restart();
    // Dan stayed connected (his socket is still in the room on node 1): the next message is of a new epoch.
    await waitFor(
      async () =>
        (await cluster.publish(cluster.nodes[2]!, { room: 'desk', event: 'note', data: { n: 2 } })).status ===
        202,
      15_000,
      'Redis back',
    );
    await waitFor(() => dan.seen.length >= 2, 10_000, 'the note after the restart');
    expect(ns(dan)).toEqual([1, 2]);
    expect(dan.seen[1]!.epoch).not.toBe(dan.seen[0]!.epoch);
    expect(dan.gaps.map((g) => [g.stream, g.reason])).toEqual([['room:desk', 'epoch-changed']]);

    // Eve comes back to another node once every node's stores have reconnected.
    for (const node of cluster.nodes)
      await waitFor(async () => (await fetch(`${node.url}/readyz`)).ok, 15_000, `${node.url} ready`);
    await publish(0, { userId: 'e2e-eve', event: 'note', data: { n: 2 } });
    const session = await back(eve, 2);
    expect(session.gapReasons).toEqual({ user: 'epoch-changed' });
    expect(eve.gaps.map((g) => [g.stream, g.reason])).toEqual([['user', 'epoch-changed']]);
    // What was published after the restart is the new epoch's history: the client is at its end.
    expect(session.positions.user).toMatchObject({ offset: 1 });
    expect(ns(eve)).toEqual([1]);
  });
});
