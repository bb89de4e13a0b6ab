/**
 * The SDK against real gateway processes on a real Redis, reached through a small TCP proxy that plays
 * the load balancer (so a reconnect can land on another node).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { connect, tokenFor } from '../../../gateway/test/support/gateway.ts';
import { SERVICE_TOKEN, startCluster, type TestCluster } from '../../../gateway/test/support/cluster.ts';
import { nextEvent, waitFor } from '../../../gateway/test/support/wait.ts';
import { createClient, type ClientOptions, type StaylineClient, type TokenReason } from '../../src/index.ts';
import type { RoomResult } from '../../src/protocol/index.ts';
import { nextSessionChange, recordStatuses, untilStatus } from '../support/client-wait.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const EVENT = 'sdk-it-show';

describe('SDK against a real cluster', () => {
  let cluster: TestCluster;
  let proxy: TcpProxy;
  const clients: StaylineClient[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2, env: { JWT_CLOCK_TOLERANCE_SECONDS: '0' } });
    proxy = await startTcpProxy(cluster.nodes.map((n) => n.port));
    const put = await fetch(`${cluster.nodes[0]?.url}/v1/events/${EVENT}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
      body: JSON.stringify({ seats: ['A1', 'A2', 'A3', 'A4'], admissionRatePerSecond: 0 }),
    });
    expect(put.status).toBeLessThan(300);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const s of sockets.splice(0)) s.close();
    proxy.holdReplies = false;
    proxy.refuseNew = false;
  });
  afterAll(async () => {
    await proxy?.close();
    await cluster?.stop();
  });

  const open = (sub: string, over: Partial<ClientOptions> = {}): StaylineClient => {
    const client = createClient({
      url: proxy.url,
      getToken: () => tokenFor(cluster.env, sub),
      backoff: { baseMs: 100, capMs: 1000 },
      ...over,
    });
    clients.push(client);
    return client;
  };
  /** A plain socket of the same user straight to a node, counting the room:joined it is told about. */
  const observer = async (sub: string, nodeIndex: number) => {
    const node = cluster.nodes[nodeIndex];
    if (node === undefined) throw new Error(`no node ${nodeIndex}`);
    const socket = connect(node.url, tokenFor(cluster.env, sub));
    sockets.push(socket);
    await nextEvent(socket, 'session:restored');
    const joined: string[] = [];
    socket.on('room:joined', (r: RoomResult) => joined.push(r.room));
    return { socket, joined };
  };

  it('refreshes the token before it expires (auth:expiring -> auth:refresh) and stays connected past expiry', async () => {
    const reasons: TokenReason[] = [];
    const client = open('refresher', {
      getToken: ({ reason }) => {
        reasons.push(reason);
        // The handshake token lives 2 s (inside the 60 s warning window, so auth:expiring comes at once).
        return tokenFor(cluster.env, 'refresher', { expiresIn: reason === 'connect' ? 2 : 3600 });
      },
    });
    const statuses = recordStatuses(client);
    const firstExpiry = Date.now() + 2_000;
    await untilStatus(client, 'connected');
    await waitFor(() => reasons.includes('refresh'), 5_000, 'getToken({ reason: "refresh" })');
    // Past the first token's exp (tolerance 0): a request is processed only if the refresh took.
    await waitFor(() => Date.now() > firstExpiry + 1_000, 10_000, 'the first token to expire');
    await expect(client.joinRoom('after-expiry')).resolves.toMatchObject({ room: 'after-expiry' });
    expect(statuses).toEqual(['connecting', 'connected']);
    expect(reasons).toEqual(['connect', 'refresh']);
  });

  it('fetches a fresh token and reconnects when the token expired unrefreshed (AUTH_EXPIRED)', async () => {
    const reasons: TokenReason[] = [];
    const client = open('expirer', {
      getToken: ({ reason }) => {
        reasons.push(reason);
        if (reason === 'refresh') throw new Error('token service unavailable');
        return tokenFor(cluster.env, 'expirer', { expiresIn: reason === 'connect' ? 2 : 3600 });
      },
    });
    await untilStatus(client, 'connected');
    await client.joinRoom('kept');
    const restored = nextSessionChange(client, (c) => c.cause === 'session:restored', 15_000);
    await untilStatus(client, 'reconnecting', 10_000);
    expect(client.state.lastError).toBe('AUTH_EXPIRED');
    await untilStatus(client, 'connected');
    const change = await restored;
    expect(change.session).toMatchObject({ recovered: true, rooms: ['kept'] });
    expect(change.lostAnything).toBe(false);
    expect(reasons).toEqual(['connect', 'refresh', 'reconnect']);
  });

  it("control: socket.io-client's own reconnection gives up after the same expiry ('io server disconnect')", async () => {
    const node = cluster.nodes[0];
    if (node === undefined) throw new Error('no node 0');
    const stock = connect(node.url, tokenFor(cluster.env, 'stock', { expiresIn: 2 }), { reconnection: true });
    sockets.push(stock);
    await nextEvent(stock, 'session:restored');
    const reason = await nextEvent<string>(stock, 'disconnect', 10_000);
    expect(reason).toBe('io server disconnect');
    // `active` is false: no reconnection is scheduled, ever (the SDK test above came back).
    expect(stock.active).toBe(false);
  });

  /** Replaces `gone` with a fresh node, so the next test has two nodes again. */
  const replace = async (gone: (typeof cluster.nodes)[number]): Promise<void> => {
    cluster.nodes.splice(cluster.nodes.indexOf(gone), 1);
    await cluster.addNode(`node-r${Date.now()}`);
    proxy.upstreams = cluster.nodes.map((n) => n.port);
  };

  it('restores rooms, queue place and seat holds on another node after the node it was on is SIGKILLed', async () => {
    const client = open('walker');
    await untilStatus(client, 'connected');
    await client.joinRoom('lobby');
    await client.joinRoom('match:7');
    const place = await client.joinQueue(EVENT);
    const hold = await client.holdSeats(EVENT, ['A2', 'A3']);
    const first = proxy.routed.at(-1);
    const victim = cluster.nodes.find((n) => n.port === first);
    if (victim === undefined) throw new Error('no node behind the proxy connection');

    const restored = nextSessionChange(client, (c) => c.cause === 'session:restored', 15_000);
    const reconnecting = untilStatus(client, 'reconnecting');
    await victim.kill('SIGKILL');
    await reconnecting;
    const change = await restored;
    expect(client.state.status).toBe('connected');
    expect(proxy.routed.at(-1)).not.toBe(first);
    expect(change.session.recovered).toBe(true);
    expect([...change.session.rooms].sort()).toEqual(['lobby', 'match:7']);
    expect(change.restored?.rooms.sort()).toEqual(['lobby', 'match:7']);
    expect(change.restored?.queues).toEqual([place]);
    expect(change.restored?.holds.map((h) => [h.eventId, [...h.seatIds].sort(), h.fence])).toEqual([
      [EVENT, ['A2', 'A3'], hold.fence],
    ]);
    expect(change.lostAnything).toBe(false);
    expect(client.session?.queues[EVENT]).toEqual(place);
    await replace(victim);
  });

  it('holds a call made while reconnecting and sends it once when the connection is back', async () => {
    const client = open('patient');
    await untilStatus(client, 'connected');
    const watch = await observer('patient', 0);
    proxy.refuseNew = true;
    const reconnecting = untilStatus(client, 'reconnecting');
    proxy.cutAll();
    await reconnecting;
    // The observer was straight on a node: it never noticed. Only the SDK client is down.
    const call = client.joinRoom('once');
    await waitFor(() => client.state.attempt >= 1, 5_000, 'a failed reconnect attempt');
    proxy.refuseNew = false;
    await expect(call).resolves.toMatchObject({ room: 'once', rooms: ['once'] });
    // A later join as a marker: once it reached the observer, every earlier room:joined has too.
    await client.joinRoom('marker');
    await waitFor(() => watch.joined.includes('marker'), 5_000, 'the marker join on the observer');
    expect(watch.joined.filter((r) => r === 'once')).toHaveLength(1);
  });

  it('retries a call whose ack was lost with the same request id, and the server acts once', async () => {
    const client = open('retrier');
    await untilStatus(client, 'connected');
    const watch = await observer('retrier', 1);
    proxy.holdReplies = true;
    const call = client.joinRoom('ledger');
    // The server acted (the other tab was told), but the ack never reaches the SDK client.
    await waitFor(() => watch.joined.includes('ledger'), 5_000, 'the join to reach the server');
    const reconnecting = untilStatus(client, 'reconnecting');
    proxy.holdReplies = false;
    proxy.cutAll();
    await reconnecting;
    await expect(call).resolves.toMatchObject({ room: 'ledger', rooms: ['ledger'] });
    await client.joinRoom('marker');
    await waitFor(() => watch.joined.includes('marker'), 5_000, 'the marker join on the observer');
    expect(watch.joined.filter((r) => r === 'ledger')).toHaveLength(1);
  });

  it('control: the same join sent twice with different request ids acts twice (so the count above can fail)', async () => {
    const watch = await observer('naive', 0);
    const node = cluster.nodes[1];
    if (node === undefined) throw new Error('no node 1');
    const raw = connect(node.url, tokenFor(cluster.env, 'naive'));
    sockets.push(raw);
    await nextEvent(raw, 'session:restored');
    for (const requestId of ['naive-1', 'naive-2']) {
      await raw.timeout(5_000).emitWithAck('room:join', { room: 'ledger', requestId });
    }
    await raw.timeout(5_000).emitWithAck('room:join', { room: 'marker', requestId: 'naive-3' });
    await waitFor(() => watch.joined.includes('marker'), 5_000, 'the marker join on the observer');
    expect(watch.joined.filter((r) => r === 'ledger')).toHaveLength(2);
  });

  it('stops as unauthorized on a token signed with the wrong key, and fails calls with CLIENT_OFFLINE', async () => {
    const client = open('intruder', {
      getToken: () => tokenFor({ JWT_SECRET: 'x'.repeat(43) }, 'intruder'),
    });
    await untilStatus(client, 'unauthorized');
    expect(client.state.lastError).toBe('AUTH_INVALID');
    await expect(client.joinRoom('nope')).rejects.toMatchObject({ code: 'CLIENT_OFFLINE' });
  });

  it('honours server:draining: reconnects elsewhere after the hint, with SERVER_DRAINING as the reason', async () => {
    const client = open('drained');
    await untilStatus(client, 'connected');
    await client.joinRoom('stays');
    const first = proxy.routed.at(-1);
    const draining = cluster.nodes.find((n) => n.port === first);
    if (draining === undefined) throw new Error('no node behind the proxy connection');
    const restored = nextSessionChange(client, (c) => c.cause === 'session:restored', 20_000);
    const reconnecting = untilStatus(client, 'reconnecting');
    // The load balancer takes a draining node out of rotation (its /readyz says 503).
    proxy.upstreams = cluster.nodes.filter((n) => n !== draining).map((n) => n.port);
    await draining.kill('SIGTERM');
    await reconnecting;
    expect(client.state.lastError).toBe('SERVER_DRAINING');
    const change = await restored;
    expect(change.session).toMatchObject({ recovered: true, rooms: ['stays'] });
    expect(proxy.routed.at(-1)).not.toBe(first);
    await replace(draining);
  });
});
