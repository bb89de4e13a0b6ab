/**
 * Message history and replay across real gateway processes (issue 12), with the stock socket.io-client
 * sending `auth.positions` built from what it received, as the SDK does: replay after a drop and after a
 * SIGKILL of the client's node, exactly once and in order; a pub/sub cut repaired for connected clients;
 * the gaps a restore reports (trimmed, epoch-changed, position-unknown).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import {
  SERVER_EVENTS,
  type Ack,
  type MessagePosition,
  type RestoredSession,
  type RoomResult,
  type StreamPosition,
} from '@stayline/client-sdk/protocol';
import { connect, tokenFor, type ConnectError } from '../support/gateway.ts';
import { startCluster, type TestCluster } from '../support/cluster.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const PROTOCOL_EVENTS: ReadonlySet<string> = new Set(SERVER_EVENTS);

interface Received {
  event: string;
  data: unknown;
  position: MessagePosition | undefined;
}

/** A stock client that records its app events and keeps its positions, as the SDK would. */
class Client {
  readonly got: Received[] = [];
  readonly positions: Record<string, StreamPosition> = {};
  socket!: Socket;
  restored!: Promise<RestoredSession>;

  constructor(
    private readonly cluster: TestCluster,
    private readonly sub: string,
  ) {}

  /** Connects to `url`, sending its positions unless `withPositions` is false. */
  open(url: string, withPositions = true): this {
    const token = tokenFor(this.cluster.env, this.sub);
    this.socket = connect(url, token, {
      auth: withPositions ? { token, positions: { ...this.positions } } : { token },
    });
    const restored = nextEvent<RestoredSession>(this.socket, 'session:restored', 15_000);
    this.restored = restored.then((session) => {
      Object.assign(this.positions, session.positions);
      return session;
    });
    this.socket.onAny((event: string, data: unknown, position?: MessagePosition) => {
      if (PROTOCOL_EVENTS.has(event)) return;
      this.got.push({ event, data, position });
      if (position !== undefined)
        this.positions[position.stream] = { epoch: position.epoch, offset: position.offset };
    });
    return this;
  }

  async join(room: string): Promise<RoomResult> {
    const ack = await request<Ack<RoomResult>>(this.socket, 'room:join', { room });
    if (!ack.ok) throw new Error(`join failed: ${ack.error.code}`);
    if (ack.data.position !== undefined) this.positions[`room:${room}`] = ack.data.position;
    return ack.data;
  }

  /** The offsets received in `stream`, in arrival order. */
  offsets(stream: string): number[] {
    return this.got.filter((g) => g.position?.stream === stream).map((g) => g.position!.offset);
  }

