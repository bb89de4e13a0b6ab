/**
 * Message history in the client shell (fake socket, manual timers): app event handlers see each message
 * once and in order with data only (meta on opt-in), gaps reach `onGap`, and the positions travel in the
 * handshake of every attempt, moved by join and leave acks, `room:joined`/`room:left` and restores.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type AppEventMeta, type StaylineClient, type StreamGap } from '../../src/client.ts';
import type { MessagePosition, RestoredSession, StreamName } from '../../src/protocol/index.ts';
import { FakeSocket, ManualTimers, flushPromises } from '../support/fake-socket.ts';

const at = (stream: StreamName, offset: number, epoch = 'e1'): MessagePosition => ({ stream, epoch, offset });
const restored = (over: Partial<RestoredSession> = {}): RestoredSession => ({
  recovered: true,
  rooms: [],
  expiresAt: 2_000_000,
  queues: [],
  holds: [],
  gaps: [],
  gapReasons: {},
  positions: {},
  ...over,
});

const clients: StaylineClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

async function setup(first: Partial<RestoredSession> = {}) {
  const timers = new ManualTimers();
  let socket: FakeSocket | undefined;
  let ids = 0;
  const client = createClient({
    url: 'http://gateway.test',
    getToken: () => 'token',
    timers,
    now: timers.now,
    random: () => 0,
    newRequestId: () => `req-${++ids}`,
    socketFactory: ((_url: string, opts: Record<string, unknown>) =>
      (socket = new FakeSocket(opts))) as never,
  });
  clients.push(client);
  const sock = (): FakeSocket => {
    if (socket === undefined) throw new Error('no socket');
    return socket;
  };
  const gaps: StreamGap[] = [];
  client.onGap((g) => gaps.push(g));
  /** Connects (or reconnects) and answers with `session:restored`. */
  const up = async (r: Partial<RestoredSession> = first): Promise<void> => {
    timers.advance(0);
    await flushPromises();
    sock().accept();
    sock().fire('session:restored', restored(r));
  };
  await up();
  return { client, sock, timers, gaps, up };
}

