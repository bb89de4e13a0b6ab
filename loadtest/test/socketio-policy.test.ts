/**
 * The `socketio` policy is socket.io-client: the real client (default options, `auth: { token }`) and the
 * lean client driven by a load worker with `--policy socketio` go through the same situations against real
 * gateways, and must come out the same — ended for good by a `connect_error`, back by themselves after a
 * server-side transport close and failed engine opens, and the same number connected when the server
 * refuses handshakes over its rate. Each kind talks to its own gateway, so the server's own handshake count
 * (`stayline_handshakes_total`) is per kind. Also: what each policy sends in the handshake auth payload, and
 * that the `sdk` policy retries a retryable refusal no earlier than the server's retryAfterMs.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer, Socket as NetSocket, type AddressInfo, type Server as NetServer } from 'node:net';
import { Server as IoServer } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, startGateway, tokenFor, type RunningGateway } from '../../gateway/test/support/gateway.ts';
import { waitFor } from '../../gateway/test/support/wait.ts';
import { defaultPolicy, type PolicyKind } from '../src/backoff.ts';
import type { ClientRecord, ClientSpec } from '../src/workers/messages.ts';
import { WorkerPool } from '../src/workers/pool.ts';

const env = baseEnv();

/** `stayline_handshakes_total` of one gateway, by result. */
async function handshakes(gw: RunningGateway): Promise<Record<string, number>> {
  const text = await fetch(`${gw.url}/metrics`).then((r) => r.text());
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^stayline_handshakes_total\{result="([^"]+)"[^}]*\} (\d+)/gm))
    out[m[1] ?? '?'] = Number(m[2]);
  return out;
}
const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * A TCP front, as a load balancer: each new connection goes to the current target port, or is reset at
 * once ('reset': the engine open fails, as against a node that is down). Counts connections.
 */
class Front {
  target: number | 'reset';
  connections = 0;
  private readonly server: NetServer;
  private readonly open = new Set<NetSocket>();

