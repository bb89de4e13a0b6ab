/**
 * Load shedding that a stock socket.io-client survives with default options and no app code: over the
 * admission rate handshakes wait their turn; a refusal meant as "later" (queue full, store unavailable,
 * draining) closes the transport, which the stock client retries, instead of a connect_error, which ends it
 * for good. Clients that retry refusals themselves (the SDK) still get the code and retryAfterMs.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RestoredSession, WireError } from '@stayline/client-sdk/protocol';
import { loadConfig } from '../../src/config/index.ts';
import { buildGateway, type Gateway } from '../../src/gateway.ts';
import {
  baseEnv,
  connect,
  retriesRefusals,
  startGateway,
  tokenFor,
  type RunningGateway,
  type ConnectError,
} from '../support/gateway.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { nextEvent, waitFor } from '../support/wait.ts';

const sockets: Socket[] = [];
const gateways: { stop(): Promise<void> }[] = [];
let redis: RedisProcess | undefined;

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const g of gateways.splice(0)) await g.stop();
});
afterAll(async () => {
  await redis?.stop();
});

/** What a web page does with socket.io-client: default options, the token, nothing else. */
interface StockClient {
  socket: Socket;
  restored: Promise<RestoredSession>;
  connectErrors: string[];
  restoredAt?: number;
}

