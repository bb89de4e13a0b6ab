/**
 * Message history, the SDK side, over real sockets. Against a plain socket.io server the test scripts
 * (the wire contract's trailing positions, duplicated, late, skipped; session:restored with gaps; the
 * transport closed under the client): handlers see each message once and in order, gaps are reported,
 * and every reconnect's handshake carries the positions. Against a real gateway on a real Redis: publishes
 * reach handlers as data only, once and in order, and handshakes with `auth.positions` (the SDK's, and a
 * stock client's as docs/protocol.md shows) are accepted. The end-to-end replay is tested with the gateway
 * side of history.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  baseEnv,
  startGateway,
  tokenFor,
  type RunningGateway,
} from '../../../gateway/test/support/gateway.ts';
import { startRedis, type RedisProcess } from '../../../gateway/test/support/redis.ts';
import { nextEvent, waitFor } from '../../../gateway/test/support/wait.ts';
import {
  createClient,
  type AppEventMeta,
  type ClientOptions,
  type StaylineClient,
  type StreamGap,
} from '../../src/index.ts';
import type { MessagePosition, RestoredSession, StreamName } from '../../src/protocol/index.ts';
import { untilStatus } from '../support/client-wait.ts';

const at = (stream: StreamName, offset: number, epoch = 'e1'): MessagePosition => ({ stream, epoch, offset });
const restored = (over: Partial<RestoredSession> = {}): RestoredSession => ({
  recovered: true,
  rooms: ['a', 'b'],
  expiresAt: Date.now() + 60_000,
  queues: [],
  holds: [],
  gaps: [],
  gapReasons: {},
  positions: {},
  ...over,
});

const clients: StaylineClient[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.close();
});

/** What every attempt of the SDK put in its handshake, read through its own `auth` function. */
function capturingFactory(seen: Record<string, unknown>[]): NonNullable<ClientOptions['socketFactory']> {
  return ((url: string, opts: { auth: (cb: (d: object) => void) => void }) =>
    io(url, {
      ...opts,
      auth: (cb: (d: object) => void) =>
        opts.auth((data) => {
          seen.push(data as Record<string, unknown>);
          cb(data);
        }),
    })) as unknown as NonNullable<ClientOptions['socketFactory']>;
}

