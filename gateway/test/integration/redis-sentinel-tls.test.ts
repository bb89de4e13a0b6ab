/**
 * Sentinel over TLS with real processes: a CA and a certificate for 127.0.0.1 made with openssl at test time,
 * a TLS-only redis-server (`port 0`, `tls-port`) and a TLS-only redis-sentinel monitoring it over TLS
 * (`tls-replication yes`). A gateway with REDIS_SENTINELS, REDIS_SENTINEL_TLS, REDIS_TLS and
 * REDIS_TLS_CA_FILE finds the primary through the sentinel and serves (every /readyz check ok, a client's
 * handshake and a room join); without the CA file it cannot verify the servers and is not ready.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, RestoredSession, RoomResult } from '@stayline/client-sdk/protocol';
import { spawnServer, spawnTracked, terminate } from '../../../dev/redis.ts';
import { loadConfig } from '../../src/config/index.ts';
import { buildGateway } from '../../src/gateway.ts';
import { baseEnv, connect, tokenFor, type RunningGateway } from '../support/gateway.ts';
import { freePort } from '../support/redis.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

/** Makes a CA and a server certificate for IP 127.0.0.1 signed by it, in `dir`. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=stayline-test-ca',
  );
  openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
  );
  return { ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
}

describe('Redis Sentinel over TLS', () => {
  let dir: string;
  let certs: { ca: string; cert: string; key: string };
  let sentinelPort: number;
  const children: ChildProcess[] = [];
  const gateways: RunningGateway[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stayline-tls-'));
    certs = makeCertificates(dir);
    // The same TLS directives as command-line options (the server) and as config lines (the sentinel).
    const tls = (port: number): [string, string][] => [
      ['port', '0'],
      ['tls-port', String(port)],
      ['tls-cert-file', certs.cert],
      ['tls-key-file', certs.key],
      ['tls-ca-cert-file', certs.ca],
      ['tls-auth-clients', 'no'],
    ];
    const tlsArgs = (port: number): string[] => tls(port).flatMap(([k, v]) => [`--${k}`, v]);
    const primaryPort = await freePort();
    children.push(spawnServer(primaryPort, ['--dir', dir, ...tlsArgs(primaryPort)]).child);
    sentinelPort = await freePort();
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        ...tls(sentinelPort).map(([k, v]) => `${k} ${v}`),
        // The sentinel talks to the servers it monitors over TLS too.
        'tls-replication yes',
        `sentinel monitor mymaster 127.0.0.1 ${primaryPort} 1`,
        '',
      ].join('\n'),
    );
    children.push(spawnTracked(process.env['REDIS_SENTINEL_BIN'] ?? 'redis-sentinel', [conf]).child);
    // Both answer over TLS only, and the sentinel knows the primary.
    const ca = readFileSync(certs.ca, 'utf8');
    await waitFor(
      async () => {
        const sentinel = new Redis({
          port: sentinelPort,
          host: '127.0.0.1',
          tls: { ca },
          lazyConnect: true,
          retryStrategy: () => null,
        });
        sentinel.on('error', () => undefined);
        try {
          await sentinel.connect();
          const addr = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')) as string[];
          return addr[1] === String(primaryPort);
        } finally {
          sentinel.disconnect();
        }
      },
      20_000,
      'the TLS sentinel naming the TLS primary',
    );
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(children.map((c) => terminate(c, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A gateway in this process whose log lines (debug and up) the test reads. */
  const start = async (
    extra: Record<string, string>,
  ): Promise<{ gateway: RunningGateway; env: Record<string, string | undefined>; lines: string[] }> => {
    const env = baseEnv({
      REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
      REDIS_SENTINEL_TLS: 'true',
      REDIS_TLS: 'true',
      REDIS_COMMAND_TIMEOUT_MS: '500',
      ...extra,
    });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(
          ...chunk
            .toString('utf8')
            .split('\n')
            .filter((l) => l !== ''),
        );
        done();
      },
    });
    const built = buildGateway(loadConfig(env), { logger: pino({ level: 'debug' }, sink) });
    const { port } = await built.listen();
    const gateway = { url: `http://127.0.0.1:${port}`, port, gateway: built, stop: () => built.close() };
    gateways.push(gateway);
    return { gateway, env, lines };
  };
  const readyz = async (gateway: RunningGateway) => {
    const res = await fetch(`${gateway.url}/readyz`);
    return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks };
  };

  it('serves through a TLS sentinel and a TLS primary with REDIS_TLS_CA_FILE', async () => {
    const { gateway, env } = await start({ REDIS_TLS_CA_FILE: certs.ca });
    const ready = await waitFor(
      async () => {
        const p = await readyz(gateway);
        return p.status === 200 ? p : undefined;
      },
      15_000,
      '/readyz 200 over TLS',
    );
    expect(ready.checks).toEqual({
      draining: 'ok',
      store: 'ok',
      claims: 'ok',
      ledger: 'ok',
      history: 'ok',
      scripts: 'ok',
      pubsub: 'ok',
    });
    const socket = connect(gateway.url, tokenFor(env, 'tls-user'));
    sockets.push(socket);
    await nextEvent<RestoredSession>(socket, 'session:restored', 10_000);
    expect((await request<Ack<RoomResult>>(socket, 'room:join', { room: 'lobby' })).ok).toBe(true);
  });

  it('is not ready without the CA: the same sentinel cannot be verified', async () => {
    const { gateway, lines } = await start({});
    // ioredis drops the TLS error of a sentinel connection ("Connection is closed."): the one difference with
    // the gateway above, which serves through this very sentinel, is REDIS_TLS_CA_FILE.
    await waitFor(
      () => lines.some((l) => l.includes('All sentinels are unreachable')),
      15_000,
      'the sentinels logged unreachable',
    );
    const p = await readyz(gateway);
    expect(p.status).toBe(503);
    expect(p.checks).toMatchObject({ store: 'unavailable', claims: 'unavailable', ledger: 'unavailable' });
  });
});