  /** Drops the connection abruptly (no polite disconnect). */
  async drop(): Promise<void> {
    if (!this.socket.connected) return;
    const gone = nextEvent(this.socket, 'disconnect');
    this.socket.io.engine.close();
    await gone;
  }
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe.each(['single', 'cluster'] as const)('message history and replay (Redis %s)', (redisKind) => {
  let cluster: TestCluster;
  const clients: Client[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, redis: redisKind, env: { HISTORY_SIZE: '100' } });
  });
  afterAll(async () => {
    for (const c of clients) c.socket.close();
    await cluster.stop();
  });
  const url = (i: number): string => cluster.nodes[i]!.url;
  const client = (sub: string): Client => {
    const c = new Client(cluster, sub);
    clients.push(c);
    return c;
  };
  const publish = async (
    node: number,
    body: Record<string, unknown>,
  ): Promise<MessagePosition | undefined> => {
    const res = await cluster.publish(cluster.nodes[node]!, body);
    expect(res.status).toBe(202);
    return ((await res.json()) as { data: { position?: MessagePosition } }).data.position;
  };

  it('replays the 10 messages published during a drop on another node, in order, once, then live ones', async () => {
    const alice = client('h-alice').open(url(0));
    await alice.restored;
    const joined = await alice.join('news');
    const start = joined.position!.offset;
    await publish(2, { room: 'news', event: 'headline', data: { n: 0 } });
    await waitFor(() => alice.offsets('room:news').length === 1, 5_000, 'the first headline');
    await alice.drop();
    for (let n = 1; n <= 10; n++) await publish(2, { room: 'news', event: 'headline', data: { n } });

    alice.open(url(1));
    // Published while the client is coming back: after the replay, never before it, never twice.
    const racing = Promise.all(
      range(11, 10).map((n) => publish(n % 3, { room: 'news', event: 'headline', data: { n } })),
    );
    const session = await alice.restored;
    expect(session).toMatchObject({ recovered: true, rooms: ['news'], gaps: [], gapReasons: {} });
    await racing;
    await waitFor(() => alice.offsets('room:news').length === 21, 10_000, 'every headline');
    expect(alice.offsets('room:news')).toEqual(range(start + 1, 21));
    expect(alice.got.map((g) => (g.data as { n: number }).n).slice(0, 11)).toEqual(range(0, 11));
  });

  it('replays after a SIGKILL of the client’s node, on a surviving node', async () => {
    if (redisKind === 'cluster') return; // one node kill per cluster run is enough (nodes are shared).
    const bob = client('h-bob').open(url(2));
    await bob.restored;
    const start = (await bob.join('match')).position!.offset;
    const gone = nextEvent(bob.socket, 'disconnect');
    await cluster.nodes[2]!.kill('SIGKILL');
    await gone;
    for (let n = 1; n <= 10; n++) await publish(0, { room: 'match', event: 'score', data: n });
    bob.open(url(1));
    expect(await bob.restored).toMatchObject({ recovered: true, gaps: [] });
    await waitFor(() => bob.offsets('room:match').length === 10, 10_000, 'every score');
    expect(bob.offsets('room:match')).toEqual(range(start + 1, 10));
    cluster.nodes[2] = await cluster.addNode('node-3b');
    cluster.nodes.pop();
  });
});

