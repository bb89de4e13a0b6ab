/**
 * The start command itself, as operators run it: real child processes of `gateway/src/main.ts` (and of the
 * token CLI), with only the environment they are given. Children are stopped by their own handle (pid).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import type { Socket } from 'socket.io-client';
import type {
  Ack,
  RestoredSession,
  SeatMapResult,
  ServerDrainingPayload,
  WireError,
} from '@stayline/client-sdk/protocol';
import {
  REPO_ROOT,
  baseEnv,
  connect,
  newSecret,
  retriesRefusals,
  startGateway,
  startGatewayProcess,
  tokenFor,
  type GatewayProcess,
  type RunningGateway,
} from '../support/gateway.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const TOKEN_CLI = fileURLToPath(new URL('../../src/cli/token.ts', import.meta.url));
const DEV_TOKEN = /Dev token for user "dev-user" \(valid 24 h\):\n\s+(\S+)/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** A child process with stdout and stderr kept apart. */
interface Child {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
const sockets: Socket[] = [];
const gateways: RunningGateway[] = [];
const processes: GatewayProcess[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const g of gateways.splice(0)) await g.stop();
  for (const p of processes.splice(0)) await p.kill('SIGKILL');
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Spawns `node --import tsx <script> ...args` from the repository root with exactly `env` (plus PATH). */
function spawnNode(script: string, args: readonly string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Waits for `child` to exit, failing (and killing it) after `timeoutMs`. */
async function exitOf(c: Child, timeoutMs = 15_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      c.child.kill('SIGKILL');
      reject(new Error(`process did not exit within ${timeoutMs} ms:\n${c.stdout()}\n${c.stderr()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([c.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The session on success, or the connect_error on refusal. */
function outcome(
  socket: Socket,
): Promise<{ session?: RestoredSession; error?: Error & { data?: WireError } }> {
  return new Promise((resolve) => {
    socket.once('session:restored', (session: RestoredSession) => resolve({ session }));
    socket.once('connect_error', (error: Error & { data?: WireError }) => resolve({ error }));
  });
}

const open = (...args: Parameters<typeof connect>): Socket => {
  const socket = connect(...args);
  sockets.push(socket);
  return socket;
};

describe('the start command', () => {
  it('starts without a key outside production, warns loudly and prints a dev token that connects', async () => {
    // NODE_ENV deliberately absent: the default is development.
    const devSecretDir = mkdtempSync(join(tmpdir(), 'stayline-dev-'));
    const node = spawnNode(MAIN, [], {
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DEV_SECRET_FILE: join(devSecretDir, 'dev-secret'),
    });
    onTestFinished(() => rmSync(devSecretDir, { recursive: true, force: true }));
    const port = await waitFor(
      () => {
        if (node.child.exitCode !== null) throw new Error(`exited early:\n${node.stderr()}`);
        return /"port":(\d+)[^\n]*"msg":"gateway listening"/.exec(node.stdout())?.[1];
      },
      20_000,
      'the "gateway listening" log line',
    );
    const token = await waitFor(() => DEV_TOKEN.exec(node.stderr())?.[1], 5_000, 'the dev token on stderr');
    const stderr = node.stderr();
    expect(stderr).toContain('DEVELOPMENT MODE');
    expect(stderr).toContain('Never use this in production');
    expect(stderr).toContain(`http://localhost:${port}`);
    expect(token).toMatch(JWT_SHAPE);

    const socket = open(`http://127.0.0.1:${port}`, token);
    const { session, error } = await outcome(socket);
    expect(error).toBeUndefined();
    expect(session).toMatchObject({ recovered: false, rooms: [] });
    // The demo's event is there, so the printed /demo link works with nothing else set up.
    const map = await request<Ack<SeatMapResult>>(socket, 'seat:map', { eventId: 'demo' });
    expect(map.ok && Object.keys(map.data.seats)).toHaveLength(16);
    expect(stderr).toMatch(/\/demo\/#token=/);

    node.child.kill('SIGTERM');
    expect(await exitOf(node)).toBe(0);
    // Every stdout line is a JSON log line; none of them carries the token or its signature.
    const lines = node
      .stdout()
      .split('\n')
      .filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(0);
    const logs = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logs.some((l) => l.level === 40 && /development mode/.test(l.msg))).toBe(true);
    expect(node.stdout()).not.toContain(token);
    expect(node.stdout()).not.toContain(token.split('.')[2]);
  });

  it('refuses to start in production without a key, naming JWT_SECRET, and prints no token', async () => {
    const node = spawnNode(MAIN, [], {
      NODE_ENV: 'production',
      CORS_ORIGINS: 'https://app.example',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    expect(await exitOf(node)).toBe(1);
    expect(node.stderr()).toMatch(/JWT_SECRET: a key is required in production/);
    expect(node.stderr()).not.toContain('Dev token');
    expect(node.stderr()).not.toMatch(/[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/);
    expect(node.stdout()).not.toContain('gateway listening');
  });

  it('names every bad variable at once and exits 1', async () => {
    const node = spawnNode(MAIN, [], {
      PORT: 'abc',
      JWT_ALGORITHMS: 'none',
      LOG_LEVEL: 'loud',
      NODE_ID: 'has space',
      JWT_SECRET: newSecret(),
      HOST: '127.0.0.1',
    });
    expect(await exitOf(node)).toBe(1);
    const stderr = node.stderr();
    expect(stderr).toContain('Invalid configuration');
    for (const name of ['PORT', 'JWT_ALGORITHMS', 'LOG_LEVEL', 'NODE_ID'])
      expect(stderr).toMatch(new RegExp(`^  - ${name}[.:]`, 'm'));
    expect(stderr).toContain('docs/configuration.md');
    expect(node.stdout()).not.toContain('gateway listening');
  });

  it('on SIGTERM tells a connected client to reconnect, disconnects it and exits 0 within the grace period', async () => {
    const graceSeconds = 3;
    const env = baseEnv({ LOG_LEVEL: 'info', DRAIN_SECONDS: String(graceSeconds) });
    const node = await startGatewayProcess(env);
    processes.push(node);
    const client = open(node.url, tokenFor(env, 'sigterm-user'));
    await nextEvent<RestoredSession>(client, 'session:restored');
    const draining = nextEvent<ServerDrainingPayload>(client, 'server:draining', 10_000);
    const disconnected = nextEvent<string>(client, 'disconnect', 10_000);

    const started = Date.now();
    const code = await node.kill('SIGTERM');
    const elapsedMs = Date.now() - started;
    expect(code).toBe(0);
    expect(elapsedMs).toBeLessThan((graceSeconds + 2) * 1000);
    const hint = await draining;
    expect(hint.reconnectAfterMs).toBeGreaterThanOrEqual(0);
    expect(hint.reconnectAfterMs).toBeLessThan(1000);
    // The transport was closed (not a server-side namespace disconnect), so the stock client reconnects.
    expect(await disconnected).toBe('transport close');
    expect(node.output()).toMatch(/"msg":"shutting down"/);
    expect(node.output()).toMatch(/"msg":"gateway closed"/);
  });

  it('drains and exits 0 on a SIGTERM sent the moment it says it listens', async () => {
    // The handlers used to be installed after the listen: a SIGTERM sent as the "gateway listening" line
    // arrives found none and ended the process by the signal, with no drain (4 of 6 starts through tsx,
    // 19 of 20 compiled). Three starts, so that the old order fails this test nearly every time.
    for (let start = 0; start < 3; start += 1) {
      const node = spawnNode(MAIN, [], baseEnv({ LOG_LEVEL: 'info' }) as Record<string, string>);
      node.child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('"msg":"gateway listening"')) node.child.kill('SIGTERM');
      });
      expect(await exitOf(node)).toBe(0);
      expect(node.stdout()).toMatch(/"msg":"gateway closed"/);
    }
  });

  it('exits 0 on SIGTERM when whoever read its stdout is gone (a closed log pipe)', async () => {
    const env = baseEnv({ LOG_LEVEL: 'info' });
    const node = await startGatewayProcess(env);
    processes.push(node);
    // Our end of its stdout closes: every log line from now on fails with EPIPE, starting with the
    // "shutting down" that SIGTERM writes. With pino's asynchronous stdout the exit then retried the failed
    // write forever (the process never ended, its event loop blocked).
    node.child.stdout?.destroy();
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), 10_000);
    });
    try {
      expect(await Promise.race([node.kill('SIGTERM'), hung])).toBe(0);
    } finally {
      clearTimeout(timer);
    }
  });

  it('refuses a new handshake with SERVER_DRAINING while a shutdown waits for its clients', async () => {
    // A raw long-polling client that stops polling holds the node in its drain: the server:draining packet
    // cannot be delivered until the next poll, so the node waits (up to the grace period) with the window open.
    const env = baseEnv({ LOG_LEVEL: 'info', DRAIN_SECONDS: '10' });
    const node = await startGatewayProcess(env);
    processes.push(node);
    const engine = `${node.url}/socket.io/?EIO=4&transport=polling`;
    const handshake = await fetch(engine).then((r) => r.text());
    const sid = /"sid":"([^"]+)"/.exec(handshake)?.[1];
    expect(sid).toBeDefined();
    const session = `${engine}&sid=${sid ?? ''}`;
    const post = (body: string): Promise<string> =>
      fetch(session, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } }).then(
        (r) => r.text(),
      );
    const poll = (): Promise<string> =>
      fetch(session, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text());
    expect(await post(`40${JSON.stringify({ token: tokenFor(env, 'holder') })}`)).toBe('ok');
    let received = '';
    for (let i = 0; i < 5 && !received.includes('"session:restored"'); i++) received += await poll();
    expect(received).toMatch(/^40\{"sid"/);

    const started = Date.now();
    node.child.kill('SIGTERM');
    await waitFor(
      async () => (await fetch(`${node.url}/readyz`)).status === 503,
      5_000,
      '/readyz to report draining',
    );

    const lateToken = tokenFor(env, 'latecomer');
    const late = open(node.url, lateToken, retriesRefusals(lateToken));
    const { session: lateSession, error } = await outcome(late);
    expect(lateSession).toBeUndefined();
    expect(error?.message).toBe('SERVER_DRAINING');
    expect(error?.data).toMatchObject({ code: 'SERVER_DRAINING', retryable: true });
    // A stock client is not ended by a connect_error: its transport is closed, which it retries.
    const stock = open(node.url, tokenFor(env, 'stock-latecomer'));
    const stockErrors: string[] = [];
    stock.on('connect_error', (err) => stockErrors.push(err.message));
    expect(await nextEvent(stock, 'disconnect')).toBe('transport close');
    expect(stockErrors).toEqual([]);

    // The holder polls again: it gets server:draining, then the close, and the node finishes its shutdown.
    let tail = '';
    // Engine.IO joins packets with a record separator; the close packet is `1`.
    for (let i = 0; i < 5 && !tail.endsWith('\x1e1'); i++) tail += `\x1e${await poll()}`;
    expect(tail).toMatch(/42\["server:draining",\{"reconnectAfterMs":\d+\}\]/);
    expect(await node.exited).toBe(0);
    // Well inside the 10 s grace: the holder's close ended the drain, not the deadline.
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});