describe('SDK history against a scripted socket.io server', () => {
  let http: HttpServer;
  let ioServer: Server;
  let url: string;
  /** What each connection (in order) does once connected. */
  let script: ((socket: ServerSocket) => void)[] = [];
  const auths: Record<string, unknown>[] = [];

  beforeAll(async () => {
    http = createServer();
    ioServer = new Server(http, { transports: ['websocket'] });
    ioServer.on('connection', (socket) => {
      auths.push(socket.handshake.auth);
      script[auths.length - 1]?.(socket);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await ioServer.close();
  });

  it('delivers once and in order, reports gaps, and sends its positions in every handshake', async () => {
    auths.length = 0;
    script = [
      (s) => {
        s.emit('session:restored', restored());
        for (const [n, pos] of [
          [1, at('room:a', 1)],
          [2, at('room:a', 2)],
          [2, at('room:a', 2)], // duplicate
          [1, at('room:a', 1)], // older
          [3, at('room:a', 3)],
          [10, at('room:b', 10)],
          [14, at('room:b', 14)], // 11-13 never sent: skipped
        ] as const)
          s.emit('chat', `${pos.stream}#${n}`, pos);
        s.emit('chat', 'volatile'); // no position
        s.emit('dm', 'hello', at('user', 5, 'u1'));
        s.emit('done');
      },
      (s) => {
        s.emit(
          'session:restored',
          restored({
            gaps: ['b'],
            gapReasons: { 'room:b': 'trimmed' },
            positions: { 'room:a': { epoch: 'e1', offset: 5 }, 'room:b': { epoch: 'e1', offset: 40 } },
          }),
        );
        // The replay of a (4, 5), then b's retained tail below the reset, then something new of each.
        s.emit('chat', 'room:a#4', at('room:a', 4));
        s.emit('chat', 'room:a#3', at('room:a', 3));
        s.emit('chat', 'room:a#5', at('room:a', 5));
        s.emit('chat', 'room:b#39', at('room:b', 39));
        s.emit('chat', 'room:b#41', at('room:b', 41));
        s.emit('done');
      },
      (s) => s.emit('session:restored', restored({ rooms: ['a'] })),
    ];
    const client = createClient({
      url,
      getToken: () => 'any-token',
      backoff: { baseMs: 50, capMs: 200 },
    });
    clients.push(client);
    const chats: string[] = [];
    const arity: number[] = [];
    const gaps: StreamGap[] = [];
    let dones = 0;
    let restores = 0;
    client.on('session:restored', () => restores++);
    client.onAppEvent('chat', (...args: unknown[]) => {
      chats.push(args[0] as string);
      arity.push(args.length);
    });
    client.onAppEvent('done', () => dones++);
    client.onGap((g) => gaps.push(g));

    await waitFor(() => dones === 1, 10_000, 'the first script');
    expect(chats).toEqual(['room:a#1', 'room:a#2', 'room:a#3', 'room:b#10', 'room:b#14', 'volatile']);
    expect(arity.every((n) => n === 2)).toBe(true); // data and meta: never the raw position
    expect(gaps.map((g) => [g.stream, g.reason, g.missed])).toEqual([['room:b', 'skipped', 3]]);
    expect(auths[0]).toEqual({ token: 'any-token', retryableConnectErrors: true, positions: {} });

    // The server closes the transport: the SDK comes back and says where it was, per stream.
    const server1 = [...ioServer.sockets.sockets.values()][0];
    server1?.conn.close();
    await waitFor(() => dones === 2, 10_000, 'the second script');
    expect(auths[1]).toEqual({
      token: 'any-token',
      retryableConnectErrors: true,
      positions: {
        'room:a': { epoch: 'e1', offset: 3 },
        'room:b': { epoch: 'e1', offset: 14 },
        user: { epoch: 'u1', offset: 5 },
      },
    });
    expect(chats.slice(6)).toEqual(['room:a#4', 'room:a#5', 'room:b#41']);
    expect(gaps.slice(1).map((g) => [g.stream, g.reason, g.before?.offset, g.after?.offset])).toEqual([
      ['room:b', 'trimmed', 14, 40],
    ]);

    // Once more: a restore without room b (left elsewhere) forgets b's position.
    [...ioServer.sockets.sockets.values()][0]?.conn.close();
    await waitFor(() => auths.length === 3, 10_000, 'the third handshake');
    expect(auths[2]?.['positions']).toEqual({
      'room:a': { epoch: 'e1', offset: 5 },
      'room:b': { epoch: 'e1', offset: 41 },
      user: { epoch: 'u1', offset: 5 },
    });
    await waitFor(() => restores === 3, 10_000, 'the third restore');
    [...ioServer.sockets.sockets.values()][0]?.conn.close();
    await waitFor(() => auths.length === 4, 10_000, 'the fourth handshake');
    expect(auths[3]?.['positions']).toEqual({
      'room:a': { epoch: 'e1', offset: 5 },
      user: { epoch: 'u1', offset: 5 },
    });
  });
});

describe('SDK history against a real gateway', () => {
  let redis: RedisProcess;
  let gw: RunningGateway;
  let env: Record<string, string | undefined>;
  const SERVICE = 'history-it-service-token-0123456789';

  beforeAll(async () => {
    redis = await startRedis();
    env = baseEnv({ REDIS_URL: redis.url, SERVICE_TOKEN: SERVICE });
    gw = await startGateway(env);
  });
  afterAll(async () => {
    await gw?.stop();
    await redis?.stop();
  });

  const publish = async (body: object): Promise<void> => {
    const res = await fetch(`${gw.url}/v1/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
  };

  it('hands published messages to handlers as data (and meta), each once and in order', async () => {
    const seenAuth: Record<string, unknown>[] = [];
    const client = createClient({
      url: gw.url,
      getToken: () => tokenFor(env, 'history-user'),
      backoff: { baseMs: 50, capMs: 200 },
      socketFactory: capturingFactory(seenAuth),
    });
    clients.push(client);
    const got: { data: unknown; meta: AppEventMeta; extra: number }[] = [];
    client.onAppEvent('news', (data, meta, ...rest: unknown[]) =>
      got.push({ data, meta, extra: rest.length }),
    );
    await untilStatus(client, 'connected');
    await client.joinRoom('news');
    for (let n = 1; n <= 5; n++) await publish({ room: 'news', event: 'news', data: { n } });
    await publish({ userId: 'history-user', event: 'news', data: { n: 6 } });
    await waitFor(() => got.length >= 6, 10_000, 'six messages');
    expect(got.map((g) => g.data)).toEqual([1, 2, 3, 4, 5, 6].map((n) => ({ n })));
    expect(got.every((g) => g.extra === 0)).toBe(true);
    // With history on the gateway the meta names the room (the user's own stream for the last one).
    for (const g of got.slice(0, 5)) if (g.meta.position !== undefined) expect(g.meta.room).toBe('news');
    if (got[5]?.meta.position !== undefined) expect(got[5].meta.position.stream).toBe('user');

    // A new connection: the gateway accepts the handshake with whatever positions the SDK knows.
    client.reconnect();
    await untilStatus(client, 'reconnecting');
    await untilStatus(client, 'connected');
    expect(seenAuth).toHaveLength(2);
    const positions = seenAuth[1]?.['positions'] as Record<string, unknown> | undefined;
    const known = got.filter((g) => g.meta.position !== undefined).map((g) => g.meta.position?.stream);
    expect(Object.keys(positions ?? {}).sort()).toEqual([...new Set(known)].sort());
    await publish({ room: 'news', event: 'news', data: { n: 7 } });
    await waitFor(() => got.length >= 7, 10_000, 'the message after the reconnect');
    expect(got.map((g) => (g.data as { n: number }).n)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("accepts a stock socket.io-client's auth.positions (docs/protocol.md) and serves it", async () => {
    const socket = io(gw.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: tokenFor(env, 'stock-user'), positions: { 'room:news': { epoch: 'e-old', offset: 3 } } },
    });
    sockets.push(socket);
    const session = await nextEvent<RestoredSession>(socket, 'session:restored');
    expect(session.recovered).toBe(false);
    expect(Array.isArray(session.gaps)).toBe(true);
  });
});
