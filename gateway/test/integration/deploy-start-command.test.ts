/**
 * The compiled gateway, as the image and `NODE_ENV=production npm start` run it: `npm run build`'s script
 * builds gateway/dist (and the SDK's dist it imports), then deploy/Dockerfile's CMD, run from its WORKDIR
 * (the repository root here), starts plain `node` on gateway/dist/main.js — no tsx, so any TypeScript left
 * in the output would fail — against a real Redis (its Lua scripts load from dist), and a client connects,
 * queues and holds a seat. `NODE_ENV=production npm start` runs the same compiled file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, QueuePlace, RestoredSession, SeatHold } from '@stayline/client-sdk/protocol';
import { withSdkBuildLock } from '../support/build-lock.ts';
import { REPO_ROOT, baseEnv, connect, tokenFor } from '../support/gateway.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const SERVICE_TOKEN = 'service-token-for-the-compiled-test';
const dockerfile = readFileSync(resolve(REPO_ROOT, 'deploy/Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
const lastInstruction = (name: string): string | undefined =>
  dockerfile
    .split(/\r?\n/)
    .filter((l) => l.startsWith(`${name} `))
    .at(-1)
    ?.slice(name.length + 1)
    .trim();

interface Started {
  child: ChildProcess;
  output: () => string;
  url: string;
}

const children: ChildProcess[] = [];

/** Signals the process group led by `child` (started detached): npm and the gateway it started. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Ends `child`'s group with SIGTERM and resolves with the leader's exit code. */
async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  signalGroup(child, 'SIGTERM');
  return exited;
}
const sockets: Socket[] = [];
let redis: RedisProcess | undefined;

/** Spawns `argv` from the repository root with exactly `env` (plus PATH), and waits for "gateway listening". */
async function start(argv: string[], env: Record<string, string | undefined>): Promise<Started> {
  const [cmd, ...args] = argv;
  const child = spawn(cmd === 'node' ? process.execPath : (cmd ?? ''), args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: `npm start` runs the gateway as a grandchild (npm -> sh -> node), which a
    // signal to npm alone leaves running; the test ends the whole group it started, by its pid.
    detached: true,
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const port = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`exited early:\n${output}`);
      return /"port":(\d+)[^\n]*"msg":"gateway listening"/.exec(output)?.[1];
    },
    30_000,
    'the "gateway listening" log line',
  );
  return { child, output: () => output, url: `http://127.0.0.1:${port}` };
}

const productionEnv = () =>
  baseEnv({
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    CORS_ORIGINS: 'https://app.example',
    SERVICE_TOKEN,
    REDIS_URL: redis?.url,
  });

beforeAll(async () => {
  const build = await withSdkBuildLock(() =>
    spawnSync(process.execPath, ['scripts/build.mjs', '--no-demo', '--quiet'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 240_000,
    }),
  );
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  redis = await startRedis();
}, 300_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  for (const c of children) signalGroup(c, 'SIGKILL');
  await redis?.stop();
});

describe.skipIf(process.platform !== 'linux')('the compiled gateway', () => {
  it("runs the Dockerfile's CMD from its WORKDIR: node on gateway/dist/main.js, and serves a client over Redis", async () => {
    const cmd = JSON.parse(lastInstruction('CMD') ?? 'null') as string[];
    expect(cmd).toEqual(['node', '--enable-source-maps', 'gateway/dist/main.js']);
    expect(lastInstruction('WORKDIR')).toBe('/app');
    const env = productionEnv();
    const node = await start(cmd, env);
    const pid = node.child.pid ?? -1;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
    expect(argv.slice(1)).toEqual(cmd.slice(1));
    expect(resolve(readlinkSync(`/proc/${pid}/cwd`))).toBe(resolve(REPO_ROOT));
    // Logged right after "listening" (which start() waits for): wait for the line, do not race it.
    await waitFor(
      () => /"entry":"[^"]*gateway\/dist\/main\.js","compiled":true/.test(node.output()),
      10_000,
      'gateway code line',
    );
    expect(await fetch(`${node.url}/healthz`).then((r) => r.status)).toBe(200);

    // An event through the service API, a queue and a seat hold: the claims Lua scripts run from dist.
    const put = await fetch(`${node.url}/v1/events/built`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
      body: JSON.stringify({ seats: ['A1', 'A2'] }),
    });
    expect(put.status).toBe(201);
    const socket = connect(node.url, tokenFor(env, 'alice'));
    sockets.push(socket);
    const restored = await nextEvent<RestoredSession>(socket, 'session:restored', 10_000);
    expect(restored).toMatchObject({ recovered: false });
    const place = await request<Ack<QueuePlace>>(socket, 'queue:join', { eventId: 'built', requestId: 'q1' });
    expect(place).toMatchObject({ ok: true, data: { position: 1 } });
    const hold = await request<Ack<SeatHold>>(socket, 'seat:hold', {
      eventId: 'built',
      seatIds: ['A1'],
      requestId: 'h1',
    });
    expect(hold).toMatchObject({ ok: true, data: { seatIds: ['A1'] } });

    expect(await stop(node.child)).toBe(0);
  });

  it('NODE_ENV=production npm start runs the same compiled file', async () => {
    const node = await start(['npm', 'start'], productionEnv());
    // Logged right after "listening" (which start() waits for): wait for the line, do not race it.
    await waitFor(
      () => /"entry":"[^"]*gateway\/dist\/main\.js","compiled":true/.test(node.output()),
      10_000,
      'gateway code line',
    );
    expect(await fetch(`${node.url}/healthz`).then((r) => r.status)).toBe(200);
    await stop(node.child);
  });
});
