import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'socket.io-client';
import type { RestoredSession } from '@stayline/client-sdk/protocol';
import {
  baseEnv,
  connect,
  retriesRefusals,
  startGateway,
  tokenFor,
  type RunningGateway,
  type ConnectError,
} from '../support/gateway.ts';
import { nextEvent } from '../support/wait.ts';

/** Resolves with the session on success, or the connect_error on refusal. */
function outcome(socket: Socket): Promise<{ session?: RestoredSession; error?: ConnectError }> {
  return new Promise((resolve) => {
    socket.once('session:restored', (session: RestoredSession) => resolve({ session }));
    socket.once('connect_error', (error: ConnectError) => resolve({ error }));
  });
}

const sockets: Socket[] = [];
const open = (...args: Parameters<typeof connect>): Socket => {
  const s = connect(...args);
  sockets.push(s);
  return s;
};

describe('handshake', () => {
  const env = baseEnv({ MAX_CONNECTIONS_PER_USER: '2' });
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway(env);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await gw.stop();
  });

  it('accepts a valid token over websocket and sends a fresh session:restored', async () => {
    const result = await outcome(open(gw.url, tokenFor(env, 'ws-user')));
    expect(result.error).toBeUndefined();
    expect(result.session).toMatchObject({ recovered: false, rooms: [] });
    expect(result.session?.expiresAt).toBeGreaterThan(Date.now());
  });

  it('accepts a valid token over HTTP long-polling', async () => {
    const socket = open(gw.url, tokenFor(env, 'polling-user'), { transports: ['polling'] });
    const result = await outcome(socket);
    expect(result.session).toMatchObject({ recovered: false, rooms: [] });
    expect(socket.io.engine.transport.name).toBe('polling');
  });

  it('accepts a token from an Authorization: Bearer header', async () => {
    const socket = open(gw.url, undefined, {
      extraHeaders: { Authorization: `Bearer ${tokenFor(env, 'header-user')}` },
    });
    expect((await outcome(socket)).session?.recovered).toBe(false);
  });

  it('refuses a missing token with AUTH_MISSING', async () => {
    const { error } = await outcome(open(gw.url, undefined));
    expect(error?.message).toBe('AUTH_MISSING');
    expect(error?.data).toMatchObject({ code: 'AUTH_MISSING', retryable: false });
  });

  it('never reads a token from the query string', async () => {
    const { error } = await outcome(
      open(gw.url, undefined, { query: { token: tokenFor(env, 'query-user') } }),
    );
    expect(error?.data?.code).toBe('AUTH_MISSING');
  });

  it('refuses a token signed with another secret with AUTH_INVALID', async () => {
    const forged = tokenFor({ JWT_SECRET: 'another-secret-that-is-long-enough-000' }, 'mallory');
    const { error } = await outcome(open(gw.url, forged));
    expect(error?.data).toMatchObject({ code: 'AUTH_INVALID', retryable: false });
  });

  it('refuses an expired token with AUTH_EXPIRED (retryable)', async () => {
    const { error } = await outcome(open(gw.url, tokenFor(env, 'late-user', { expiresIn: -60 })));
    expect(error?.data).toMatchObject({ code: 'AUTH_EXPIRED', retryable: true });
  });

  it('refuses the third connection of one user with CONNECTION_LIMIT and admits one after a disconnect', async () => {
    const token = tokenFor(env, 'busy-user');
    const first = open(gw.url, token);
    const second = open(gw.url, token);
    expect((await outcome(first)).session).toBeDefined();
    expect((await outcome(second)).session?.recovered).toBe(true);
    const { error } = await outcome(open(gw.url, token, retriesRefusals(token)));
    expect(error?.data).toMatchObject({ code: 'CONNECTION_LIMIT', retryable: true });
    // A stock client (no retryableConnectErrors) is not given a connect_error, which would end it for
    // good: its transport is closed, and its own reconnection gets it in once a slot is free.
    const stock = open(gw.url, token, { reconnection: true, reconnectionDelay: 100 });
    const stockRefusals: string[] = [];
    stock.on('connect_error', (err) => stockRefusals.push(err.message));
    await nextEvent(stock, 'disconnect');
    first.close();
    const admitted = await nextEvent<RestoredSession>(stock, 'session:restored', 15_000);
    expect(admitted.recovered).toBe(true);
    expect(stockRefusals).toEqual([]);
  });

  it('answers /healthz and /readyz without a token', async () => {
    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { store: 'ok', draining: 'ok' } });
  });

  it('counts handshakes by result in /metrics', async () => {
    const before = await fetch(`${gw.url}/metrics`).then((r) => r.text());
    const count = (text: string, result: string): number =>
      Number(
        new RegExp(`stayline_handshakes_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0,
      );
    await outcome(open(gw.url, tokenFor(env, 'metrics-user')));
    await outcome(open(gw.url, undefined));
    const after = await fetch(`${gw.url}/metrics`).then((r) => r.text());
    expect(count(after, 'ok')).toBe(count(before, 'ok') + 1);
    expect(count(after, 'AUTH_MISSING')).toBe(count(before, 'AUTH_MISSING') + 1);
    expect(after).toMatch(/stayline_nodejs_eventloop_lag_seconds/);
    expect(after).not.toMatch(/metrics-user/);
  });

  it('serves only the named families with ?name[]=, and refuses a bad filter with BAD_REQUEST', async () => {
    const res = await fetch(
      `${gw.url}/metrics?name[]=stayline_handshakes_total&name[]=stayline_process_cpu_seconds_total`,
    );
    expect(res.status).toBe(200);
    const families = [...(await res.text()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    expect(families).toEqual(['stayline_process_cpu_seconds_total', 'stayline_handshakes_total']);
    const tooMany = Array.from({ length: 65 }, (_, i) => `name[]=m${i}`).join('&');
    const refused = await fetch(`${gw.url}/metrics?${tooMany}`);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });
});

describe('origin check', () => {
  const env = baseEnv({ CORS_ORIGINS: 'https://app.example.com' });
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway(env);
  });
  afterAll(async () => {
    await gw.stop();
  });

  const rawStatus = (path: string, headers: Record<string, string>): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: gw.port, path, headers });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });

  it('answers a polling handshake from a refused origin with HTTP 403', async () => {
    expect(
      await rawStatus('/socket.io/?EIO=4&transport=polling', { Origin: 'https://evil.example.com' }),
    ).toBe(403);
    expect(
      await rawStatus('/socket.io/?EIO=4&transport=polling', { Origin: 'https://app.example.com' }),
    ).toBe(200);
  });

  it('answers a websocket upgrade from a refused origin with HTTP 403', async () => {
    const upgrade = {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    };
    expect(
      await rawStatus('/socket.io/?EIO=4&transport=websocket', {
        ...upgrade,
        Origin: 'https://evil.example.com',
      }),
    ).toBe(403);
    expect(
      await rawStatus('/socket.io/?EIO=4&transport=websocket', {
        ...upgrade,
        Origin: 'https://app.example.com',
      }),
    ).toBe(101);
  });

  it('lets a client from an allowed origin connect', async () => {
    const socket = connect(gw.url, tokenFor(env, 'origin-user'), {
      extraHeaders: { Origin: 'https://app.example.com' },
    });
    await expect(nextEvent(socket, 'session:restored')).resolves.toMatchObject({ recovered: false });
    socket.close();
  });
});
