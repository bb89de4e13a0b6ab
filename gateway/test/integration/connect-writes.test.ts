/**
 * What a websocket connect costs the node in write system calls, counted by the kernel (/proc/<pid>/io
 * `syscw` of a real gateway process): the 101 response and engine.io's open packet leave in one write, the
 * CONNECT and `session:restored` in another (transport/engine/ws-engine.ts). On loopback every write also
 * costs the writer the receiver's TCP path, and these writes were the largest cost of a connect
 * (docs/benchmarks.md §11): four of them before, two now. The embedded store, so that no Redis write counts.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanClient } from '../../../loadtest/src/lean-client.ts';
import { FairWebSocketServer, sendTogether } from '../../src/transport/engine/ws-engine.ts';
import { baseEnv, startGatewayProcess, tokenFor, type GatewayProcess } from '../support/gateway.ts';

const CLIENTS = 150;

const writeCalls = (pid: number): number =>
  Number(/^syscw: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);

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
      const text = await fetch(`${gw.url}/metrics`).then((r) => r.text());
      return Number(/^stayline_connections(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
    };
    await expect.poll(open, { timeout: 10_000, interval: 50 }).toBe(0);
  };

  it('sends the upgrade with the open packet, and CONNECT with session:restored: two writes', async () => {
    // A first round warms the node up (its first connects also write the lazily loaded modules' logs).
    for (const c of await connectAll('warm')) c.close();
    await settled();
    const before = writeCalls(gw.pid);
    const clients = await connectAll('counted');
    const perConnect = (writeCalls(gw.pid) - before) / CLIENTS;
    for (const c of clients) c.close();
    // Two per connect; the node's own timers (heartbeat, housekeeping) may add a few over the run. Before
    // the writes were sent together, this was four.
    expect(perConnect).toBeGreaterThanOrEqual(2);
    expect(perConnect).toBeLessThan(2.5);
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
