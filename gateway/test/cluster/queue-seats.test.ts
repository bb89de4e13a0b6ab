/**
 * Waiting queues and seat holds on three real gateway processes and one real Redis: races decided by the
 * event-side scripts, exact positions, request ids, fences, restore on another node, the sweeper, admission
 * and the throttled position pushes.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type {
  Ack,
  QueueAdmittedPayload,
  QueuePlace,
  RestoredSession,
  SeatExpiredPayload,
  SeatHold,
  SeatMapResult,
  SeatUpdatePayload,
} from '@stayline/client-sdk/protocol';
import { connect, tokenFor } from '../support/gateway.ts';
import { SERVICE_TOKEN, startCluster, type TestCluster } from '../support/cluster.ts';
import { RecordingClient, SeatWatcher, service } from '../support/claims.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const SEATS10 = Array.from({ length: 10 }, (_, i) => `S${i + 1}`);

describe('queue and seats across three nodes', () => {
  let cluster: TestCluster;
  const sockets: Socket[] = [];
  const lean: RecordingClient[] = [];
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      env: {
        REDIS_COMMAND_TIMEOUT_MS: '3000',
        CLAIM_SWEEP_INTERVAL_MS: '200',
        QUEUE_PUSH_INTERVAL_MS: '500',
        HANDSHAKES_PER_SECOND: '5000',
      },
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    for (const c of lean) c.close();
    await cluster.stop();
  });
  const node = (i: number) => cluster.nodes[i % cluster.nodes.length]!;
  const api = (i = 0) => service(node(i).url, SERVICE_TOKEN);
  const open = async (
    nodeIndex: number,
    sub: string,
  ): Promise<{ socket: Socket; session: RestoredSession }> => {
    const socket = connect(node(nodeIndex).url, tokenFor(cluster.env, sub));
    sockets.push(socket);
    const session = await nextEvent<RestoredSession>(socket, 'session:restored');
    return { socket, session };
  };
  const openLean = async (count: number, prefix: string): Promise<RecordingClient[]> => {
    const clients = Array.from(
      { length: count },
      (_, i) => new RecordingClient(node(i).url, tokenFor(cluster.env, `${prefix}${i}`)),
    );
    lean.push(...clients);
    // In waves, so the handshakes do not all land in one event-loop turn on a 2-core machine.
    for (let i = 0; i < clients.length; i += 100)
      await Promise.all(clients.slice(i, i + 100).map((c) => c.connect()));
    return clients;
  };
  const drop = (socket: Socket): Promise<unknown> => {
    const gone = nextEvent(socket, 'disconnect');
    socket.io.engine.close();
    return gone;
  };

  it('200 clients on three nodes racing for 10 seats in the same tick: exactly 10 holds, 190 SEAT_UNAVAILABLE', async () => {
    expect((await api().defineEvent('race', { seats: SEATS10, maxSeatsPerUser: 1 })).status).toBe(201);
    const clients = await openLean(200, 'racer');
    const acks = await Promise.all(
      clients.map((c, i) =>
        c.request<SeatHold>('seat:hold', { eventId: 'race', seatIds: [SEATS10[i % 10]] }),
      ),
    );
    const won = acks.filter((a): a is { ok: true; data: SeatHold } => a.ok);
    expect(won).toHaveLength(10);
    expect(new Set(won.flatMap((a) => a.data.seatIds))).toEqual(new Set(SEATS10));
    const lost = acks.filter((a) => !a.ok);
    expect(lost.map((a) => (a.ok ? '' : a.error.code))).toEqual(Array(190).fill('SEAT_UNAVAILABLE'));
    for (const a of lost) if (!a.ok) expect(a.error.seatIds).toHaveLength(1);
    const map = await clients[0]!.request<SeatMapResult>('seat:map', { eventId: 'race' });
    expect(map.ok && Object.values(map.data.seats).every((s) => s === 'held')).toBe(true);
    for (const c of clients) c.close();
  });

  it('the naive check-then-set on the same Redis, same race, hands seats to several holders', async () => {
    // What seat-hold.lua replaces: read the holder, then write it, in two steps from 200 connections.
    const conns = Array.from({ length: 20 }, () => new Redis(cluster.redis!.url));
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const r = conns[i % conns.length]!;
        const seat = SEATS10[i % 10]!;
        if ((await r.hget('naive:holder', seat)) !== null) return false;
        await r.hset('naive:holder', seat, `racer${i}`);
        return true;
      }),
    );
    for (const r of conns) r.disconnect();
    expect(results.filter(Boolean).length).toBeGreaterThan(10);
  });

  it('1,000 users join one queue at once across three nodes: positions 1..1000, each exactly once', async () => {
    await api().defineEvent('big', { seats: [] });
    const clients = await openLean(1000, 'q');
    const acks = await Promise.all(
      clients.map((c) => c.request<QueuePlace>('queue:join', { eventId: 'big' }, 60_000)),
    );
    const positions = acks.map((a) => (a.ok ? a.data.position : -1)).sort((a, b) => a - b);
    expect(positions).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    // Joining again is idempotent: the same place.
    const again = await clients[123]!.request<QueuePlace>('queue:join', { eventId: 'big' });
    expect(again.ok && again.data.position).toBe(acks[123]!.ok ? acks[123]!.data.position : NaN);
    for (const c of clients) c.close();
  });

  it('a retried request with the same request id gets the same result and never acts twice', async () => {
    await api().defineEvent('retry', { seats: ['R1', 'R2'] });
    const a = await open(0, 'retrier');
    const first = await request<Ack<SeatHold>>(a.socket, 'seat:hold', {
      eventId: 'retry',
      seatIds: ['R1'],
      requestId: 'h-1',
    });
    expect(first.ok).toBe(true);
    // The seat is released in between: a second hold would act; a replay must not.
    await request(a.socket, 'seat:release', { eventId: 'retry', seatIds: ['R1'] });
    const b = await open(1, 'retrier');
    const replay = await request<Ack<SeatHold>>(b.socket, 'seat:hold', {
      eventId: 'retry',
      seatIds: ['R1'],
      requestId: 'h-1',
    });
    expect(replay).toEqual(first);
    const map = await request<Ack<SeatMapResult>>(b.socket, 'seat:map', { eventId: 'retry' });
    expect(map.ok && map.data.seats['R1']).toBe('free');

    // Two identical requests racing on two nodes: one acts, both get its answer.
    await api().defineEvent('retryq', { seats: [] });
    const [x, y] = await Promise.all([
      request<Ack<QueuePlace>>(a.socket, 'queue:join', { eventId: 'retryq', requestId: 'j-1' }),
      request<Ack<QueuePlace>>(b.socket, 'queue:join', { eventId: 'retryq', requestId: 'j-1' }),
    ]);
    expect(x).toEqual(y);

    // A dropped ack: the request goes out, the connection dies before the answer, the retry elsewhere.
    const c = await open(2, 'dropper');
    c.socket.emit('queue:join', { eventId: 'retryq', requestId: 'j-2' }, () => undefined);
    await drop(c.socket);
    const d = await open(0, 'dropper');
    const retried = await request<Ack<QueuePlace>>(d.socket, 'queue:join', {
      eventId: 'retryq',
      requestId: 'j-2',
    });
    expect(retried).toEqual({ ok: true, data: { eventId: 'retryq', position: 2, size: 2 } });
    // Same id, different request: refused, not confused.
    const misuse = await request<Ack<unknown>>(d.socket, 'queue:leave', {
      eventId: 'retryq',
      requestId: 'j-2',
    });
    expect(misuse.ok ? '' : misuse.error.code).toBe('BAD_REQUEST');
  });

  it('refuses the first holder`s old fence after the hold expired and another user took the seat', async () => {
    await api().defineEvent('fence', { seats: ['F1'], holdSeconds: 1 });
    const one = await open(0, 'fence-1');
    const held = await request<Ack<SeatHold>>(one.socket, 'seat:hold', { eventId: 'fence', seatIds: ['F1'] });
    if (!held.ok) throw new Error(held.error.code);
    await nextEvent<SeatExpiredPayload>(one.socket, 'seat:expired', 5000);
    const two = await open(1, 'fence-2');
    const taken = await request<Ack<SeatHold>>(two.socket, 'seat:hold', {
      eventId: 'fence',
      seatIds: ['F1'],
    });
    if (!taken.ok) throw new Error(taken.error.code);
    expect(taken.data.fence).toBeGreaterThan(held.data.fence);
    const stale = await api(2).confirm('fence', {
      userId: 'fence-1',
      seatIds: ['F1'],
      fence: held.data.fence,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.ok ? '' : stale.body.error.code).toBe('FENCE_STALE');
    const sold = await api(2).confirm('fence', {
      userId: 'fence-2',
      seatIds: ['F1'],
      fence: taken.data.fence,
    });
    expect(sold).toMatchObject({ status: 200, body: { ok: true, data: { sold: ['F1'] } } });
    const map = await request<Ack<SeatMapResult>>(two.socket, 'seat:map', { eventId: 'fence' });
    expect(map.ok && map.data.seats['F1']).toBe('sold');
  });

  it('restores the queue position and the holds exactly after a drop and a reconnect to another node', async () => {
    await api().defineEvent('restore', { seats: ['P1', 'P2', 'P3'] });
    const ahead = await open(0, 'ahead');
    await request(ahead.socket, 'queue:join', { eventId: 'restore' });
    const me = await open(0, 'restorer');
    const place = await request<Ack<QueuePlace>>(me.socket, 'queue:join', { eventId: 'restore' });
    const hold = await request<Ack<SeatHold>>(me.socket, 'seat:hold', {
      eventId: 'restore',
      seatIds: ['P2', 'P1'],
    });
    if (!place.ok || !hold.ok) throw new Error('setup failed');
    expect(place.data).toEqual({ eventId: 'restore', position: 2, size: 2 });
    await drop(me.socket);
    const back = await open(1, 'restorer');
    expect(back.session.queues).toEqual([{ eventId: 'restore', position: 2, size: 2 }]);
    expect(back.session.holds).toEqual([hold.data]);
    // Computed now, not a stale copy: the user ahead leaves, the next restore says 1.
    await request(ahead.socket, 'queue:leave', { eventId: 'restore' });
    await drop(back.socket);
    const again = await open(2, 'restorer');
    expect(again.session.queues).toEqual([{ eventId: 'restore', position: 1, size: 1 }]);
    // The restored socket is in the event's room again: it sees another user's hold.
    const update = nextEvent<SeatUpdatePayload>(again.socket, 'seat:update', 5000);
    const other = await open(0, 'other-viewer');
    await request(other.socket, 'seat:hold', { eventId: 'restore', seatIds: ['P3'] });
    expect(await update).toMatchObject({ eventId: 'restore', seats: { P3: 'held' } });
  });

  it('frees expired holds with no client connected and tells the owner who is connected', async () => {
    await api().defineEvent('sweep', { seats: ['W1', 'W2', 'W3'], holdSeconds: 1 });
    const watcherSocket = (await open(2, 'sweep-watcher')).socket;
    const watcher = await new SeatWatcher(watcherSocket, 'sweep').read();
    const away = await open(0, 'sweep-away');
    await request(away.socket, 'seat:hold', { eventId: 'sweep', seatIds: ['W1'] });
    away.socket.close(); // gone: nobody of that user is connected
    const owner = await open(1, 'sweep-owner');
    await request(owner.socket, 'seat:hold', { eventId: 'sweep', seatIds: ['W2', 'W3'] });
    const expired = await nextEvent<SeatExpiredPayload>(owner.socket, 'seat:expired', 5000);
    expect(expired).toEqual({ eventId: 'sweep', seatIds: ['W2', 'W3'] });
    const map = await request<Ack<SeatMapResult>>(watcherSocket, 'seat:map', { eventId: 'sweep' });
    expect(map.ok && map.data.seats).toEqual({ W1: 'free', W2: 'free', W3: 'free' });
    if (!map.ok) throw new Error('seat:map failed');
    // The watcher's live map got there through seat:update alone (the read above never lowers it).
    await waitFor(() => watcher.map.version >= map.data.version, 5000, 'seat:update up to the map');
    expect(watcher.map.seats).toEqual({ W1: 'free', W2: 'free', W3: 'free' });
    expect(watcher.gaps).toBe(0);
  });

  it('followers on every node keep the exact seat map while 90 users race over 30 seats, one update per interval at most', async () => {
    const seats = Array.from({ length: 30 }, (_, i) => `L${i + 1}`);
    await api().defineEvent('live', { seats, maxSeatsPerUser: 3 });
    const watchers: SeatWatcher[] = [];
    for (let i = 0; i < 6; i++)
      watchers.push(await new SeatWatcher((await open(i, `live-watch-${i}`)).socket, 'live').read());
    const racers = await openLean(90, 'live-racer');
    const started = performance.now();
    let changes = 0;
    for (let round = 0; round < 4; round++) {
      const acks = await Promise.all(
        racers.map((c, i) =>
          c.request<SeatHold>('seat:hold', {
            eventId: 'live',
            seatIds: [seats[(i * 7 + round * 3) % 30], seats[(i * 11 + round) % 30]],
          }),
        ),
      );
      // Which racer wins a contested seat depends on timing: later rounds may find every seat taken.
      const winners = acks.flatMap((a, i) => (a.ok ? [{ client: racers[i]!, hold: a.data }] : []));
      changes += winners.length;
      // Every winner lets one seat go again, in the same burst as the next round's holds.
      const releases = await Promise.all(
        winners.map((w) =>
          w.client.request('seat:release', { eventId: 'live', seatIds: [w.hold.seatIds[0]] }),
        ),
      );
      changes += releases.filter((a) => a.ok).length;
    }
    // Round 0 alone: 30 free seats, 90 racers asking for 2 each: at least 15 holds and 15 releases.
    expect(changes).toBeGreaterThanOrEqual(30);
    const truthClient = (await openLean(1, 'live-truth'))[0]!;
    const truth = await truthClient.request<SeatMapResult>('seat:map', { eventId: 'live' });
    if (!truth.ok) throw new Error('seat:map failed');
    expect(Object.values(truth.data.seats).filter((st) => st === 'held').length).toBeGreaterThan(0);
    await waitFor(
      () => watchers.every((w) => w.map.version >= truth.data.version),
      5000,
      'every watcher up to the true version',
    );
    const elapsed = performance.now() - started;
    for (const w of watchers) {
      expect(w.map).toEqual({ version: truth.data.version, seats: truth.data.seats });
      expect(w.gaps).toBe(0);
      // Coalesced: one update per interval (250 ms) at most, far fewer than the changes made.
      expect(w.updates).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 2);
      expect(w.updates).toBeLessThan(changes);
    }
  });

  it('admits in queue order, by service call and by rate; holds need the admission token', async () => {
    await api().defineEvent('adm', { seats: ['D1', 'D2', 'D3'], requiresAdmission: true });
    const users = [];
    for (let i = 0; i < 4; i++) {
      const u = await open(i, `adm-${i}`);
      await request(u.socket, 'queue:join', { eventId: 'adm' });
      users.push(u);
    }
    const admittedEvents = users
      .slice(0, 2)
      .map((u) => nextEvent<QueueAdmittedPayload>(u.socket, 'queue:admitted'));
    const admit = await api(1).admit('adm', 2);
    expect(admit.body).toEqual({ ok: true, data: { eventId: 'adm', admitted: ['adm-0', 'adm-1'] } });
    const [t0] = await Promise.all(admittedEvents);
    const noToken = await request<Ack<SeatHold>>(users[0]!.socket, 'seat:hold', {
      eventId: 'adm',
      seatIds: ['D1'],
    });
    expect(noToken.ok ? '' : noToken.error.code).toBe('ADMISSION_REQUIRED');
    const notYours = await request<Ack<SeatHold>>(users[2]!.socket, 'seat:hold', {
      eventId: 'adm',
      seatIds: ['D1'],
      admissionToken: t0!.admissionToken,
    });
    expect(notYours.ok ? '' : notYours.error.code).toBe('ADMISSION_REQUIRED');
    const withToken = await request<Ack<SeatHold>>(users[0]!.socket, 'seat:hold', {
      eventId: 'adm',
      seatIds: ['D1'],
      admissionToken: t0!.admissionToken,
    });
    expect(withToken.ok).toBe(true);
    // The third in line is now first.
    const place = await request<Ack<QueuePlace>>(users[2]!.socket, 'queue:join', { eventId: 'adm' });
    expect(place.ok && place.data).toEqual({ eventId: 'adm', position: 1, size: 2 });

    // By rate: 5/s, ten users on three nodes. The script admits in join order (exact order: the contract
    // suite); here, where several admissions of one round reach sockets on different nodes in any order, a
    // later joiner is never told more than a delivery skew before an earlier one, and the pace is the rate.
    await api().defineEvent('rate', { seats: [], admissionRatePerSecond: 5 });
    const told = new Map<number, number>();
    const rated = [];
    for (let i = 0; i < 10; i++) {
      const u = await open(i, `rate-${String(i).padStart(2, '0')}`);
      u.socket.on('queue:admitted', () => told.set(i, Date.now()));
      rated.push(u);
    }
    for (const u of rated) await request(u.socket, 'queue:join', { eventId: 'rate' });
    await waitFor(() => told.size === 10, 15_000, 'ten admissions');
    const SKEW_MS = 100;
    for (let i = 0; i < 10; i++)
      for (let j = i + 1; j < 10; j++) expect(told.get(j)! + SKEW_MS).toBeGreaterThanOrEqual(told.get(i)!);
    // At most one second's worth (5) at once, then 5/s: the last five take at least ~0.8 s more.
    const times = [...told.values()].sort((a, b) => a - b);
    expect(times[9]! - times[0]!).toBeGreaterThanOrEqual(800);
  });

  it('throttles queue:position: at most one push per user per interval however fast the line moves', async () => {
    await api().defineEvent('throttle', { seats: [] });
    const front = await openLean(40, 'front');
    for (const c of front) await c.request('queue:join', { eventId: 'throttle' });
    const watcher = (await openLean(1, 'watcher'))[0]!;
    await watcher.request('queue:join', { eventId: 'throttle' });
    const started = Date.now();
    // The line moves every 50 ms: 40 changes in ~2 s.
    for (let i = 0; i < 40; i++) {
      await api(i).admit('throttle', 1);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(
      () => watcher.received<QueuePlace>('queue:position').at(-1)?.position === 1,
      5000,
      'position 1 pushed',
    );
    const elapsed = Date.now() - started;
    const pushes = watcher.received<QueuePlace>('queue:position');
    expect(pushes.length).toBeLessThanOrEqual(Math.ceil(elapsed / 500) + 1);
    expect(pushes.length).toBeLessThan(40);
    // Positions only go down, and each push is a change.
    for (let i = 1; i < pushes.length; i++) expect(pushes[i]!.position).toBeLessThan(pushes[i - 1]!.position);
    for (const c of front) c.close();
  });

  it('answers bad input with a typed code and changes nothing', async () => {
    await api().defineEvent('bad', { seats: ['B1', 'B2'] });
    const u = await open(0, 'bad-input');
    const cases: [string, unknown, string][] = [
      ['seat:hold', { eventId: 'bad', seatIds: 'B1' }, 'BAD_REQUEST'],
      ['seat:hold', { eventId: 'bad', seatIds: [] }, 'BAD_REQUEST'],
      ['seat:hold', { eventId: 'bad', seatIds: ['B1'], extra: 1 }, 'BAD_REQUEST'],
      ['seat:hold', { eventId: 'bad', seatIds: ['B1', 'nope'] }, 'SEAT_UNKNOWN'],
      ['seat:hold', { eventId: 'nope', seatIds: ['B1'] }, 'EVENT_UNKNOWN'],
      ['seat:hold', { eventId: 'bad', seatIds: ['B1'], requestId: '' }, 'BAD_REQUEST'],
      ['queue:join', { eventId: 'bad id!' }, 'BAD_REQUEST'],
      ['queue:join', { eventId: 'nope' }, 'EVENT_UNKNOWN'],
      ['seat:release', { eventId: 'bad', seatIds: ['nope'] }, 'SEAT_UNKNOWN'],
      ['seat:map', {}, 'BAD_REQUEST'],
    ];
    for (const [event, payload, code] of cases) {
      const ack = await request<Ack<unknown>>(u.socket, event, payload);
      expect([event, ack.ok ? 'ok' : ack.error.code]).toEqual([event, code]);
    }
    const map = await request<Ack<SeatMapResult>>(u.socket, 'seat:map', { eventId: 'bad' });
    expect(map.ok && map.data.seats).toEqual({ B1: 'free', B2: 'free' });
    const restored = await open(1, 'bad-input');
    expect(restored.session).toMatchObject({ queues: [], holds: [] });
    const badDefs = await Promise.all([
      api().defineEvent('bad', { seats: 'x' }),
      api().defineEvent('bad', { seats: ['B1'], maxSeatsPerUser: 0 }),
      api().defineEvent('bad', '{"seats": [}'),
      api().admit('bad', 0),
      api().confirm('bad', { userId: 'x', seatIds: ['B1'] }),
    ]);
    expect(badDefs.map((r) => [r.status, r.body.ok ? 'ok' : r.body.error.code])).toEqual(
      Array(5).fill([400, 'BAD_REQUEST']),
    );
    const unauth = await service(node(0).url, 'wrong-token-0123456789').defineEvent('bad', { seats: [] });
    expect(unauth.status).toBe(401);
    const hold = await request<Ack<SeatHold>>(u.socket, 'seat:hold', {
      eventId: 'bad',
      seatIds: ['B1', 'B2'],
    });
    expect(hold.ok && hold.data.seatIds).toEqual(['B1', 'B2']);
  });
});