describe('the token CLI', () => {
  it('prints only a token, signed with JWT_SECRET, that a gateway with the same secret accepts', async () => {
    const secret = newSecret();
    const cli = spawnNode(TOKEN_CLI, ['--sub', 'alice'], { JWT_SECRET: secret });
    const devSecretFile = join(mkdtempSync(join(tmpdir(), 'stayline-token-')), 'dev-secret');
    const withoutSecret = spawnNode(TOKEN_CLI, ['--sub', 'alice'], { DEV_SECRET_FILE: devSecretFile });
    const tooLong = spawnNode(TOKEN_CLI, ['--sub', 'alice', '--ttl', '86401'], { JWT_SECRET: secret });
    const [code, codeWithoutSecret, codeTooLong] = await Promise.all([
      exitOf(cli),
      exitOf(withoutSecret),
      exitOf(tooLong),
    ]);
    expect(code).toBe(0);
    expect(cli.stderr()).toBe('');
    const token = cli.stdout().trim();
    expect(cli.stdout()).toBe(`${token}\n`);
    expect(token).toMatch(JWT_SHAPE);
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      sub: string;
      exp: number;
    };
    expect(claims.sub).toBe('alice');
    expect(claims.exp * 1000).toBeGreaterThan(Date.now());

    // Without a secret it signs with the development secret a development gateway keeps in the same file
    // (gateway/test/integration/dev-loop.test.ts starts one with it), still printing only the token.
    expect(codeWithoutSecret).toBe(0);
    expect(withoutSecret.stdout()).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    expect(withoutSecret.stderr()).toContain(`signed with the development secret in ${devSecretFile}`);
    rmSync(dirname(devSecretFile), { recursive: true, force: true });
    // Nor a token the gateway would refuse as too long (JWT_MAX_LIFETIME_SECONDS, default 86400).
    expect(codeTooLong).toBe(2);
    expect(tooLong.stdout()).toBe('');
    expect(tooLong.stderr()).toContain('longer than JWT_MAX_LIFETIME_SECONDS (86400)');

    const same = await startGateway(baseEnv({ JWT_SECRET: secret }));
    const other = await startGateway(baseEnv());
    gateways.push(same, other);
    const accepted = await outcome(open(same.url, token));
    expect(accepted.error).toBeUndefined();
    expect(accepted.session).toMatchObject({ recovered: false, rooms: [] });
    const refused = await outcome(open(other.url, token));
    expect(refused.session).toBeUndefined();
    expect(refused.error?.data).toMatchObject({ code: 'AUTH_INVALID' });
  });
});