describe('app events with history (client shell)', () => {
  it('calls every handler once per message, in order, with the data only; duplicates never reach them', async () => {
    const s = await setup({ rooms: ['a'] });
    const seen: unknown[][] = [];
    const other: number[] = [];
    s.client.onAppEvent('chat', (...args: unknown[]) => seen.push(args.slice(0, 1)));
    s.client.onAppEvent('chat', (data) => other.push((data as { n: number }).n));
    for (const n of [1, 2, 2, 3, 1, 4]) s.sock().fire('chat', { n }, at('room:a', n));
    expect(seen.map(([d]) => (d as { n: number }).n)).toEqual([1, 2, 3, 4]);
    expect(other).toEqual([1, 2, 3, 4]);
    expect(s.gaps).toEqual([]);
  });

  it('passes meta (position and room) as the second argument, and no position for a volatile message', async () => {
    const s = await setup({ rooms: ['a'] });
    const metas: AppEventMeta[] = [];
    const arity: number[] = [];
    s.client.onAppEvent('chat', (_data, meta) => metas.push(meta));
    s.client.onAppEvent('chat', (...args: unknown[]) => arity.push(args.length));
    s.sock().fire('chat', { n: 1 }, at('room:a', 1));
    s.sock().fire('chat', { typing: true });
    s.sock().fire('chat', 'hi', at('user', 7, 'u'));
    expect(metas).toEqual([
      { position: at('room:a', 1), room: 'a' },
      { position: undefined, room: undefined },
      { position: at('user', 7, 'u'), room: undefined },
    ]);
    // Never the raw position as a stray third argument.
    expect(arity).toEqual([2, 2, 2]);
  });

  it('judges a message once even with no handler for its event: a later event of the stream is no jump', async () => {
    const s = await setup({ rooms: ['a'] });
    const seen: number[] = [];
    s.client.onAppEvent('score', (d) => seen.push(d as number));
    s.sock().fire('score', 1, at('room:a', 1));
    s.sock().fire('presence', {}, at('room:a', 2)); // nobody listens to presence
    s.sock().fire('score', 3, at('room:a', 3));
    expect(seen).toEqual([1, 3]);
    expect(s.gaps).toEqual([]);
  });

  it('reports a jump and a new epoch on a live connection as gaps, then delivers', async () => {
    const s = await setup({ rooms: ['a'] });
    const seen: number[] = [];
    s.client.onAppEvent('chat', (d) => seen.push(d as number));
    s.sock().fire('chat', 1, at('room:a', 1));
    s.sock().fire('chat', 5, at('room:a', 5));
    s.sock().fire('chat', 3, at('room:a', 3)); // late: would be out of order
    s.sock().fire('chat', 1, at('room:a', 1, 'e2'));
    expect(seen).toEqual([1, 5, 1]);
    expect(s.gaps.map((g) => [g.room, g.reason, g.missed])).toEqual([
      ['a', 'skipped', 3],
      ['a', 'epoch-changed', undefined],
    ]);
  });

  it('sends its positions in the handshake of every attempt, as they are when the attempt starts ({} while none)', async () => {
    const s = await setup({ rooms: ['a'] });
    expect(s.sock().authSeen).toEqual([{ token: 'token', retryableConnectErrors: true, positions: {} }]);
    s.sock().fire('chat', 1, at('room:a', 1));
    s.sock().fire('dm', 1, at('user', 4, 'u'));
    s.sock().fire('chat', 2, at('room:a', 2));
    s.sock().drop();
    await s.up({ rooms: ['a'] });
    expect(s.sock().authSeen[1]).toEqual({
      token: 'token',
      retryableConnectErrors: true,
      positions: { 'room:a': { epoch: 'e1', offset: 2 }, user: { epoch: 'u', offset: 4 } },
    });
  });

  it("takes a join ack's position, forgets a left room, and follows room:joined/room:left of other tabs", async () => {
    const s = await setup();
    const seen: number[] = [];
    s.client.onAppEvent('chat', (d) => seen.push(d as number));
    const join = s.client.joinRoom('a');
    s.sock().sent[0]?.ack({
      ok: true,
      data: { room: 'a', rooms: ['a'], position: { epoch: 'e1', offset: 10 } },
    });
    await join;
    s.sock().fire('chat', 10, at('room:a', 10)); // published before the join
    s.sock().fire('chat', 11, at('room:a', 11));
    expect(seen).toEqual([11]);
    // The generic request path moves positions too.
    const leave = s.client.request('room:leave', { room: 'a' });
    s.sock().sent[1]?.ack({ ok: true, data: { room: 'a', rooms: [] } });
    await leave;
    s.sock().fire('room:joined', { room: 'b', rooms: ['b'], position: { epoch: 'e3', offset: 7 } });
    s.sock().drop();
    await s.up({ rooms: ['b'] });
    expect(s.sock().authSeen[1]).toMatchObject({ positions: { 'room:b': { epoch: 'e3', offset: 7 } } });
    s.sock().fire('room:left', { room: 'b', rooms: [] });
    s.sock().drop();
    await s.up({ rooms: [] });
    expect(s.sock().authSeen[2]).toEqual({ token: 'token', retryableConnectErrors: true, positions: {} });
  });

  it("reports a restore's gaps after the session is updated, resets the positions, and drops the replay below them", async () => {
    const s = await setup({ rooms: ['a', 'b'] });
    const seen: string[] = [];
    const order: string[] = [];
    s.client.onAppEvent('chat', (d) => seen.push(d as string));
    s.client.onSessionChange(() => order.push('session'));
    s.client.onGap((g) => order.push(`gap ${g.stream} ${s.client.session?.rooms.join(',')}`));
    s.sock().fire('chat', 'a1', at('room:a', 1));
    s.sock().fire('chat', 'b1', at('room:b', 1));
    s.sock().drop();
    await s.up({
      rooms: ['a', 'b'],
      gaps: ['a'],
      gapReasons: { 'room:a': 'trimmed' },
      positions: { 'room:a': { epoch: 'e1', offset: 90 }, 'room:b': { epoch: 'e1', offset: 3 } },
    });
    expect(order).toEqual(['session', 'gap room:a a,b']);
    expect(s.gaps.map((g) => [g.room, g.reason, g.after?.offset])).toEqual([['a', 'trimmed', 90]]);
    // The replay that follows: b's missed messages once, in order; a's below the reset are old.
    for (const [text, pos] of [
      ['b2', at('room:b', 2)],
      ['b3', at('room:b', 3)],
      ['a50', at('room:a', 50)],
      ['b2', at('room:b', 2)],
      ['a91', at('room:a', 91)],
    ] as const)
      s.sock().fire('chat', text, pos);
    expect(seen).toEqual(['a1', 'b1', 'b2', 'b3', 'a91']);
  });

  it('keeps calling the other handlers and gap listeners when one throws', async () => {
    const s = await setup({ rooms: ['a'] });
    const seen: number[] = [];
    s.client.onAppEvent('chat', () => {
      throw new Error('app bug');
    });
    s.client.onAppEvent('chat', (d) => seen.push(d as number));
    s.client.onGap(() => {
      throw new Error('app bug');
    });
    s.sock().fire('chat', 1, at('room:a', 1));
    s.sock().fire('chat', 3, at('room:a', 3));
    expect(seen).toEqual([1, 3]);
    expect(s.gaps).toHaveLength(1);
  });

  it('unsubscribes handlers and gap listeners, and ignores protocol events', async () => {
    const s = await setup({ rooms: ['a'] });
    const seen: number[] = [];
    const off = s.client.onAppEvent('chat', (d) => seen.push(d as number));
    const offGap = s.client.onGap(() => seen.push(-1));
    s.sock().fire('chat', 1, at('room:a', 1));
    off();
    offGap();
    s.sock().fire('chat', 3, at('room:a', 3));
    expect(seen).toEqual([1]);
    // A protocol event is never judged as a message (a position-like last argument moves nothing).
    s.sock().fire('queue:position', { eventId: 'e', position: 1, size: 1 }, at('room:a', 99));
    s.sock().drop();
    await s.up({ rooms: ['a'] });
    expect(s.sock().authSeen[1]).toMatchObject({ positions: { 'room:a': { offset: 3 } } });
  });
});
