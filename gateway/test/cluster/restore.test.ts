import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Ack, RestoredSession, RoomResult } from '@stayline/client-sdk/protocol';
import { connect, tokenFor } from '../support/gateway.ts';
import { startCluster, type TestCluster } from '../support/cluster.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

/** Drops the connection abruptly from the client side (no polite disconnect packet). */
function drop(socket: Socket): Promise<unknown> {
  if (!socket.connected) return Promise.resolve();
  const gone = nextEvent(socket, 'disconnect');
  socket.io.engine.close();
  return gone;
}

// The same tests on one redis-server and on a three-primary Redis Cluster (sharded adapter, cluster client).
describe.each(['single', 'cluster'] as const)('restorable sessions across nodes (Redis %s)', (redisKind) => {
  let cluster: TestCluster;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      redis: redisKind,
      // 1,000 rooms for one user: each join and room:joined carries the whole list, so allow the output.
      env: {
        REDIS_COMMAND_TIMEOUT_MS: '3000',
        MAX_ROOMS_PER_USER: '1000',
        MAX_OUTBOUND_BUFFER_BYTES: String(64 * 1024 * 1024),
      },
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await cluster.stop();
  });
  const node = (i: number) => {
    const n = cluster.nodes[i];
    if (!n) throw new Error(`no node ${i}`);
    return n;
  };
  const open = async (
    nodeIndex: number,
    sub: string,
  ): Promise<{ socket: Socket; session: RestoredSession }> => {
    const socket = connect(node(nodeIndex).url, tokenFor(cluster.env, sub));
    sockets.push(socket);
    const session = await nextEvent<RestoredSession>(socket, 'session:restored');
    return { socket, session };
  };
  const join = async (socket: Socket, room: string): Promise<RoomResult> => {
    const ack = await request<Ack<RoomResult>>(socket, 'room:join', { room });
    if (!ack.ok) throw new Error(`join failed: ${ack.error.code}`);
    return ack.data;
  };

  it('restores rooms on another node after a drop, and fans a broadcast from a third node out to it', async () => {
    const first = await open(0, 'carol');
    expect(first.session.recovered).toBe(false);
    await join(first.socket, 'lobby');
    await join(first.socket, 'match:42');
    await drop(first.socket);

    const second = await open(1, 'carol');
    expect(second.session).toMatchObject({ recovered: true, rooms: ['lobby', 'match:42'] });
    const message = nextEvent<{ n: number }>(second.socket, 'score');
    expect(
      (await cluster.publish(node(2), { room: 'match:42', event: 'score', data: { n: 7 } })).status,
    ).toBe(202);
    expect(await message).toEqual({ n: 7 });
  });

  it('shares one session between tabs on different nodes: a join or leave in one applies to all', async () => {
    const tabA = await open(0, 'dave');
    const tabB = await open(1, 'dave');
    expect(tabB.session.recovered).toBe(true);
    const joinedOnB = nextEvent<RoomResult>(tabB.socket, 'room:joined');
    await join(tabA.socket, 'news');
    expect(await joinedOnB).toEqual({ room: 'news', rooms: ['news'] });
    // The membership change travels through the adapter; wait until node 3's publish reaches tab B.
    await waitFor(
      async () => {
        const got = nextEvent(tabB.socket, 'headline', 300).then(
          () => true,
          () => false,
        );
        await cluster.publish(node(2), { room: 'news', event: 'headline', data: 1 });
        return got;
      },
      5_000,
      'tab B to receive room messages',
    );

    const leftOnB = nextEvent<RoomResult>(tabB.socket, 'room:left');
    const ack = await request<Ack<RoomResult>>(tabA.socket, 'room:leave', { room: 'news' });
    expect(ack).toEqual({ ok: true, data: { room: 'news', rooms: [] } });
    expect(await leftOnB).toEqual({ room: 'news', rooms: [] });
    let afterLeave = 0;
    tabB.socket.on('headline', () => afterLeave++);
    const marker = nextEvent(tabB.socket, 'marker');
    await cluster.publish(node(2), { room: 'news', event: 'headline', data: 2 });
    await cluster.publish(node(2), { userId: 'dave', event: 'marker', data: null });
    await marker;
    expect(afterLeave).toBe(0);
  });

  it('delivers a message to one user on every node and to nobody else, whatever rooms others join', async () => {
    const erin1 = await open(0, 'erin');
    const erin2 = await open(2, 'erin');
    const mallory = await open(1, 'mallory');
    // A client room can never be another user's private room: room names live in their own namespace.
    await join(mallory.socket, 'u:erin');
    let malloryGot = 0;
    mallory.socket.on('dm', () => malloryGot++);
    const got1 = nextEvent(erin1.socket, 'dm');
    const got2 = nextEvent(erin2.socket, 'dm');
    expect((await cluster.publish(node(1), { userId: 'erin', event: 'dm', data: 'hi' })).status).toBe(202);
    expect(await Promise.all([got1, got2])).toEqual(['hi', 'hi']);
    const marker = nextEvent(mallory.socket, 'marker');
    await cluster.publish(node(0), { userId: 'mallory', event: 'marker', data: null });
    await marker;
    expect(malloryGot).toBe(0);
  });

  it('never loses a concurrent update: 1,000 joins from two nodes for one user all land', async () => {
    // Each join answers with the user's whole room list, so 1,000 rooms make this the heaviest burst here.
    const a = await open(0, 'frank');
    const b = await open(1, 'frank');
    const join = (i: number) =>
      request<Ack<RoomResult>>(i % 2 === 0 ? a.socket : b.socket, 'room:join', { room: `r-${i}` }, 20_000);
    const acks = await Promise.all(Array.from({ length: 1000 }, (_, i) => join(i)));
    // A retryable refusal (the store slow under this burst) is retried, as the protocol tells clients to;
    // what must never happen is an acknowledged join that is missing afterwards.
    let pending = acks.flatMap((ack, i) =>
      ack.ok ? [] : [{ i, code: ack.error.code, retryable: ack.error.retryable }],
    );
    expect(pending.filter((p) => !p.retryable)).toEqual([]);
    for (let round = 0; round < 3 && pending.length > 0; round++) {
      const retried = await Promise.all(pending.map(async (p) => ({ ...p, ack: await join(p.i) })));
      pending = retried.filter((r) => !r.ack.ok);
    }
    expect(pending).toEqual([]);
    await drop(a.socket);
    await drop(b.socket);
    const again = await open(2, 'frank');
    expect(again.session.rooms).toHaveLength(1000);
    expect(new Set(again.session.rooms)).toEqual(new Set(Array.from({ length: 1000 }, (_, i) => `r-${i}`)));
  });

  it('refuses the publish API without the service token and with a forged protocol event', async () => {
    const noToken = await fetch(`${node(0).url}/v1/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'x', event: 'e' }),
    });
    expect(noToken.status).toBe(401);
    const forged = await cluster.publish(node(0), { userId: 'erin', event: 'session:restored', data: {} });
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });
});
