/**
 * What a websocket connect costs the node in socket writes, counted by the kernel as the TCP data segments
 * each connection sent (`ss -ti`: data_segs_out; every write here is far below one segment): the 101
 * response and engine.io's open packet leave in one write, the CONNECT and `session:restored` in another
 * (transport/engine/ws-engine.ts). On loopback every write also costs the writer the receiver's TCP path,
 * and these writes were the largest cost of a connect (docs/benchmarks.md §11): four of them before, two
 * now. Counted per connection, not as the process's write system calls (/proc/<pid>/io `syscw`, as this
 * test first did): those also count writes that are not the connection's (libuv's eventfd wake-ups among
 * them), and a fresh-clone CI run read 6.39 per connect that way, more than the 4 of a connect with no
 * batching at all.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanClient } from '../../../loadtest/src/lean-client.ts';
import { FairWebSocketServer, sendTogether } from '../../src/transport/engine/ws-engine.ts';
import { service } from '../support/claims.ts';
import { baseEnv, startGatewayProcess, tokenFor, type GatewayProcess } from '../support/gateway.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';

const CLIENTS = 150;

/** The TCP data segments sent so far on each established connection that `filter` selects (ss syntax). */
const dataSegmentsOut = (filter: string): number[] =>
  execFileSync('ss', ['-tinHO', 'state', 'established', filter], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => Number(/data_segs_out:(\d+)/.exec(line)?.[1] ?? 0));
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

