/**
 * The development loop as a web developer lives it: `npm run -s token` and `npm start` (the real main.ts
 * in a child process, NODE_ENV unset) share the development secret kept in DEV_SECRET_FILE, so tokens
 * survive a restart; in development a page on any localhost port may connect; with CORS_ORIGINS set the
 * gateway's own pages still may; a refused origin gets a readable 403 on the polling URL and is logged with
 * the allowed list.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  Ack,
  QueueAdmittedPayload,
  QueuePlace,
  RestoredSession,
  WireError,
} from '@stayline/client-sdk/protocol';
import { loadConfig } from '../../src/config/index.ts';
import { buildGateway, type Gateway } from '../../src/gateway.ts';
import {
  REPO_ROOT,
  baseEnv,
  connect,
  startGatewayProcess,
  tokenFor,
  type GatewayProcess,
} from '../support/gateway.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const DEV_TOKEN = /Dev token for user "dev-user" \(valid 24 h\):\n\s+(\S+)/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

let dir: string;
let secretFile: string;
const sockets: Socket[] = [];
const processes: GatewayProcess[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stayline-dev-loop-'));
  secretFile = join(dir, '.stayline', 'dev-secret');
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const p of processes.splice(0)) await p.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The environment of a developer's shell: no key, no NODE_ENV (development), our secret file. */
function devEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, DEV_SECRET_FILE: secretFile };
  for (const name of Object.keys(env)) {
    if (/^(JWT_|NODE_ENV$|CORS_ORIGINS$|npm_)/.test(name)) delete env[name];
  }
  return env;
}

/** The session on success, or the connect_error on refusal. */
function outcome(
  socket: Socket,
): Promise<{ session?: RestoredSession; error?: Error & { data?: WireError } }> {
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.once('session:restored', (session: RestoredSession) => resolve({ session }));
    socket.once('connect_error', (error: Error & { data?: WireError }) => resolve({ error }));
  });
}

async function startDev(): Promise<{ node: GatewayProcess; devToken: string }> {
  const node = await startGatewayProcess({ ...devEnv(), HOST: '127.0.0.1', PORT: '0' });
  processes.push(node);
  // The banner follows the "gateway listening" line.
  const devToken = await waitFor(() => DEV_TOKEN.exec(node.output())?.[1], 10_000, 'the dev token banner');
  return { node, devToken };
}

describe('the development loop', () => {
  it('npm run -s token prints only a token, for the secret npm start keeps: tokens survive a restart', async () => {
    const minted = spawnSync('npm', ['run', '-s', 'token', '--', '--sub', 'alice'], {
      cwd: REPO_ROOT,
      env: devEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(minted.status, minted.stderr).toBe(0);
    const token = minted.stdout.trim();
    expect(minted.stdout).toBe(`${token}\n`);
    expect(token).toMatch(JWT_SHAPE);
    expect(minted.stderr).toContain('signed with the development secret');
    const secret = readFileSync(secretFile, 'utf8').trim();

    const first = await startDev();
    expect(first.node.output()).toContain('tokens are signed with the');
    expect((await outcome(connect(first.node.url, token))).session).toMatchObject({ recovered: false });
    expect((await outcome(connect(first.node.url, first.devToken))).session).toBeDefined();
    await first.node.kill('SIGTERM');

    // A restart reuses the file: the CLI's token and the first start's printed token still connect.
    const second = await startDev();
    expect(second.node.output()).toMatch(/development secret kept in/);
    expect((await outcome(connect(second.node.url, token))).session).toBeDefined();
    expect((await outcome(connect(second.node.url, first.devToken))).session).toBeDefined();
    expect(readFileSync(secretFile, 'utf8').trim()).toBe(secret);
    // A token signed with another secret is still refused: the file is the key, not an open door.
    const stranger = await outcome(connect(second.node.url, tokenFor(baseEnv(), 'mallory')));
    expect(stranger.error?.data?.code).toBe('AUTH_INVALID');
  });

  it("the development start's demo event (0.5 admissions/s) admits a queued user within 6 s", async () => {
    const { node, devToken } = await startDev();
    const socket = connect(node.url, devToken);
    expect((await outcome(socket)).session).toBeDefined();
    const admitted = nextEvent<QueueAdmittedPayload>(socket, 'queue:admitted', 6_000);
    const started = Date.now();
    const joined = await request<Ack<QueuePlace>>(socket, 'queue:join', {
      eventId: 'demo',
      requestId: 'join-1',
    });
    expect(joined).toMatchObject({ ok: true, data: { eventId: 'demo', position: 1 } });
    expect(await admitted).toMatchObject({ eventId: 'demo' });
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});

/** An in-process gateway whose log lines are kept. */
async function gatewayWithLog(env: Record<string, string | undefined>) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as never);
      done();
    },
  });
  const config = loadConfig(env);
  const gateway: Gateway = buildGateway(config, { logger: pino({ level: 'info' }, stream) });
  const { port } = await gateway.listen();
  return { gateway, url: `http://127.0.0.1:${port}`, port, env, lines };
}

