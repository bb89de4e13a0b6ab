/**
 * The same queue and seat scripts on a real three-primary Redis Cluster under three gateway nodes: no
 * script crosses slots (events and users land on different shards), and the race, the positions and the
 * restore come out exactly as on one Redis; seat-map followers get there through the change log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type {
  Ack,
  QueuePlace,
  RestoredSession,
  SeatHold,
  SeatMapResult,
} from '@stayline/client-sdk/protocol';
import { connect, tokenFor } from '../support/gateway.ts';
import { SERVICE_TOKEN, startCluster, type TestCluster } from '../support/cluster.ts';
import { RecordingClient, SeatWatcher, service } from '../support/claims.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';
import { Redis } from 'ioredis';

describe('queue and seats on a Redis Cluster', () => {
  let cluster: TestCluster;
  const lean: RecordingClient[] = [];
  const sockets: Socket[] = [];
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      redis: 'cluster',
      env: {
        REDIS_COMMAND_TIMEOUT_MS: '3000',
        CLAIM_SWEEP_INTERVAL_MS: '200',
        HANDSHAKES_PER_SECOND: '5000',
      },
    });
  });
  afterAll(async () => {
    for (const c of lean) c.close();
    for (const s of sockets) s.close();
    await cluster.stop();
  });
  const node = (i: number) => cluster.nodes[i % cluster.nodes.length]!;
  const openLean = async (count: number, prefix: string) => {
    const clients = Array.from(
      { length: count },
      (_, i) => new RecordingClient(node(i).url, tokenFor(cluster.env, `${prefix}${i}`)),
    );
    lean.push(...clients);
    await Promise.all(clients.map((c) => c.connect()));
    return clients;
  };

  it('races 100 clients for 10 seats: 10 holds, 90 SEAT_UNAVAILABLE; 200 joins get 1..200', async () => {
    const api = service(node(0).url, SERVICE_TOKEN);
    const seats = Array.from({ length: 10 }, (_, i) => `C${i}`);
    expect((await api.defineEvent('crace', { seats, maxSeatsPerUser: 1 })).status).toBe(201);
    // Watchers on two nodes follow the seat map through the cluster's change log (a stream in the event's slot).
    const watchers: SeatWatcher[] = [];
    for (let i = 1; i <= 2; i++) {
      const socket = connect(node(i).url, tokenFor(cluster.env, `cwatch${i}`));
      sockets.push(socket);
      await nextEvent(socket, 'session:restored');
      watchers.push(await new SeatWatcher(socket, 'crace').read());
    }
    const racers = await openLean(100, 'cr');
    const acks = await Promise.all(
      racers.map((c, i) => c.request<SeatHold>('seat:hold', { eventId: 'crace', seatIds: [seats[i % 10]] })),
    );
    expect(acks.filter((a) => a.ok)).toHaveLength(10);
    expect(acks.filter((a) => !a.ok).map((a) => (a.ok ? '' : a.error.code))).toEqual(
      Array(90).fill('SEAT_UNAVAILABLE'),
    );
    const truth = await racers[0]!.request<SeatMapResult>('seat:map', { eventId: 'crace' });
    if (!truth.ok) throw new Error('seat:map failed');
    expect(Object.values(truth.data.seats)).toEqual(Array(10).fill('held'));
    await waitFor(() => watchers.every((w) => w.map.version >= truth.data.version), 5000, 'watchers updated');
    for (const w of watchers) {
      expect(w.map).toEqual({ version: truth.data.version, seats: truth.data.seats });
      expect(w.gaps).toBe(0);
    }

    await api.defineEvent('cqueue', { seats: [] });
    const joiners = await openLean(200, 'cq');
    const places = await Promise.all(
      joiners.map((c) => c.request<QueuePlace>('queue:join', { eventId: 'cqueue' })),
    );
    expect(places.map((p) => (p.ok ? p.data.position : -1)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
  });

  it('restores queues and holds on another node', async () => {
    const api = service(node(1).url, SERVICE_TOKEN);
    await api.defineEvent('crest', { seats: ['R1', 'R2'] });
    const first = connect(node(0).url, tokenFor(cluster.env, 'cluster-restorer'));
    sockets.push(first);
    await nextEvent(first, 'session:restored');
    const place = await request<Ack<QueuePlace>>(first, 'queue:join', { eventId: 'crest' });
    const hold = await request<Ack<SeatHold>>(first, 'seat:hold', { eventId: 'crest', seatIds: ['R2'] });
    if (!place.ok || !hold.ok) throw new Error('setup failed');
    const gone = nextEvent(first, 'disconnect');
    first.io.engine.close();
    await gone;
    const second = connect(node(2).url, tokenFor(cluster.env, 'cluster-restorer'));
    sockets.push(second);
    const session = await nextEvent<RestoredSession>(second, 'session:restored');
    expect(session.queues).toEqual([place.data]);
    expect(session.holds).toEqual([hold.data]);
  });

  it('deletes an event with every key of it on the shard that holds it, its request records too', async () => {
    const api = service(node(0).url, SERVICE_TOKEN);
    await api.defineEvent('cdel', { seats: ['D1', 'D2'] });
    const holder = connect(node(1).url, tokenFor(cluster.env, 'cluster-deleter'));
    sockets.push(holder);
    await nextEvent(holder, 'session:restored');
    const hold = await request<Ack<SeatHold>>(holder, 'seat:hold', {
      eventId: 'cdel',
      seatIds: ['D1'],
      requestId: 'del-r1',
    });
    expect(hold.ok).toBe(true);
    expect((await api.deleteEvent('cdel')).status).toBe(409);
    expect((await api.deleteEvent('cdel', '?force=true')).status).toBe(200);
    const left: string[] = [];
    for (const seed of cluster.redisCluster!.seeds) {
      const [host, port] = seed.split(':');
      const shard = new Redis({ host, port: Number(port), lazyConnect: true });
      await shard.connect();
      let cursor = '0';
      do {
        const [next, keys] = await shard.scan(cursor, 'MATCH', '*{event:cdel}*', 'COUNT', 1000);
        cursor = next;
        left.push(...keys);
      } while (cursor !== '0');
      const global = await shard.scan('0', 'MATCH', '*{events}*', 'COUNT', 1000);
      for (const key of global[1]) {
        const type = await shard.type(key);
        const members = type === 'zset' ? await shard.zrange(key, 0, -1) : await shard.hkeys(key);
        expect(members).not.toContain('cdel');
      }
      shard.disconnect();
    }
    expect(left).toEqual([]);
    const read = await request<Ack<SeatMapResult>>(holder, 'seat:map', { eventId: 'cdel' });
    expect(read).toMatchObject({ ok: false, error: { code: 'EVENT_UNKNOWN' } });
  });
});