describe.runIf(process.platform === 'linux')('the writes of a websocket connect', () => {
  let gw: GatewayProcess;
  const env = baseEnv({ HANDSHAKES_PER_SECOND: '100000' });
  beforeAll(async () => {
    gw = await startGatewayProcess(env);
  });
  afterAll(async () => {
    await gw.kill('SIGKILL');
  });

  const connectAll = async (prefix: string): Promise<LeanClient[]> => {
    const clients: LeanClient[] = [];
    // One at a time: each connect's writes are its own, nothing is batched with another client's.
    for (let i = 0; i < CLIENTS; i++) {
      const client = new LeanClient({ url: gw.url, token: tokenFor(env, `${prefix}-${i}`) });
      const outcome = await client.connect(10_000);
      expect(outcome.error).toBeUndefined();
      expect(outcome.session).toBeDefined();
      clients.push(client);
    }
    return clients;
  };

  /** Waits until the node has no connection left (the warm-up's closes are written before counting). */
  const settled = async (): Promise<void> => {
    const open = async (): Promise<number> => {
      // Not kept alive: the node's connections are then only the websocket clients counted below.
      const text = await fetch(`${gw.url}/metrics`, { headers: { connection: 'close' } }).then((r) =>
        r.text(),
      );
      return Number(/^stayline_connections(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
    };
    await expect.poll(open, { timeout: 10_000, interval: 50 }).toBe(0);
  };

  it('sends the upgrade with the open packet, and CONNECT with session:restored: two writes', async () => {
    // A first round warms the node up (its first connects also write the lazily loaded modules' logs).
    for (const c of await connectAll('warm')) c.close();
    await settled();
    const clients = await connectAll('counted');
    const segments = dataSegmentsOut(`( sport = :${gw.port} )`);
    for (const c of clients) c.close();
    expect(segments).toHaveLength(CLIENTS);
    // Two per connect (an Engine.IO ping, 25 s after a connect, would add one). Before the writes were
    // sent together, this was four.
    const perConnect = sum(segments) / CLIENTS;
    expect(perConnect).toBeGreaterThanOrEqual(2);
    expect(perConnect).toBeLessThan(2.5);
  });
});

describe.runIf(process.platform === 'linux')('the writes of a restore with queues and holds (Redis)', () => {
  const USERS = 60;
  const SERVICE_TOKEN = 'connect-writes-service-token-0123456789';
  let redis: RedisProcess;
  let gw: GatewayProcess;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    redis = await startRedis();
    env = baseEnv({ HANDSHAKES_PER_SECOND: '100000', REDIS_URL: redis.url, SERVICE_TOKEN });
    gw = await startGatewayProcess(env);
    const seats = Array.from({ length: USERS }, (_, i) => `S${i}`);
    await service(gw.url, SERVICE_TOKEN).defineEvent('writes', { seats });
  });
  afterAll(async () => {
    await gw.kill('SIGKILL');
    await redis.stop();
  });

  /** The node's segments to Redis and to its websocket clients so far (closed connections drop out). */
  const segmentsNow = (): { redis: number; websocket: number } => ({
    redis: sum(dataSegmentsOut(`( dport = :${new URL(redis.url).port} )`)),
    websocket: sum(dataSegmentsOut(`( sport = :${gw.port} )`)),
  });
  /**
   * Connects each user in turn, alone; returns the node's segments per connect, to Redis and on the new
   * websockets, and the clients.
   */
  const restoreAll = async (
    prefix: string,
  ): Promise<{ redis: number; websocket: number; clients: LeanClient[]; holds: number[] }> => {
    const clients: LeanClient[] = [];
    const holds: number[] = [];
    const before = segmentsNow();
    for (let i = 0; i < USERS; i++) {
      const client = new LeanClient({ url: gw.url, token: tokenFor(env, `${prefix}-${i}`) });
      const outcome = await client.connect(10_000);
      expect(outcome.error).toBeUndefined();
      clients.push(client);
      holds.push((outcome.session as { holds?: unknown[] } | undefined)?.holds?.length ?? -1);
    }
    const after = segmentsNow();
    return {
      redis: (after.redis - before.redis) / USERS,
      websocket: (after.websocket - before.websocket) / USERS,
      clients,
      holds,
    };
  };
  const closeAll = async (clients: LeanClient[]): Promise<void> => {
    for (const c of clients) c.close();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the detaches are written (5 ms batches)
  };

  it('reads the claims before CONNECT: they cost one Redis write, and no websocket write of their own', async () => {
    // Users with a held seat each (their claims index names the event), and users with nothing.
    const setup = await restoreAll('held');
    await Promise.all(
      setup.clients.map((c, i) => c.request('seat:hold', { eventId: 'writes', seatIds: [`S${i}`] })),
    );
    await closeAll(setup.clients);
    await closeAll((await restoreAll('plain')).clients);

    const held = await restoreAll('held');
    const plain = await restoreAll('plain');
    // Each restored with its hold (the claims were read), the others with none.
    expect(new Set(held.holds)).toEqual(new Set([1]));
    expect(new Set(plain.holds)).toEqual(new Set([0]));
    await closeAll([...held.clients, ...plain.clients]);
    // A restore with claims makes one more Redis call (the event's user state) than one without. Were
    // `session:restored` to wait for it after CONNECT had gone, it would cost a websocket write of its own.
    expect(held.redis - plain.redis).toBeGreaterThan(0.5);
    expect(held.redis - plain.redis).toBeLessThan(1.5);
    expect(held.websocket).toBeLessThan(2.5);
    expect(plain.websocket).toBeLessThan(2.5);
  });
});

describe('sendTogether on a connection closed politely in the same turn', () => {
  it('still sends what it held, then the close completes (no half-closed connection)', async () => {
    const http = createServer();
    const server = new Server(http, { wsEngine: FairWebSocketServer, transports: ['websocket'] });
    // As the gateway's handshake does: held before next(), so CONNECT and what follows wait for the turn's end.
    server.use((socket, next) => {
      sendTogether(socket.conn);
      next();
    });
    server.on('connection', (socket) => {
      socket.emit('held', 'hello');
      // A polite close waits for the buffer to drain: the held packets must still be flushed.
      socket.conn.close();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const client = connectClient(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      reconnection: false,
    });
    try {
      const got = new Promise<string>((resolve) => client.on('held', resolve));
      const closed = new Promise<string>((resolve) => client.on('disconnect', resolve));
      expect(await got).toBe('hello');
      expect(await closed).toBe('transport close');
      await expect.poll(() => server.engine.clientsCount, { timeout: 5000 }).toBe(0);
    } finally {
      client.close();
      await server.close();
    }
  }, 15_000);
});