describe('origins', () => {
  const gateways: Gateway[] = [];
  afterAll(async () => {
    for (const g of gateways) await g.close();
  });

  it('in development, lets a page on any localhost port connect, and refuses other origins', async () => {
    const dev = await gatewayWithLog(baseEnv({ NODE_ENV: 'development' }));
    gateways.push(dev.gateway);
    const token = tokenFor(dev.env, 'alice');
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:4173']) {
      const { session, error } = await outcome(connect(dev.url, token, { extraHeaders: { origin } }));
      expect(error, origin).toBeUndefined();
      expect(session, origin).toBeDefined();
    }
    const refused = await outcome(
      connect(dev.url, token, { extraHeaders: { origin: 'http://evil.example' } }),
    );
    expect(refused.session).toBeUndefined();
    expect(refused.error?.message).toBe('websocket error');

    // The same page in test mode (NODE_ENV=test, no list) is refused: the allowance is development's only.
    const strict = await gatewayWithLog(baseEnv());
    gateways.push(strict.gateway);
    const outside = await outcome(
      connect(strict.url, tokenFor(strict.env, 'alice'), {
        extraHeaders: { origin: 'http://localhost:5173' },
      }),
    );
    expect(outside.session).toBeUndefined();
  });

  it('with CORS_ORIGINS set, still lets the gateway own pages (/demo) connect; a refusal is a readable 403, logged with the allowed list', async () => {
    const gw = await gatewayWithLog(baseEnv({ CORS_ORIGINS: 'https://app.example' }));
    gateways.push(gw.gateway);
    const token = tokenFor(gw.env, 'alice');
    const own = await outcome(connect(gw.url, token, { extraHeaders: { origin: gw.url } }));
    expect(own.session).toBeDefined();
    const listed = await outcome(connect(gw.url, token, { extraHeaders: { origin: 'https://app.example' } }));
    expect(listed.session).toBeDefined();

    // What the SDK's probe sees after a failed websocket: a 403 the page may read, with the wire error.
    const probe = await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling&sid=origin-probe`, {
      headers: { origin: 'http://localhost:5173' },
    });
    expect(probe.status).toBe(403);
    expect(probe.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const body = (await probe.json()) as WireError;
    expect(body).toMatchObject({ code: 'ORIGIN_FORBIDDEN', retryable: false });
    expect(body.message).toContain('CORS_ORIGINS');
    expect(body.message).not.toContain('localhost:5173');
    // An allowed origin's probe reaches engine.io, which refuses the unknown session (no session created).
    const allowed = await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling&sid=origin-probe`, {
      headers: { origin: 'https://app.example' },
    });
    expect(allowed.status).toBe(400);

    await outcome(connect(gw.url, token, { extraHeaders: { origin: 'https://evil.example' } }));
    const refusals = gw.lines.filter((l) => l['code'] === 'ORIGIN_FORBIDDEN');
    expect(refusals.map((l) => [l['origin'], l['transport']])).toEqual([
      ['http://localhost:5173', 'polling'],
      ['https://evil.example', 'websocket'],
    ]);
    expect(refusals[0]?.['allowed']).toEqual(['same origin as the gateway', 'https://app.example']);
    expect(refusals[0]?.['msg']).toMatch(/CORS_ORIGINS/);
  });
});
