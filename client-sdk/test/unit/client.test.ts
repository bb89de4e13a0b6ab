import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StaylineClient, type TokenReason } from '../../src/client.ts';
import { SdkError } from '../../src/errors.ts';
import type { SessionChange } from '../../src/session.ts';
import { FakeSocket, ManualTimers, flushPromises } from '../support/fake-socket.ts';

const restored = (over: Record<string, unknown> = {}) => ({
  recovered: false,
  rooms: [],
  expiresAt: 2_000_000,
  queues: [],
  holds: [],
  ...over,
});

function setup(
  options: { maxAttempts?: number; callTimeoutMs?: number; fetch?: typeof globalThis.fetch | null } = {},
) {
  const timers = new ManualTimers();
  const reasons: TokenReason[] = [];
  let tokenSeq = 0;
  let socket: FakeSocket | undefined;
  let ids = 0;
  const client = createClient({
    url: 'http://gateway.test',
    getToken: ({ reason }) => {
      reasons.push(reason);
      return Promise.resolve(`token-${++tokenSeq}`);
    },
    timers,
    now: timers.now,
    random: () => 0.5,
    newRequestId: () => `req-${++ids}`,
    socketFactory: ((_url: string, opts: Record<string, unknown>) =>
      (socket = new FakeSocket(opts))) as never,
    ...options,
  });
  const sock = (): FakeSocket => {
    if (socket === undefined) throw new Error('no socket');
    return socket;
  };
  return { client, timers, reasons, sock };
}

/** Runs the connect effect: token fetched, socket.connect() called, server accepts. */
async function connectNow(s: ReturnType<typeof setup>): Promise<void> {
  await flushPromises();
  s.sock().accept();
  s.sock().fire('session:restored', restored());
}

