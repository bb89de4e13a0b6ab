/**
 * The gate in front of Engine.IO, against real gateways with a captured logger: the Origin check on every
 * long-polling request (not only the handshake), and the cap on engine connections that never complete
 * the Socket.IO CONNECT (503 beyond MAX_PENDING_HANDSHAKES, closed after CONNECT_TIMEOUT_MS), which the
 * stock socket.io-client rides out with its own reconnection.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { loadConfig } from '../../src/config/index.ts';
import { buildGateway, type Gateway } from '../../src/gateway.ts';
import { baseEnv, connect, tokenFor } from '../support/gateway.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { nextEvent, waitFor } from '../support/wait.ts';

type LogLine = Record<string, unknown>;

interface LoggedGateway {
  url: string;
  gateway: Gateway;
  /** Every JSON line the gateway logged so far. */
  lines: LogLine[];
  metric(pattern: RegExp): Promise<number>;
}

/** A gateway in this process whose pino logger writes into `lines` (at info, as in production). */
async function startLoggedGateway(env: Record<string, string | undefined>): Promise<LoggedGateway> {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const gateway = buildGateway(loadConfig(env), { logger: pino({ level: 'info' }, sink) });
  const { port } = await gateway.listen();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    gateway,
    lines,
    async metric(pattern) {
      const text = await fetch(`${url}/metrics`).then((r) => r.text());
      return Number(pattern.exec(text)?.[1] ?? 0);
    },
  };
}

const POLLING = '/socket.io/?EIO=4&transport=polling';

