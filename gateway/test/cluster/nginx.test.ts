/**
 * deploy/nginx/nginx.conf in front of three real gateway nodes: its emulated load-balancer cookie keeps
 * long-polling on one node, the websocket upgrade passes, and the naive cookieless setup fails. The config
 * is used as written; only the upstream addresses, the listen address and the pid file are made local.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Ack, RestoredSession, RoomResult } from '@stayline/client-sdk/protocol';
import { startLocalCluster, type LocalCluster } from '../../../dev/local-cluster.ts';
import { REPO_ROOT, connect, type ClientOptions } from '../support/gateway.ts';
import { freePort } from '../support/redis.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const NGINX_CONF = join(REPO_ROOT, 'deploy/nginx/nginx.conf');
const nginxBin = ['nginx', '/usr/sbin/nginx'].find((b) => spawnSync(b, ['-v']).status === 0);
// The nodes behind nginx are a local cluster without HAProxy: nginx is all this test needs.
const missing = nginxBin === undefined ? 'nginx' : undefined;
if (missing !== undefined) {
  console.warn(
    `SKIPPED gateway/test/cluster/nginx.test.ts: ${missing} is not installed (see scripts/test.mjs)`,
  );
}

/** The deploy config with local upstreams and listen address; everything else exactly as shipped. */
function localNginxConfig(nodePorts: readonly number[], port: number): string {
  let text = readFileSync(NGINX_CONF, 'utf8');
  nodePorts.forEach((p, i) => {
    const before = text;
    text = text.replace(`server gateway-${i + 1}:3000 `, `server 127.0.0.1:${p} `);
    if (text === before) throw new Error(`nginx.conf has no upstream gateway-${i + 1}:3000`);
  });
  if (!/^\s+listen 8080;$/m.test(text)) throw new Error('nginx.conf does not listen on 8080');
  return text.replace(/^(\s+)listen 8080;$/m, `$1listen 127.0.0.1:${port};`);
}

describe.skipIf(missing !== undefined)('a cluster behind nginx (deploy/nginx/nginx.conf)', () => {
  let cluster: LocalCluster;
  let nginx: ChildProcess | undefined;
  let dir: string;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    cluster = await startLocalCluster({ nodes: 3, env: { NODE_ENV: 'test' } });
    dir = mkdtempSync(join(tmpdir(), 'stayline-nginx-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'nginx.conf'),
      localNginxConfig(
        cluster.nodes.map((n) => n.port),
        port,
      ),
    );
    // One process (no master/worker pair), so the pid we hold is all there is to stop.
    nginx = spawn(
      nginxBin ?? 'nginx',
      [
        '-p',
        dir,
        '-c',
        join(dir, 'nginx.conf'),
        '-g',
        `pid ${join(dir, 'nginx.pid')}; daemon off; master_process off;`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    nginx.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor(
      async () => {
        if (nginx?.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
        return (await fetch(`${url}/healthz`)).ok;
      },
      10_000,
      'nginx to proxy /healthz',
    );
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
      const gone = new Promise((resolve) => nginx?.once('exit', resolve));
      nginx.kill('SIGTERM');
      await gone;
    }
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const open = (sub: string, options: ClientOptions) => {
    const socket = connect(url, cluster.token(sub), { withCredentials: true, ...options });
    sockets.push(socket);
    const problems: string[] = [];
    socket.on('connect_error', (err) => problems.push(`connect_error: ${err.message}`));
    socket.on('disconnect', (reason) => problems.push(`disconnect: ${reason}`));
    const restored = nextEvent<RestoredSession>(socket, 'session:restored', 10_000);
    return { socket, problems, restored };
  };

  it('sets the STAYLINELB cookie and routes every poll carrying it to the session’s node', async () => {
    const handshake = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
    const sid = (JSON.parse((await handshake.text()).slice(1)) as { sid: string }).sid;
    const setCookie = handshake.headers.getSetCookie().find((c) => c.startsWith('STAYLINELB='));
    expect(setCookie).toMatch(/^STAYLINELB=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax$/);
    const cookie = (setCookie ?? '').split(';')[0] ?? '';
    const post = (withCookie: boolean) =>
      fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', ...(withCookie ? { cookie } : {}) },
        body: '3',
      }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const sticky = [];
    for (let i = 0; i < 12; i++) sticky.push(await post(true));
    expect(sticky).toEqual(Array(12).fill({ status: 200, text: 'ok' }));
    // Without the cookie each request is hashed on a fresh random id: most land on the wrong node.
    const loose = [];
    for (let i = 0; i < 12; i++) loose.push(await post(false));
    expect(
      loose.filter((r) => r.status === 400 && r.text.includes('Session ID unknown')).length,
    ).toBeGreaterThan(0);
  });

  it('serves polling-only and upgrading clients through nginx without session errors', async () => {
    const pollers = Array.from({ length: 9 }, (_, i) => open(`nginx-poll-${i}`, { transports: ['polling'] }));
    const upgraders = Array.from({ length: 3 }, (_, i) =>
      open(`nginx-up-${i}`, { transports: ['polling', 'websocket'] }),
    );
    const upgraded = upgraders.map((c) => nextEvent(c.socket.io.engine as never, 'upgrade', 10_000));
    await Promise.all([
      ...[...pollers, ...upgraders].map((c) => c.restored as Promise<unknown>),
      ...upgraded,
    ]);
    await Promise.all(
      [...pollers, ...upgraders].map(async (c, i) => {
        for (let k = 0; k < 10; k++) {
          const ack = await request<Ack<RoomResult>>(c.socket, k % 2 === 0 ? 'room:join' : 'room:leave', {
            room: `nginx-${i}`,
          });
          expect(ack.ok).toBe(true);
        }
      }),
    );
    for (const c of pollers) expect(c.socket.io.engine.transport.name).toBe('polling');
    for (const c of upgraders) expect(c.socket.io.engine.transport.name).toBe('websocket');
    for (const c of [...pollers, ...upgraders]) expect(c.problems).toEqual([]);
    // Spread over the nodes (so the cookie, not luck, kept them working).
    const perNode = await Promise.all(
      cluster.nodes.map(async (n) => {
        const text = await (await fetch(`${n.url}/metrics`)).text();
        return Number(/^stayline_connections\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? NaN);
      }),
    );
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(12);
    expect(perNode.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
  });
});