  constructor(target: number) {
    this.target = target;
    this.server = createServer((client) => {
      this.connections++;
      if (this.target === 'reset') return void client.resetAndDestroy();
      const upstream = new NetSocket();
      this.open.add(client).add(upstream);
      const gone = (): void => {
        client.destroy();
        upstream.destroy();
        this.open.delete(client);
        this.open.delete(upstream);
      };
      for (const s of [client, upstream]) s.on('error', gone).on('close', gone);
      upstream.connect(this.target, '127.0.0.1', () => client.pipe(upstream).pipe(client));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    for (const s of this.open) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Lean clients in a real load worker (the code path of the CLI), and what they recorded, by client id. */
class LeanFleet {
  private constructor(
    readonly pool: WorkerPool,
    readonly records: ClientRecord[],
  ) {}

  static async start(kind: PolicyKind): Promise<LeanFleet> {
    const records: ClientRecord[] = [];
    const pool = await WorkerPool.start({
      workers: 1,
      policy: defaultPolicy(kind),
      client: 'lean',
      connectTimeoutMs: 20_000,
      stopAtMs: 170_000,
      onRecord: (r) => records.push(r),
    });
    return new LeanFleet(pool, records);
  }

  add(id: number, url: string, token: string, label: string): void {
    const spec: ClientSpec = {
      id,
      userId: `lean-${id}`,
      token,
      urls: [url],
      startAt: this.pool.now(),
      setup: [],
      reconnect: true,
      label,
    };
    this.pool.add([spec]);
  }

  of(id: number, k: ClientRecord['k']): ClientRecord[] {
    return this.records.filter((r) => r.id === id && r.k === k);
  }
}

/** A real socket.io-client with its defaults (polling, then websocket; reconnection on), and what it saw. */
function realClient(url: string, token: string) {
  const socket: Socket = io(url, { auth: { token } });
  const seen = {
    socket,
    connects: 0,
    restored: 0,
    connectErrors: [] as (string | undefined)[],
    disconnects: [] as string[],
    reconnectErrors: 0,
  };
  socket.on('connect', () => seen.connects++);
  socket.on('session:restored', () => seen.restored++);
  socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
    // Engine failures (no data) are reported here too; middleware refusals carry the wire error.
    if (err.data !== undefined) seen.connectErrors.push(err.data.code);
  });
  socket.on('disconnect', (reason) => seen.disconnects.push(reason));
  socket.io.on('reconnect_error', () => seen.reconnectErrors++);
  return seen;
}

describe('the socketio policy behaves as socket.io-client', () => {
  let lean: LeanFleet;
  const gateways: RunningGateway[] = [];
  const sockets: Socket[] = [];
  const fronts: Front[] = [];
  const gateway = async (overrides: Record<string, string> = {}): Promise<RunningGateway> => {
    const gw = await startGateway({ ...env, ...overrides });
    gateways.push(gw);
    return gw;
  };
  const real = (url: string, token: string) => {
    const seen = realClient(url, token);
    sockets.push(seen.socket);
    return seen;
  };

  beforeAll(async () => {
    lean = await LeanFleet.start('socketio');
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    for (const label of ['a', 'b', 'c']) lean.pool.end(label);
    await Promise.all(fronts.splice(0).map((f) => f.close()));
    await Promise.all(gateways.splice(0).map((g) => g.stop()));
  });
  afterAll(() => {
    lean.pool.close();
  });

  it('(a) after AUTH_INVALID neither the real client nor the lean one ever tries again', async () => {
    const [gwReal, gwLean] = [await gateway(), await gateway()];
    const r = real(gwReal.url, 'not-a-jwt');
    lean.add(1, gwLean.url, 'not-a-jwt', 'a');
    await waitFor(() => r.connectErrors.length > 0 && lean.of(1, 'stranded').length > 0, 10_000, 'refusals');
    expect(r.connectErrors).toEqual(['AUTH_INVALID']);
    expect(r.socket.active).toBe(false);
    expect(lean.of(1, 'stranded')).toMatchObject([{ code: 'AUTH_INVALID', cause: 'connect_error' }]);
    // socket.io-client's first retry would come within 1.5 s; give both twice that to try again.
    await expect(
      waitFor(
        async () => total(await handshakes(gwReal)) > 1 || total(await handshakes(gwLean)) > 1,
        3000,
        'a second handshake',
      ),
    ).rejects.toThrow(/not met/);
    expect(await handshakes(gwReal)).toEqual({ AUTH_INVALID: 1 });
    expect(await handshakes(gwLean)).toEqual({ AUTH_INVALID: 1 });
    expect(lean.of(1, 'hs')).toHaveLength(1);
    expect(r.reconnectErrors).toBe(0);
  });

  it('(b) after a server-side transport close and failed engine opens, both come back by themselves', async () => {
    const a = await gateway();
    const [bReal, bLean] = [await gateway(), await gateway()];
    const frontReal = new Front(a.port);
    const frontLean = new Front(a.port);
    fronts.push(frontReal, frontLean);
    const r = real(await frontReal.listen(), tokenFor(env, 'b-real'));
    lean.add(2, await frontLean.listen(), tokenFor(env, 'b-lean'), 'b');
    await waitFor(() => r.restored === 1 && lean.of(2, 'up').length === 1, 10_000, 'both connected');

    // Node A goes out of rotation (the front resets new connections), then drains: it closes each
    // engine transport itself, after `server:draining`.
    frontReal.target = 'reset';
    frontLean.target = 'reset';
    const closing = a.gateway.close();
    await waitFor(() => r.disconnects.length === 1 && lean.of(2, 'down').length === 1, 10_000, 'drops');
    expect(r.disconnects).toEqual(['transport close']);
    expect(lean.of(2, 'down')).toMatchObject([{ reason: 'transport close' }]);
    // Both retry by themselves, and the engine open fails (nothing behind the front).
    await waitFor(
      () => r.reconnectErrors >= 1 && lean.of(2, 'err').length >= 1,
      10_000,
      'a failed engine open each',
    );
    frontReal.target = bReal.port;
    frontLean.target = bLean.port;
    await waitFor(() => r.restored === 2 && lean.of(2, 'up').length === 2, 15_000, 'both back on B');
    await closing;
    expect(r.connectErrors).toEqual([]);
    expect(lean.of(2, 'stranded')).toEqual([]);
    expect(await handshakes(bReal)).toEqual({ ok: 1 });
    expect(await handshakes(bLean)).toEqual({ ok: 1 });
  });

  it('(c) as many lean clients as real ones end up connected when the server refuses handshakes over its rate', async () => {
    const N = 5;
    const T = 10_000;
    const limit = { HANDSHAKES_PER_SECOND: '1' };
    const [gwReal, gwLean] = [await gateway(limit), await gateway(limit)];
    const reals = Array.from({ length: N }, (_, i) => real(gwReal.url, tokenFor(env, `c-real-${i}`)));
    for (let i = 0; i < N; i++) lean.add(100 + i, gwLean.url, tokenFor(env, `c-lean-${i}`), 'c');
    const leanIds = Array.from({ length: N }, (_, i) => 100 + i);
    const realConnected = () => reals.filter((x) => x.restored > 0).length;
    const realEnded = () => reals.filter((x) => x.restored === 0 && !x.socket.active).length;
    const leanConnected = () => leanIds.filter((id) => lean.of(id, 'up').length > 0).length;
    const leanEnded = () => leanIds.filter((id) => lean.of(id, 'stranded').length > 0).length;
    // Settled: every client connected or given up for good (or T passed: someone is still retrying).
    await waitFor(
      () => realConnected() + realEnded() === N && leanConnected() + leanEnded() === N,
      T,
      'all settled',
    ).catch(() => undefined);
    const seen = {
      real: { connected: realConnected(), ended: realEnded(), handshakes: await handshakes(gwReal) },
      lean: { connected: leanConnected(), ended: leanEnded(), handshakes: await handshakes(gwLean) },
    };
    const detail = JSON.stringify(seen);
    expect(seen.real.connected, detail).toBeGreaterThanOrEqual(1);
    expect(Math.abs(seen.real.connected - seen.lean.connected), detail).toBeLessThanOrEqual(1);
    expect(Math.abs(seen.real.ended - seen.lean.ended), detail).toBeLessThanOrEqual(1);
    // Whoever ended, ended on the code the server refused it with, on both sides.
    const realCodes = new Set(reals.filter((x) => !x.socket.active).flatMap((x) => x.connectErrors));
    const leanCodes = new Set(
      leanIds.flatMap((id) => lean.of(id, 'stranded').map((r) => (r as { code: string }).code)),
    );
    expect([...leanCodes].sort(), detail).toEqual([...realCodes].sort());
  });
});

describe('what each policy tells the server, and how sdk retries a retryable refusal', () => {
  const auths: Record<string, unknown>[] = [];
  const attempts = new Map<string, number>();
  const http = createHttpServer();
  const server = new IoServer(http, { transports: ['websocket'] });
  let url = '';
  const fleets: LeanFleet[] = [];

  beforeAll(async () => {
    server.use((socket, next) => {
      const auth = socket.handshake.auth as { token?: string };
      auths.push(auth);
      const token = auth.token ?? '';
      const n = (attempts.get(token) ?? 0) + 1;
      attempts.set(token, n);
      const refuse = (code: string, retryable: boolean, retryAfterMs?: number): void =>
        next(
          Object.assign(new Error(code), {
            data: { code, message: code, retryable, ...(retryAfterMs ? { retryAfterMs } : {}) },
          }),
        );
      if (token.startsWith('bad')) return refuse('AUTH_INVALID', false);
      if (token.startsWith('limited') && n <= 2) return refuse('RATE_LIMITED', true, 300);
      next();
    });
    server.on('connection', (socket) => {
      socket.emit('session:restored', { recovered: false, rooms: [], expiresAt: 0, queues: [], holds: [] });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const f of fleets) f.pool.close();
    await new Promise<void>((resolve) => void server.close(() => resolve()));
  });

  it('socketio sends { token } only and stops at a retryable refusal; sdk declares retryableConnectErrors and comes back after retryAfterMs', async () => {
    const io = await LeanFleet.start('socketio');
    const sdk = await LeanFleet.start('sdk');
    fleets.push(io, sdk);
    io.add(1, url, 'limited-io', 'p');
    sdk.add(1, url, 'limited-sdk', 'p');
    sdk.add(2, url, 'bad-sdk', 'p');
    await waitFor(() => io.of(1, 'stranded').length === 1, 10_000, 'socketio stranded');
    await waitFor(() => sdk.of(1, 'up').length === 1, 10_000, 'sdk connected');
    await waitFor(() => sdk.of(2, 'stranded').length === 1, 10_000, 'sdk stopped at AUTH_INVALID');

    expect(auths.filter((a) => a['token'] === 'limited-io')).toEqual([{ token: 'limited-io' }]);
    expect(auths.filter((a) => a['token'] === 'limited-sdk')).toEqual(
      Array(3).fill({ token: 'limited-sdk', retryableConnectErrors: true }),
    );
    expect(io.of(1, 'stranded')).toMatchObject([{ code: 'RATE_LIMITED', cause: 'connect_error' }]);
    // Two refusals with retryAfterMs 300, then in: no retry came sooner than the server said.
    const starts = sdk.of(1, 'hs').map((r) => r.t);
    expect(starts).toHaveLength(3);
    for (let i = 1; i < starts.length; i++)
      expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(300);
    // A refusal that is not retryable ends the sdk client too (the SDK goes `unauthorized`), after one try.
    expect(sdk.of(2, 'stranded')).toMatchObject([{ code: 'AUTH_INVALID' }]);
    expect(sdk.of(2, 'hs')).toHaveLength(1);
  });
});
