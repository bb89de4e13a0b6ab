/**
 * Two real gateway processes on a real Sentinel topology (primary, replica, three sentinels): the primary
 * is SIGKILLed under live clients, and the gateways carry on through the failover with no restart. State
 * written before the kill is made deterministic with WAIT (asynchronous replication could otherwise lose
 * the last writes: docs/deploy.md says so).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Ack, RestoredSession, RoomResult, SeatHold } from '@stayline/client-sdk/protocol';
import { service } from '../support/claims.ts';
import { SERVICE_TOKEN } from '../support/cluster.ts';
import { baseEnv, connect, startGatewayProcess, tokenFor, type GatewayProcess } from '../support/gateway.ts';
import { startSentinelTopology, type SentinelTopology } from '../support/redis.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const COMMAND_TIMEOUT_MS = 500;

describe('a Sentinel failover under two gateways', () => {
  let topology: SentinelTopology;
  let env: Record<string, string | undefined>;
  const nodes: GatewayProcess[] = [];
  const sockets: Socket[] = [];
  beforeAll(async () => {
    topology = await startSentinelTopology();
    env = baseEnv({
      REDIS_SENTINELS: topology.sentinels.join(','),
      REDIS_SENTINEL_NAME: topology.name,
      SERVICE_TOKEN,
      REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      NODE_HEARTBEAT_SECONDS: '1',
      NODE_DEAD_AFTER_SECONDS: '5',
    });
    nodes.push(
      ...(await Promise.all(
        ['sentinel-1', 'sentinel-2'].map((id) => startGatewayProcess({ ...env, NODE_ID: id })),
      )),
    );
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    await topology.stop();
  });
  const node = (i: number): GatewayProcess => {
    const n = nodes[i];
    if (!n) throw new Error(`no node ${i}`);
    return n;
  };
  const open = async (i: number, sub: string): Promise<{ socket: Socket; session: RestoredSession }> => {
    const socket = connect(node(i).url, tokenFor(env, sub));
    sockets.push(socket);
    const session = await nextEvent<RestoredSession>(socket, 'session:restored', 10_000);
    return { socket, session };
  };
  /** True on 200; otherwise throws with the body, so a timeout names the failing check. */
  const ready = async (i: number): Promise<boolean> => {
    const res = await fetch(`${node(i).url}/readyz`);
    if (res.status === 200) return true;
    throw new Error(`node ${i} /readyz ${res.status} ${await res.text()}`);
  };

  it('follows the promotion: fast STORE_UNAVAILABLE in the window, then handshakes, restores, holds and broadcasts on the new primary', async () => {
    const pids = nodes.map((n) => n.pid);
    for (const i of [0, 1]) await waitFor(() => ready(i), 10_000, `/readyz 200 on node ${i}`);
    expect(
      (await service(node(0).url, SERVICE_TOKEN).defineEvent('show', { seats: ['S1', 'S2'] })).status,
    ).toBe(201);
    const alice = await open(0, 'alice');
    for (const room of ['lobby', 'match:1'])
      expect((await request<Ack<RoomResult>>(alice.socket, 'room:join', { room })).ok).toBe(true);
    const held = await request<Ack<SeatHold>>(alice.socket, 'seat:hold', {
      eventId: 'show',
      seatIds: ['S1'],
    });
    if (!held.ok) throw new Error(held.error.code);
    const bob = await open(1, 'bob');
    expect((await request<Ack<RoomResult>>(bob.socket, 'room:join', { room: 'lobby' })).ok).toBe(true);

    // Everything above is on the replica before the kill: our own write comes after it in the replication
    // stream, and WAIT returns once the replica has acknowledged it.
    const direct = new Redis(topology.primary.url);
    await direct.set('sentinel-test:barrier', '1');
    expect(await direct.call('WAIT', '1', '5000')).toBe(1);
    direct.disconnect();

    // Requests on a live socket all along: each answered fast, refused only with STORE_UNAVAILABLE.
    const answers: { at: number; ms: number; code: string }[] = [];
    const killedAt = Date.now();
    await topology.primary.kill();
    await waitFor(
      async () => {
        const sent = Date.now();
        const ack = await request<Ack<RoomResult>>(bob.socket, 'room:join', { room: 'probe' }, 5_000);
        answers.push({ at: sent, ms: Date.now() - sent, code: ack.ok ? 'ok' : ack.error.code });
        if (!ack.ok) await new Promise((resolve) => setTimeout(resolve, 100));
        return ack.ok;
      },
      30_000,
      'a request to succeed after the failover',
    );
    const refused = answers.filter((a) => a.code !== 'ok');
    const windowSeconds = ((answers.at(-1)?.at ?? killedAt) - killedAt) / 1000;
    console.log(
      `sentinel failover: first success ${windowSeconds.toFixed(1)} s after SIGKILL; ${refused.length} requests refused ` +
        `STORE_UNAVAILABLE over ${(((refused.at(-1)?.at ?? killedAt) - (refused[0]?.at ?? killedAt)) / 1000).toFixed(1)} s; ` +
        `slowest answer ${Math.max(...answers.map((a) => a.ms))} ms`,
    );
    expect(new Set(refused.map((a) => a.code))).toEqual(
      new Set(refused.length > 0 ? ['STORE_UNAVAILABLE'] : []),
    );
    // Fail fast, never hang: an answer within the command timeout plus scheduling slack.
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(COMMAND_TIMEOUT_MS + 1_500);
    await topology.waitForPrimary(topology.replica.port);
    // Each node's connections find the new primary on their own (within a reconnect delay of each other):
    // a load balancer sends handshakes to a node once its /readyz says so.
    for (const i of [0, 1]) await waitFor(() => ready(i), 10_000, `/readyz 200 again on node ${i}`);
    console.log(
      `sentinel failover: both nodes ready ${((Date.now() - killedAt) / 1000).toFixed(1)} s after SIGKILL`,
    );

    // A new handshake, then a reconnecting client restored with what it had before the kill.
    const carol = await open(0, 'carol');
    expect(carol.session.recovered).toBe(false);
    const gone = nextEvent(alice.socket, 'disconnect');
    alice.socket.io.engine.close();
    await gone;
    const back = await open(1, 'alice');
    expect(back.session).toMatchObject({ recovered: true, rooms: ['lobby', 'match:1'] });
    expect(back.session.holds).toEqual([expect.objectContaining({ eventId: 'show', seatIds: ['S1'] })]);

    // Holds on the new primary: its script cache started empty, so EVALSHA met NOSCRIPT and fell back to EVAL.
    const taken = await request<Ack<SeatHold>>(carol.socket, 'seat:hold', {
      eventId: 'show',
      seatIds: ['S1'],
    });
    expect(taken.ok ? 'held' : taken.error.code).toBe('SEAT_UNAVAILABLE');
    const second = await request<Ack<SeatHold>>(carol.socket, 'seat:hold', {
      eventId: 'show',
      seatIds: ['S2'],
    });
    expect(second.ok).toBe(true);
    const promoted = new Redis(topology.replica.url);
    const stats = await promoted.info('commandstats');
    promoted.disconnect();
    expect(Number(/cmdstat_eval:calls=(\d+)/.exec(stats)?.[1] ?? 0)).toBeGreaterThan(0);

    // The adapter's pub/sub followed too: a broadcast from node 0 reaches bob on node 1.
    await waitFor(
      async () => {
        const got = nextEvent(bob.socket, 'news', 300).then(
          () => true,
          () => false,
        );
        await fetch(`${node(0).url}/v1/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
          body: JSON.stringify({ room: 'lobby', event: 'news', data: 1 }),
        });
        return got;
      },
      10_000,
      'a broadcast across nodes after the failover',
    );
    // No restart: the same processes, still running.
    expect(nodes.map((n) => n.pid)).toEqual(pids);
    for (const n of nodes) expect(n.child.exitCode).toBeNull();
  });
});