/** Opens an Engine.IO connection over long-polling (the handshake GET only) and returns its sid. */
async function openPolling(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}${POLLING}`, { headers });
  expect(res.status).toBe(200);
  return (JSON.parse((await res.text()).slice(1)) as { sid: string }).sid;
}

describe('Origin on every long-polling request', () => {
  const APP = 'https://app.example';
  const EVIL = 'https://evil.example';
  const env = baseEnv({ CORS_ORIGINS: APP });
  let gw: LoggedGateway;
  beforeAll(async () => {
    gw = await startLoggedGateway(env);
  });
  afterAll(async () => {
    await gw.gateway.close();
  });

  it('answers 403 to a POST and a GET with a sid from a foreign origin, and lets neither reach the connection', async () => {
    const token = tokenFor(env, 'polling-user');
    const sid = await openPolling(gw.url, { origin: APP });
    const url = `${gw.url}${POLLING}&sid=${sid}`;

    // A page on another origin that learned the sid tries to authenticate the connection...
    const foreignPost = await fetch(url, {
      method: 'POST',
      headers: { origin: EVIL },
      body: `40${JSON.stringify({ token })}`,
    });
    expect(foreignPost.status).toBe(403);
    expect(await foreignPost.json()).toMatchObject({ code: 'ORIGIN_FORBIDDEN' });
    // ...and to read what the server has for it.
    expect((await fetch(url, { headers: { origin: EVIL } })).status).toBe(403);

    // The connection is untouched: the page's own origin authenticates it, once, and uses it.
    expect(
      (await fetch(url, { method: 'POST', headers: { origin: APP }, body: `40${JSON.stringify({ token })}` }))
        .status,
    ).toBe(200);
    let received = '';
    await waitFor(
      async () =>
        (received += await fetch(url, { headers: { origin: APP } }).then((r) => r.text())).includes(
          'session:restored',
        ),
      5_000,
      'session:restored over polling',
    );
    expect(received).toMatch(/^40\{"sid"/);
    expect(await gw.metric(/stayline_handshakes_total\{[^}]*result="ok"[^}]*\} (\d+)/)).toBe(1);
    expect(
      (
        await fetch(url, {
          method: 'POST',
          headers: { origin: APP },
          body: '420["room:join",{"room":"after"}]',
        })
      ).status,
    ).toBe(200);
    expect(await fetch(url, { headers: { origin: APP } }).then((r) => r.text())).toContain('430[{"ok":true');

    expect(
      await gw.metric(/stayline_transport_refusals_total\{[^}]*reason="ORIGIN_FORBIDDEN"[^}]*\} (\d+)/),
    ).toBe(2);
    const logged = gw.lines.filter((l) => l['code'] === 'ORIGIN_FORBIDDEN');
    expect(logged).toHaveLength(2);
    for (const line of logged)
      expect(line).toMatchObject({
        level: 30,
        origin: EVIL,
        ip: '127.0.0.1',
        handshake: false,
        module: 'socket',
      });
    expect(JSON.stringify(gw.lines)).not.toContain(token);
  });

  it('still refuses a handshake from a foreign origin with 403 and counts it as a refused handshake', async () => {
    const before = await gw.metric(/stayline_handshakes_total\{[^}]*result="ORIGIN_FORBIDDEN"[^}]*\} (\d+)/);
    expect((await fetch(`${gw.url}${POLLING}`, { headers: { origin: EVIL } })).status).toBe(403);
    expect(await gw.metric(/stayline_handshakes_total\{[^}]*result="ORIGIN_FORBIDDEN"[^}]*\} (\d+)/)).toBe(
      before + 1,
    );
    expect(gw.lines.filter((l) => l['code'] === 'ORIGIN_FORBIDDEN').at(-1)).toMatchObject({
      handshake: true,
    });
  });
});

describe('engine connections that never complete the Socket.IO CONNECT', () => {
  const MAX_PENDING = 100;
  const CONNECT_TIMEOUT_MS = 4_000;
  let redis: RedisProcess;
  let env: Record<string, string | undefined>;
  let gw: LoggedGateway;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    env = baseEnv({
      REDIS_URL: redis.url,
      MAX_PENDING_HANDSHAKES: String(MAX_PENDING),
      CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    });
    gw = await startLoggedGateway(env);
  });
  afterAll(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await gw.gateway.close();
    await redis.stop();
  });

  it('refuses engine handshakes with 503 beyond MAX_PENDING_HANDSHAKES, closes the silent ones after CONNECT_TIMEOUT_MS, and a stock client gets in by itself', async () => {
    const pendingGauge = /^stayline_pending_handshakes\{[^}]*\} (\d+)/m;
    // 500 engine connections that will never send CONNECT (a token-less flood), all at once.
    const burstAt = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 500 }, async () => {
        const res = await fetch(`${gw.url}${POLLING}`);
        const body = await res.text();
        return {
          status: res.status,
          sid: res.status === 200 ? (JSON.parse(body.slice(1)) as { sid: string }).sid : undefined,
        };
      }),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(MAX_PENDING);
    expect(answers.filter((a) => a.status === 503)).toHaveLength(500 - MAX_PENDING);
    expect(await gw.metric(pendingGauge)).toBe(MAX_PENDING);
    expect(
      await gw.metric(/stayline_transport_refusals_total\{[^}]*reason="PENDING_HANDSHAKES"[^}]*\} (\d+)/),
    ).toBe(400);

    // Stock clients meanwhile (polling first, and websocket only), reconnection on as it is by default.
    const stock = (
      transports: string[],
    ): { socket: Socket; firstError: Promise<Error & { data?: unknown; description?: unknown }> } => {
      const socket = connect(gw.url, tokenFor(env, `stock-${transports.join('-')}`), {
        transports,
        reconnection: true,
        reconnectionDelay: 200,
        reconnectionDelayMax: 1_000,
      });
      sockets.push(socket);
      return { socket, firstError: nextEvent(socket, 'connect_error', 10_000) };
    };
    const viaPolling = stock(['polling', 'websocket']);
    const viaWebSocket = stock(['websocket']);
    for (const { socket, firstError } of [viaPolling, viaWebSocket]) {
      const err = await firstError;
      // A transport error, not a gateway refusal: no `data`, and the client keeps trying on its own.
      expect(err.data).toBeUndefined();
      expect(socket.active).toBe(true);
    }
    expect((await viaPolling.firstError).description).toBe(503);

    // The silent connections are closed by the connect timeout, not before it; then the stock clients are in.
    await Promise.all([
      nextEvent(viaPolling.socket, 'session:restored', CONNECT_TIMEOUT_MS + 10_000),
      nextEvent(viaWebSocket.socket, 'session:restored', CONNECT_TIMEOUT_MS + 10_000),
    ]);
    expect(performance.now() - burstAt).toBeGreaterThan(CONNECT_TIMEOUT_MS * 0.9);
    const held = answers.find((a) => a.sid !== undefined)?.sid ?? '';
    expect((await fetch(`${gw.url}${POLLING}&sid=${held}`)).status).toBe(400);
    await waitFor(
      async () => (await gw.metric(pendingGauge)) === 0,
      5_000,
      'no pending engine connections left',
    );

    // Logged at most ten times per window (the sampler), with who and how many were pending; no token.
    const logged = gw.lines.filter((l) => l['code'] === 'PENDING_HANDSHAKES');
    expect(logged).toHaveLength(10);
    expect(logged[0]).toMatchObject({ level: 40, ip: '127.0.0.1', pending: MAX_PENDING, handshake: true });
    expect(JSON.stringify(gw.lines)).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  it('closes an engine connection that sends CONNECT again while its first is checked, attaching nothing', async () => {
    const count = (result: string): Promise<number> =>
      gw.metric(new RegExp(`stayline_handshakes_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`));
    const [okBefore, limitedBefore] = [await count('ok'), await count('RATE_LIMITED')];
    const token = tokenFor(env, 'connect-burst');
    const raw = new WebSocket(`${gw.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const frames: string[] = [];
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      raw.once('error', reject);
      raw.on('message', (data: Buffer) => {
        frames.push(data.toString());
        if (frames.length === 1) resolve();
      });
    });
    // 3,000 CONNECTs with a valid token in one burst: each used to run the whole handshake.
    for (let i = 0; i < 3_000; i++) raw.send(`40${JSON.stringify({ token })}`);
    await closed;

    // The burst cannot run the handshake more than once at a time: the connection is closed at the second
    // CONNECT that arrives while the first is checked (CONNECT_CONCURRENT). Messages are delivered one per
    // event-loop turn, so the first CONNECT may also complete before the next arrives; socket.io then closes
    // the connection at the next CONNECT for a namespace it already has. Either way: one outcome, at most
    // one session, and the node's handshake admission budget untouched.
    const sessions = frames.filter((f) => f.startsWith('40{"sid"')).length;
    const refused = await gw.metric(
      /stayline_transport_refusals_total\{[^}]*reason="CONNECT_CONCURRENT"[^}]*\} (\d+)/,
    );
    expect(sessions + refused).toBe(1);
    expect(await count('ok')).toBe(okBefore + sessions);
    expect(await count('RATE_LIMITED')).toBe(limitedBefore);
    expect(gw.lines.filter((l) => l['code'] === 'CONNECT_CONCURRENT')).toEqual(
      refused === 1 ? [expect.objectContaining({ level: 40, ip: '127.0.0.1' })] : [],
    );
    expect(JSON.stringify(gw.lines)).not.toContain(token);
    // The user is not left holding connections in the store: a normal client of theirs gets in.
    const socket = connect(gw.url, tokenFor(env, 'connect-burst'));
    sockets.push(socket);
    await nextEvent(socket, 'session:restored');
  });
});