describe('message history: pub/sub cuts and gaps (Redis single)', () => {
  let cluster: TestCluster;
  let admin: Redis;
  const clients: Client[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, env: { HISTORY_SIZE: '100' } });
    admin = new Redis(cluster.redis!.url);
    admin.on('error', () => undefined); // Redis is killed on purpose below.
  });
  afterAll(async () => {
    for (const c of clients) c.socket.close();
    admin.disconnect();
    await cluster.stop();
  });
  const url = (i: number): string => cluster.nodes[i]!.url;
  const client = (sub: string): Client => {
    const c = new Client(cluster, sub);
    clients.push(c);
    return c;
  };
  const publish = async (node: number, body: Record<string, unknown>): Promise<Response> =>
    cluster.publish(cluster.nodes[node]!, body);

  it('delivers each of 200 messages exactly once and in order to clients on two nodes across a pub/sub cut', async () => {
    const [a, b] = [client('h-cut-a').open(url(0)), client('h-cut-b').open(url(1))];
    await Promise.all([a.restored, b.restored]);
    const startA = (await a.join('live')).position!.offset;
    const startB = (await b.join('live')).position!.offset;
    for (let n = 1; n <= 200; n++) {
      if (n === 100) expect(Number(await admin.client('KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
      // Two publishing nodes at once, in pairs: some messages reach a node out of order too.
      if (n % 2 === 0) continue;
      await Promise.all([
        publish(2, { room: 'live', event: 'tick', data: n }),
        publish(n % 4 === 1 ? 0 : 1, { room: 'live', event: 'tick', data: n + 1 }),
      ]);
    }
    await waitFor(
      () => a.offsets('room:live').length >= 200 && b.offsets('room:live').length >= 200,
      15_000,
      'every tick on both clients',
    );
    expect(a.offsets('room:live')).toEqual(range(startA + 1, 200));
    expect(b.offsets('room:live')).toEqual(range(startB + 1, 200));
    // The cut did lose messages on pub/sub: the nodes delivered them from history.
    const repaired = async (node: number): Promise<number> => {
      const text = await (await fetch(`${url(node)}/metrics`)).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('stayline_history_repaired_messages_total'))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    };
    expect((await repaired(0)) + (await repaired(1))).toBeGreaterThan(0);
  });

  it('says trimmed when the history no longer reaches back to the client’s position', async () => {
    const carol = client('h-carol').open(url(0));
    await carol.restored;
    await carol.join('busy');
    await carol.drop();
    for (let n = 1; n <= 120; n++) await publish(1, { room: 'busy', event: 'm', data: n });
    carol.open(url(2));
    const session = await carol.restored;
    expect(session).toMatchObject({ gaps: ['busy'], gapReasons: { 'room:busy': 'trimmed' } });
    expect(session.positions['room:busy']?.offset).toBe(120);
    expect(carol.offsets('room:busy')).toEqual([]);
  });

  it('tells a client without positions (stock socket.io-client) that it could not replay: position-unknown', async () => {
    const dave = client('h-dave').open(url(0), false);
    expect(await dave.restored).toMatchObject({ recovered: false, gaps: [], gapReasons: {}, positions: {} });
    await dave.join('quiet');
    await dave.drop();
    await publish(1, { room: 'quiet', event: 'm', data: 1 });
    dave.open(url(1), false);
    expect(await dave.restored).toMatchObject({
      recovered: true,
      gaps: ['quiet'],
      gapReasons: { 'room:quiet': 'position-unknown', user: 'position-unknown' },
    });
  });

  it('refuses malformed positions with BAD_REQUEST before touching the session', async () => {
    const token = tokenFor(cluster.env, 'h-eve');
    for (const positions of [
      { 'room:x': { epoch: '', offset: 1 } },
      { 'room:x': { epoch: 'e', offset: -1 } },
      { nope: { epoch: 'e', offset: 1 } },
      { __proto__: { epoch: 'e', offset: 1 }, constructor: { epoch: 'e', offset: 1 } },
      Object.fromEntries(range(0, 102).map((i) => [`room:r${i}`, { epoch: 'e', offset: 1 }])),
    ]) {
      const socket = connect(url(0), token, {
        auth: { token, positions: JSON.parse(JSON.stringify(positions)) as unknown },
      });
      const err = await nextEvent<ConnectError>(socket, 'connect_error');
      socket.close();
      expect(err.data?.code).toBe('BAD_REQUEST');
    }
  });

  it('publishes volatile messages without history or position', async () => {
    const frank = client('h-frank').open(url(0));
    await frank.restored;
    await frank.join('ticker');
    const res = await publish(1, { room: 'ticker', event: 'price', data: 1, volatile: true });
    expect(await res.json()).toEqual({ ok: true, data: { accepted: true } });
    await waitFor(() => frank.got.length === 1, 5_000, 'the price');
    expect(frank.got[0]).toEqual({ event: 'price', data: 1, position: undefined });
  });

  // Last: it empties Redis for every test of this file.
  it('says epoch-changed after Redis restarted empty, and refuses to publish while it is down', async () => {
    const gina = client('h-gina').open(url(0));
    await gina.restored;
    await publish(1, { userId: 'h-gina', event: 'note', data: 1 });
    await waitFor(() => gina.offsets('user').length === 1, 5_000, 'the note');
    await gina.drop();
    await cluster.redis!.kill();
    const refused = await publish(1, { userId: 'h-gina', event: 'note', data: 2 });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({
      ok: false,
      error: { code: 'STORE_UNAVAILABLE', retryable: true },
    });
    await cluster.redis!.restart();
    await waitFor(
      async () => (await publish(1, { userId: 'h-gina', event: 'note', data: 3 })).status === 202,
      15_000,
      'Redis back',
    );
    // Every store of the node the client comes back to has reconnected (a refusal would end a stock client).
    await waitFor(async () => (await fetch(`${url(2)}/readyz`)).ok, 15_000, 'node 3 ready');
    gina.open(url(2));
    const session = await gina.restored;
    expect(session.gapReasons).toEqual({ user: 'epoch-changed' });
    expect(session.positions.user?.epoch).not.toBe(gina.got[0]?.position?.epoch);
  });
});