function stockClient(url: string, token: string): StockClient {
  const socket = io(url, { auth: { token }, forceNew: true });
  sockets.push(socket);
  const client: StockClient = {
    socket,
    connectErrors: [],
    restored: new Promise<RestoredSession>((resolve) => {
      socket.once('session:restored', (session: RestoredSession) => {
        client.restoredAt = Date.now();
        resolve(session);
      });
    }),
  };
  socket.on('connect_error', (err) => client.connectErrors.push(err.message));
  return client;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

async function start(env: Record<string, string | undefined>): Promise<RunningGateway> {
  const gw = await startGateway(env);
  gateways.push(gw);
  return gw;
}

describe('admission over HANDSHAKES_PER_SECOND', () => {
  it('restores 30 stock clients at HANDSHAKES_PER_SECOND=3 with no app code: over the rate they wait their turn', async () => {
    const env = baseEnv({ HANDSHAKES_PER_SECOND: '3' });
    const gw = await start(env);
    const started = Date.now();
    const clients = Array.from({ length: 30 }, (_, i) => stockClient(gw.url, tokenFor(env, `herd-${i}`)));
    await Promise.all(clients.map((c) => c.restored));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(clients.flatMap((c) => c.connectErrors)).toEqual([]);
    // The cap held: 30 at 3 per second (burst 1) take at least 29 / 3 s.
    const last = Math.max(...clients.map((c) => c.restoredAt ?? 0));
    expect(last - started).toBeGreaterThan(8_000);
    expect(await metric(gw.url, 'stayline_handshakes_shed_total')).toBe(0);
  });

  it('restores 30 stock clients by themselves when the queue is full and refusals close their transport', async () => {
    const env = baseEnv({ HANDSHAKES_PER_SECOND: '3', HANDSHAKE_QUEUE_MAX_WAIT_MS: '1000' });
    const gw = await start(env);
    const started = Date.now();
    const clients = Array.from({ length: 30 }, (_, i) => stockClient(gw.url, tokenFor(env, `full-${i}`)));
    await Promise.all(clients.map((c) => c.restored));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(clients.flatMap((c) => c.connectErrors)).toEqual([]);
    // Refusals did happen (the queue holds about 3), and went out as closed transports.
    expect(await metric(gw.url, 'stayline_handshakes_shed_total')).toBeGreaterThan(10);
  });

  it('gives a client that retries refusals itself RATE_LIMITED with retryAfterMs as a connect_error', async () => {
    const env = baseEnv({ HANDSHAKES_PER_SECOND: '1', HANDSHAKE_QUEUE_MAX_WAIT_MS: '0' });
    const gw = await start(env);
    const errors = await Promise.all(
      Array.from({ length: 3 }, (_, i) => {
        const token = tokenFor(env, `sdk-${i}`);
        const socket = connect(gw.url, token, retriesRefusals(token));
        sockets.push(socket);
        return new Promise<WireError | undefined>((resolve) => {
          socket.once('session:restored', () => resolve(undefined));
          socket.once('connect_error', (err: ConnectError) => resolve(err.data));
        });
      }),
    );
    const refused = errors.filter((e) => e !== undefined);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const e of refused) {
      expect(e).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
      expect(e?.retryAfterMs).toBeGreaterThan(0);
    }
  });

  it('limits handshakes per client IP, reading the IP from TRUST_PROXY’s header when set', async () => {
    const direct = baseEnv({ HANDSHAKES_PER_IP_PER_SECOND: '2' });
    const gw = await start(direct);
    const outcomes = async (
      url: string,
      env: Record<string, string | undefined>,
      ip: (i: number) => string,
    ): Promise<string[]> =>
      Promise.all(
        Array.from({ length: 6 }, (_, i) => {
          const token = tokenFor(env, `ip-${i}`);
          const socket = connect(url, token, {
            ...retriesRefusals(token),
            extraHeaders: { 'x-forwarded-for': `6.6.6.6, ${ip(i)}` },
          });
          sockets.push(socket);
          return new Promise<string>((resolve) => {
            socket.once('session:restored', () => resolve('ok'));
            socket.once('connect_error', (err: ConnectError) => resolve(err.data?.code ?? err.message));
          });
        }),
      );
    // Without TRUST_PROXY the header is ignored: all six come from 127.0.0.1, over its 2 per second.
    const fromPeer = await outcomes(gw.url, direct, (i) => `10.0.0.${i}`);
    expect(fromPeer.filter((o) => o === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(3);
    const proxied = baseEnv({ HANDSHAKES_PER_IP_PER_SECOND: '2', TRUST_PROXY: 'X-Forwarded-For' });
    const behindProxy = await start(proxied);
    // With it, six different client addresses (the right-most entry; the forged left one is ignored).
    expect(await outcomes(behindProxy.url, proxied, (i) => `10.0.0.${i}`)).toEqual(Array(6).fill('ok'));
  });

  it('logs refused handshakes with code, IP and origin, sampled, never the token', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const env = baseEnv({ LOG_LEVEL: 'info' });
    const gateway: Gateway = buildGateway(loadConfig(env), { logger: pino({ level: 'info' }, stream) });
    const { port } = await gateway.listen();
    gateways.push({ stop: () => gateway.close() });
    const badToken = `${tokenFor(env, 'forger')}x`;
    const refusals = Array.from({ length: 40 }, () => {
      const socket = connect(`http://127.0.0.1:${port}`, badToken, {
        extraHeaders: { origin: `http://127.0.0.1:${port}` },
      });
      sockets.push(socket);
      return nextEvent<ConnectError>(socket, 'connect_error');
    });
    expect((await Promise.all(refusals)).every((e) => e.data?.code === 'AUTH_INVALID')).toBe(true);
    const refusedLines = lines.filter((l) => l.includes('"handshake refused"'));
    // Sampled: 40 refusals, at most 10 lines per code and window.
    expect(refusedLines.length).toBeGreaterThanOrEqual(1);
    expect(refusedLines.length).toBeLessThanOrEqual(10);
    expect(refusedLines[0]).toContain('"code":"AUTH_INVALID"');
    expect(refusedLines[0]).toContain('"ip":"127.0.0.1"');
    expect(refusedLines[0]).toContain(`"origin":"http://127.0.0.1:${port}"`);
    expect(lines.join('')).not.toContain(badToken.split('.')[2] ?? badToken);
  });
});

describe('a store outage during handshakes', () => {
  it('restores every stock client by itself once a stalled Redis (SIGSTOP) answers again', async () => {
    redis = await startRedis();
    const env = baseEnv({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' });
    const gw = await start(env);
    redis.pause();
    const clients = Array.from({ length: 20 }, (_, i) => stockClient(gw.url, tokenFor(env, `stall-${i}`)));
    try {
      // Every client has been refused at least once while Redis hung (STORE_UNAVAILABLE, transport closed).
      await waitFor(
        async () => (await metric(gw.url, 'stayline_handshakes_shed_total')) >= 20,
        20_000,
        'every client refused once while Redis is stalled',
      );
    } finally {
      redis.resume();
    }
    const sessions = await Promise.all(clients.map((c) => c.restored));
    expect(sessions).toHaveLength(20);
    expect(clients.flatMap((c) => c.connectErrors)).toEqual([]);
  });
});