const clients: StaylineClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe('client shell (fake socket, manual timers)', () => {
  it("turns socket.io-client's own reconnection off and asks for a token before every attempt", async () => {
    const s = setup();
    clients.push(s.client);
    expect(s.sock().options).toMatchObject({
      reconnection: false,
      autoConnect: false,
      transports: ['websocket'],
    });
    expect(s.client.state.status).toBe('connecting');
    await connectNow(s);
    expect(s.client.state.status).toBe('connected');
    expect(s.sock().authSeen).toEqual([{ token: 'token-1', retryableConnectErrors: true, positions: {} }]);

    s.sock().drop('transport close');
    expect(s.client.state).toMatchObject({ status: 'reconnecting', lastError: 'CLIENT_NETWORK' });
    s.timers.advance(249);
    await flushPromises();
    expect(s.sock().connectCalls).toBe(1);
    s.timers.advance(1);
    await flushPromises();
    expect(s.sock().connectCalls).toBe(2);
    expect(s.reasons).toEqual(['connect', 'reconnect']);
    expect(s.sock().authSeen).toEqual([
      { token: 'token-1', retryableConnectErrors: true, positions: {} },
      { token: 'token-2', retryableConnectErrors: true, positions: {} },
    ]);
  });

  it('holds a call made while reconnecting and sends it once, when the connection is back', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    s.sock().drop();
    const joined = s.client.joinRoom('lobby');
    s.timers.advance(250);
    await flushPromises();
    expect(s.sock().sent).toHaveLength(0);
    s.sock().accept();
    expect(s.sock().sent.map((r) => [r.event, r.payload])).toEqual([
      ['room:join', { room: 'lobby', requestId: 'req-1' }],
    ]);
    s.sock().sent[0]?.ack({ ok: true, data: { room: 'lobby', rooms: ['lobby'] } });
    await expect(joined).resolves.toEqual({ room: 'lobby', rooms: ['lobby'] });
  });

  it('sends a call again with the same request id when the connection dropped before the ack', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    const place = s.client.joinQueue('ev1');
    const first = s.sock().sent[0];
    s.sock().drop();
    s.timers.advance(250);
    await flushPromises();
    s.sock().accept();
    const second = s.sock().sent[1];
    expect(second?.payload).toEqual(first?.payload);
    expect(second?.payload['requestId']).toBe('req-1');
    // A late answer on the dead connection is ignored; the retried one settles the call.
    first?.ack({ ok: false, error: { code: 'INTERNAL', message: 'late', retryable: true } });
    second?.ack({ ok: true, data: { eventId: 'ev1', position: 3, size: 9 } });
    await expect(place).resolves.toEqual({ eventId: 'ev1', position: 3, size: 9 });
    expect(s.client.session?.queues['ev1']).toEqual({ eventId: 'ev1', position: 3, size: 9 });
  });

  it('fails a held call with CLIENT_TIMEOUT when the connection does not come back in time, unsent', async () => {
    const s = setup({ callTimeoutMs: 2000 });
    clients.push(s.client);
    await connectNow(s);
    s.sock().drop();
    const call = s.client.seatMap('ev1');
    const outcome = call.catch((err: unknown) => err);
    s.timers.advance(2000);
    const err = await outcome;
    expect(err).toBeInstanceOf(SdkError);
    expect((err as SdkError).code).toBe('CLIENT_TIMEOUT');
    s.sock().accept();
    expect(s.sock().sent).toHaveLength(0);
  });

  it('rejects with the wire code (and seatIds) of a failed ack', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    const hold = s.client.holdSeats('ev1', ['A1', 'A2']).catch((err: unknown) => err);
    s.sock().sent[0]?.ack({
      ok: false,
      error: { code: 'SEAT_UNAVAILABLE', message: 'taken', retryable: false, seatIds: ['A2'] },
    });
    const err = (await hold) as SdkError;
    expect(err).toBeInstanceOf(SdkError);
    expect([err.code, err.retryable, err.seatIds]).toEqual(['SEAT_UNAVAILABLE', false, ['A2']]);
  });

  it('stops as unauthorized on AUTH_INVALID, failing held and new calls with CLIENT_OFFLINE', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    s.sock().drop();
    const held = s.client.joinRoom('a').catch((err: unknown) => err);
    s.timers.advance(250);
    await flushPromises();
    s.sock().refuse({ code: 'AUTH_INVALID', message: 'bad', retryable: false });
    expect(s.client.state).toMatchObject({ status: 'unauthorized', lastError: 'AUTH_INVALID' });
    expect(((await held) as SdkError).code).toBe('CLIENT_OFFLINE');
    await expect(s.client.joinRoom('b')).rejects.toMatchObject({ code: 'CLIENT_OFFLINE' });
    s.timers.advance(60_000);
    await flushPromises();
    expect(s.sock().connectCalls).toBe(2);
  });

  it('reconnects at once with a fresh token after auth:expired and "io server disconnect"', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    s.sock().fire('auth:expired', { code: 'AUTH_EXPIRED', message: 'expired', retryable: true });
    s.sock().drop('io server disconnect');
    expect(s.client.state).toMatchObject({ status: 'reconnecting', lastError: 'AUTH_EXPIRED' });
    s.timers.advance(0);
    await flushPromises();
    expect(s.sock().connectCalls).toBe(2);
    expect(s.sock().authSeen.at(-1)).toEqual({
      token: 'token-2',
      retryableConnectErrors: true,
      positions: {},
    });
  });

  it.each([
    ['SESSION_KICKED', 'io server disconnect', 'disconnected'],
    ['SESSION_KICKED', 'transport close', 'disconnected'],
    ['AUTH_REVOKED', 'io server disconnect', 'unauthorized'],
    ['AUTH_REVOKED', 'transport close', 'unauthorized'],
  ] as const)(
    'stops after session:ended %s (then %s) as %s, failing held calls, and never reconnects by itself',
    async (code, reason, status) => {
      const s = setup();
      clients.push(s.client);
      await connectNow(s);
      const seen: string[] = [];
      s.client.on('session:ended', (payload) => seen.push(payload.code));
      s.sock().fire('session:ended', { code, message: 'ended', retryable: false });
      s.sock().drop(reason);
      expect(seen).toEqual([code]);
      expect(s.client.state).toMatchObject({ status, lastError: code });
      await expect(s.client.joinRoom('a')).rejects.toMatchObject({ code: 'CLIENT_OFFLINE' });
      s.timers.advance(60_000);
      await flushPromises();
      expect(s.sock().connectCalls).toBe(1);
      // The app decides: connect() starts again with a freshly fetched token.
      s.client.connect();
      await flushPromises();
      expect(s.sock().connectCalls).toBe(2);
      expect(s.sock().authSeen.at(-1)).toEqual({
        token: 'token-2',
        retryableConnectErrors: true,
        positions: {},
      });
    },
  );

  it('stops as disconnected with RATE_FLOODED after a flood cut-off, instead of CLIENT_NETWORK', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    s.sock().fire('protocol:error', {
      code: 'RATE_FLOODED',
      message: 'flooding',
      retryable: false,
      event: 'room:join',
    });
    s.sock().drop('io server disconnect');
    expect(s.client.state).toMatchObject({ status: 'disconnected', lastError: 'RATE_FLOODED' });
    s.timers.advance(60_000);
    await flushPromises();
    expect(s.sock().connectCalls).toBe(1);
  });

  it('stays down after an unexplained "io server disconnect" (the server meant it)', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    s.sock().drop('io server disconnect');
    expect(s.client.state.status).toBe('disconnected');
    s.timers.advance(60_000);
    await flushPromises();
    expect(s.sock().connectCalls).toBe(1);
  });

  it('waits server:draining reconnectAfterMs (plus jitter) before coming back', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    s.sock().fire('server:draining', { reconnectAfterMs: 800 });
    s.sock().drop('transport close');
    expect(s.client.state).toMatchObject({ status: 'reconnecting', lastError: 'SERVER_DRAINING' });
    s.timers.advance(1049);
    await flushPromises();
    expect(s.sock().connectCalls).toBe(1);
    s.timers.advance(1);
    await flushPromises();
    expect(s.sock().connectCalls).toBe(2);
  });

  it('refreshes the token on auth:expiring with auth:refresh, without reconnecting', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    s.sock().fire('auth:expiring', { expiresAt: 1_060_000 });
    await flushPromises();
    expect(s.reasons).toEqual(['connect', 'refresh']);
    expect(s.sock().sent.map((r) => [r.event, r.payload['token']])).toEqual([['auth:refresh', 'token-2']]);
    s.sock().sent[0]?.ack({ ok: true, data: { expiresAt: 2_000_000 } });
    expect(s.sock().connectCalls).toBe(1);
    expect(s.client.state.status).toBe('connected');
  });

  it('does not send auth:refresh again on the next connection (it authenticates with its own token)', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    s.sock().fire('auth:expiring', { expiresAt: 1_060_000 });
    await flushPromises();
    expect(s.sock().sent.map((r) => r.event)).toEqual(['auth:refresh']);
    s.sock().drop();
    s.timers.advance(250);
    await flushPromises();
    s.sock().accept();
    expect(s.sock().sent.map((r) => r.event)).toEqual(['auth:refresh']);
    expect(s.sock().authSeen.at(-1)).toEqual({
      token: 'token-3',
      retryableConnectErrors: true,
      positions: {},
    });
  });

  it('reports what a restore brought back and what it lost, against the previous session', async () => {
    const s = setup();
    clients.push(s.client);
    const changes: SessionChange[] = [];
    s.client.onSessionChange((c) => changes.push(c));
    await flushPromises();
    s.sock().accept();
    s.sock().fire(
      'session:restored',
      restored({
        rooms: ['lobby'],
        queues: [{ eventId: 'ev1', position: 4, size: 10 }],
        holds: [{ eventId: 'ev2', seatIds: ['A1', 'A2'], expiresAt: 1, fence: 7 }],
      }),
    );
    s.sock().drop();
    s.timers.advance(250);
    await flushPromises();
    s.sock().accept();
    s.sock().fire(
      'session:restored',
      restored({
        recovered: true,
        rooms: ['lobby'],
        queues: [{ eventId: 'ev1', position: 2, size: 10 }],
        holds: [{ eventId: 'ev2', seatIds: ['A1'], expiresAt: 1, fence: 7 }],
      }),
    );
    expect(changes.map((c) => [c.cause, c.lostAnything])).toEqual([
      ['session:restored', false],
      ['session:restored', true],
    ]);
    expect(changes[1]?.lost).toEqual({ rooms: [], queues: [], seats: [{ eventId: 'ev2', seatIds: ['A2'] }] });
    expect(changes[1]?.restored?.queues).toEqual([{ eventId: 'ev1', position: 2, size: 10 }]);
    expect(s.client.session?.queues['ev1']?.position).toBe(2);
  });

  it('close() fails held calls with CLIENT_CLOSED and stops every timer', async () => {
    const s = setup();
    await connectNow(s);
    s.sock().drop();
    const held = s.client.leaveQueue('ev1').catch((err: unknown) => err);
    s.client.close();
    expect(((await held) as SdkError).code).toBe('CLIENT_CLOSED');
    expect(s.client.state).toMatchObject({ status: 'disconnected', lastError: 'CLIENT_CLOSED' });
    expect(s.timers.pending).toBe(0);
    await expect(s.client.joinQueue('ev1')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('backs off when getToken fails, with CLIENT_TOKEN as the last error', async () => {
    let fail = true;
    const timers = new ManualTimers();
    let socket: FakeSocket | undefined;
    const client = createClient({
      url: 'http://gateway.test',
      getToken: () => (fail ? Promise.reject(new Error('auth server down')) : 'ok-token'),
      timers,
      now: timers.now,
      random: () => 0.5,
      socketFactory: ((_u: string, o: Record<string, unknown>) => (socket = new FakeSocket(o))) as never,
    });
    clients.push(client);
    await flushPromises();
    expect(client.state).toMatchObject({ status: 'connecting', lastError: 'CLIENT_TOKEN', attempt: 1 });
    expect(socket?.connectCalls).toBe(0);
    fail = false;
    timers.advance(500);
    await flushPromises();
    expect(socket?.authSeen).toEqual([{ token: 'ok-token', retryableConnectErrors: true, positions: {} }]);
  });
});

describe('a refused origin (the browser hides the websocket 403)', () => {
  const probing = (status: number | 'unreachable') => {
    const urls: string[] = [];
    const fetch = ((url: string) => {
      urls.push(url);
      if (status === 'unreachable') return Promise.reject(new TypeError('Failed to fetch'));
      return Promise.resolve(
        new Response(
          JSON.stringify({ code: 'ORIGIN_FORBIDDEN', message: 'add it to CORS_ORIGINS', retryable: false }),
          {
            status,
          },
        ),
      );
    }) as typeof globalThis.fetch;
    return { fetch, urls };
  };

  it('probes the polling URL once after a failed websocket and stops as "forbidden" on HTTP 403', async () => {
    const probe = probing(403);
    const s = setup({ fetch: probe.fetch });
    clients.push(s.client);
    await flushPromises();
    s.sock().refuse(); // no data: what a browser reports for a websocket answered 403
    await flushPromises();
    expect(probe.urls).toEqual(['http://gateway.test/socket.io/?EIO=4&transport=polling&sid=origin-probe']);
    expect(s.client.state).toMatchObject({
      status: 'forbidden',
      lastError: 'ORIGIN_FORBIDDEN',
      retryAt: undefined,
    });
    // Never retried: no timer is pending, and calls fail at once.
    s.timers.advance(60_000);
    await flushPromises();
    expect(s.sock().connectCalls).toBe(1);
    await expect(s.client.joinRoom('lobby')).rejects.toMatchObject({ code: 'CLIENT_OFFLINE' });
    expect(new SdkError('ORIGIN_FORBIDDEN').message).toMatch(/CORS_ORIGINS/);
    // The app can try again (after the operator fixed CORS_ORIGINS).
    s.client.connect();
    expect(s.client.state.status).toBe('connecting');
  });

  it('keeps retrying as CLIENT_NETWORK when the probe is not a 403 (server down, other status)', async () => {
    for (const status of ['unreachable', 400] as const) {
      const probe = probing(status);
      const s = setup({ fetch: probe.fetch });
      clients.push(s.client);
      await flushPromises();
      s.sock().refuse();
      await flushPromises();
      expect(s.client.state).toMatchObject({ status: 'connecting', lastError: 'CLIENT_NETWORK', attempt: 1 });
      expect(s.client.state.retryAt).toBeDefined();
    }
  });

  it('does not probe outside a browser unless given a fetch', async () => {
    const s = setup();
    clients.push(s.client);
    await flushPromises();
    s.sock().refuse();
    expect(s.client.state).toMatchObject({ status: 'connecting', lastError: 'CLIENT_NETWORK' });
  });
});

describe('idle and reconnect()', () => {
  it('is idle with autoConnect false, fails calls with CLIENT_OFFLINE until connect()', async () => {
    const s = setupIdle();
    expect(s.client.state.status).toBe('idle');
    await expect(s.client.joinRoom('lobby')).rejects.toMatchObject({ code: 'CLIENT_OFFLINE' });
    s.client.connect();
    expect(s.client.state.status).toBe('connecting');
  });

  it('replaces a live connection at once, keeping a call in flight and sending it again with the same id', async () => {
    const s = setup();
    clients.push(s.client);
    await connectNow(s);
    const joined = s.client.joinRoom('lobby');
    expect(s.sock().sent.map((e) => e.event)).toEqual(['room:join']);
    s.client.reconnect();
    expect(s.client.state.status).toBe('reconnecting');
    await flushPromises();
    expect(s.sock().connectCalls).toBe(2);
    expect(s.reasons).toEqual(['connect', 'reconnect']);
    s.sock().accept();
    const sent = s.sock().sent.filter((e) => e.event === 'room:join');
    expect(sent).toHaveLength(2);
    expect(sent[1]?.payload['requestId']).toBe(sent[0]?.payload['requestId']);
    sent[1]?.ack({ ok: true, data: { room: 'lobby', rooms: ['lobby'] } });
    await expect(joined).resolves.toMatchObject({ rooms: ['lobby'] });
  });
});

function setupIdle() {
  const client = createClient({
    url: 'http://gateway.test',
    getToken: () => 'token',
    autoConnect: false,
    socketFactory: ((_url: string, opts: Record<string, unknown>) => new FakeSocket(opts)) as never,
  });
  clients.push(client);
  return { client };
}

describe('transports', () => {
  it('with polling, tries every transport before failing an attempt and sends cookies (stickiness); not with websocket only', () => {
    const made: Record<string, unknown>[] = [];
    const make = (transports?: ('websocket' | 'polling')[]) =>
      createClient({
        url: 'http://gateway.test',
        getToken: () => 'token',
        autoConnect: false,
        ...(transports === undefined ? {} : { transports }),
        socketFactory: ((_url: string, opts: Record<string, unknown>) => {
          made.push(opts);
          return new FakeSocket(opts);
        }) as never,
      });
    clients.push(make(), make(['websocket', 'polling']), make(['polling', 'websocket']));
    expect(made[0]).toMatchObject({ transports: ['websocket'] });
    expect(made[0]).not.toHaveProperty('withCredentials');
    expect(made[0]).not.toHaveProperty('tryAllTransports');
    for (const opts of made.slice(1))
      expect(opts).toMatchObject({ tryAllTransports: true, withCredentials: true });
    expect(made[1]?.['transports']).toEqual(['websocket', 'polling']);
  });
});
