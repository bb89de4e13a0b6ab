/**
 * Kick and revoke, cluster-wide: `POST /v1/users/:userId/disconnect` on one of two gateway processes on
 * one real Redis (Redis adapter) or Redis Cluster (sharded adapter), with the stock socket.io-client and
 * the SDK. Tokens are minted with an
 * explicit `iat`, so the "at or before the revocation second" boundary is tested exactly.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { createClient, type StaylineClient } from '@stayline/client-sdk';
import type { Ack, AuthRefreshResult, RoomResult, WireError } from '@stayline/client-sdk/protocol';
import { untilStatus } from '../../../client-sdk/test/support/client-wait.ts';
import { connect } from '../support/gateway.ts';
import { SERVICE_TOKEN, startCluster, type TestCluster } from '../support/cluster.ts';
import { hmacToken, signToken } from '../support/tokens.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const DAY = 86_400;
const KICKS = /stayline_user_disconnects_total\{[^}]*revoke="false"[^}]*\} (\d+)/;
const REVOKES = /stayline_user_disconnects_total\{[^}]*revoke="true"[^}]*\} (\d+)/;

interface Disconnected {
  /** The `session:ended` payloads the socket got before it was disconnected. */
  ended: WireError[];
  reason: string;
}

interface KickAnswer {
  status: number;
  body:
    | { ok: true; data: { disconnected: number; complete: boolean; revoked: boolean; revokedAt?: number } }
    | { ok: false; error: WireError };
}

// On one redis-server (Redis adapter) and on a three-primary Redis Cluster (sharded adapter).
describe.each(['single', 'cluster'] as const)('kick and revoke across two nodes (Redis %s)', (redisKind) => {
  let cluster: TestCluster;
  const sockets: Socket[] = [];
  const clients: StaylineClient[] = [];

  beforeAll(async () => {
    // Many sockets of one user at once in the race test.
    cluster = await startCluster({ nodes: 2, redis: redisKind, env: { MAX_CONNECTIONS_PER_USER: '100' } });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const node = (i: number) => {
    const n = cluster.nodes[i];
    if (n === undefined) throw new Error(`no node ${i}`);
    return n;
  };
  const secret = (): string => cluster.env['JWT_SECRET'] ?? '';
  const nowSeconds = (): number => Math.floor(Date.now() / 1000);
  /** A token for `sub` issued at `iat` (epoch seconds), valid `ttl` seconds from then. */
  const tokenAt = (sub: string, iat: number, ttl = 3600): string =>
    signToken({ key: secret(), sub, nowMs: iat * 1000, expiresIn: ttl });

  const open = (nodeIndex: number, token: string, options: Parameters<typeof connect>[2] = {}): Socket => {
    const socket = connect(node(nodeIndex).url, token, options);
    sockets.push(socket);
    return socket;
  };
  /** Connects and waits for session:restored; also starts recording how the socket ends. */
  const connected = async (
    nodeIndex: number,
    token: string,
    options: Parameters<typeof connect>[2] = {},
  ): Promise<{ socket: Socket; gone: Promise<Disconnected> }> => {
    const socket = open(nodeIndex, token, options);
    const ended: WireError[] = [];
    socket.on('session:ended', (payload: WireError) => ended.push(payload));
    const gone = new Promise<Disconnected>((resolve) =>
      socket.once('disconnect', (reason) => resolve({ ended: [...ended], reason })),
    );
    await nextEvent(socket, 'session:restored', 10_000);
    return { socket, gone };
  };
  /** The wire error of a refused handshake (fails when the handshake succeeds instead). */
  const refusal = async (nodeIndex: number, token: string): Promise<WireError | undefined> => {
    const socket = open(nodeIndex, token);
    const outcome = await Promise.race([
      nextEvent<{ data?: WireError }>(socket, 'connect_error', 10_000).then((err) => err.data),
      nextEvent(socket, 'session:restored', 10_000).then(() => undefined),
    ]);
    socket.close();
    return outcome;
  };
  const within = <T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> =>
    Promise.race([
      promise,
      new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)),
    ]);

  const kick = async (
    nodeIndex: number,
    userId: string,
    init: { body?: string; token?: string | null; contentType?: string } = {},
  ): Promise<KickAnswer> => {
    const headers: Record<string, string> = { 'content-type': init.contentType ?? 'application/json' };
    if (init.token !== null) headers['authorization'] = `Bearer ${init.token ?? SERVICE_TOKEN}`;
    const res = await fetch(`${node(nodeIndex).url}/v1/users/${userId}/disconnect`, {
      method: 'POST',
      headers,
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    return { status: res.status, body: (await res.json()) as KickAnswer['body'] };
  };
  const metric = async (nodeIndex: number, pattern: RegExp): Promise<number> => {
    const text = await fetch(`${node(nodeIndex).url}/metrics`).then((r) => r.text());
    return Number(pattern.exec(text)?.[1] ?? 0);
  };

  it('closes every socket of the user on both nodes from a call to one, telling each SESSION_KICKED first, with an exact count', async () => {
    const token = tokenAt('alice', nowSeconds());
    const a1 = await connected(0, token, { reconnection: true });
    const a2 = await connected(0, token);
    const a3 = await connected(1, token, { reconnection: true });
    const sdk = createClient({
      url: node(1).url,
      getToken: () => token,
      backoff: { baseMs: 50, capMs: 200 },
    });
    clients.push(sdk);
    await untilStatus(sdk, 'connected');
    const bob = await connected(1, tokenAt('bob', nowSeconds()));
    const kicksBefore = await metric(0, KICKS);

    const answer = await kick(0, 'alice');
    expect(answer).toEqual({
      status: 200,
      body: { ok: true, data: { disconnected: 4, complete: true, revoked: false } },
    });
    for (const { gone } of [a1, a2, a3]) {
      expect(await within(gone, 'a kicked socket to disconnect')).toEqual({
        ended: [{ code: 'SESSION_KICKED', message: expect.any(String), retryable: false }],
        reason: 'io server disconnect',
      });
    }
    // "io server disconnect" turns the stock client's own reconnection off: it stays out.
    expect(a1.socket.active).toBe(false);
    expect(a3.socket.active).toBe(false);
    await untilStatus(sdk, 'disconnected');
    expect(sdk.state.lastError).toBe('SESSION_KICKED');

    // Nobody else was touched.
    const ack = await request<Ack<RoomResult>>(bob.socket, 'room:join', { room: 'still-here' });
    expect(ack.ok).toBe(true);
    // A plain kick revokes nothing: the same token connects again, on either node, when the app says so.
    await connected(1, token);
    await connected(0, token);
    expect(await metric(0, KICKS)).toBe(kicksBefore + 1);
    // Logged at info with the user and the count, never with a token.
    const line = await waitFor(
      () =>
        node(0)
          .output()
          .split('\n')
          .find((l) => l.includes("ended a user's sessions") && l.includes('"alice"')),
      5_000,
      'the kick to be logged',
    );
    expect(JSON.parse(line)).toMatchObject({
      level: 30,
      userId: 'alice',
      revoke: false,
      disconnected: 4,
    });
    expect(node(0).output()).not.toContain(token.split('.')[2]);
  });

  it('revokes: old tokens (iat at or before the revocation second, or no iat) are refused AUTH_REVOKED on both nodes, at the handshake and on auth:refresh; later tokens work', async () => {
    const oldToken = tokenAt('carol', nowSeconds() - 60);
    const c1 = await connected(0, oldToken);
    const c2 = await connected(1, oldToken, { reconnection: true });
    const sdk = createClient({
      url: node(0).url,
      getToken: () => oldToken,
      backoff: { baseMs: 50, capMs: 200 },
    });
    clients.push(sdk);
    await untilStatus(sdk, 'connected');
    const revokesBefore = await metric(1, REVOKES);

    const answer = await kick(1, 'carol', { body: JSON.stringify({ revoke: true }) });
    expect(answer.status).toBe(200);
    const revokedAt = dataOf(answer).revokedAt ?? 0;
    expect(dataOf(answer)).toEqual({ disconnected: 3, complete: true, revoked: true, revokedAt });
    expect(Math.abs(revokedAt - nowSeconds())).toBeLessThanOrEqual(2);
    for (const { gone } of [c1, c2]) {
      expect(await within(gone, 'a revoked socket to disconnect')).toEqual({
        ended: [{ code: 'AUTH_REVOKED', message: expect.any(String), retryable: false }],
        reason: 'io server disconnect',
      });
    }
    expect(c2.socket.active).toBe(false);
    // The SDK signs out: unauthorized, with the code, and does not come back by itself.
    await untilStatus(sdk, 'unauthorized');
    expect(sdk.state.lastError).toBe('AUTH_REVOKED');

    const revoked = { code: 'AUTH_REVOKED', message: expect.any(String), retryable: false };
    for (const nodeIndex of [0, 1]) {
      expect(await refusal(nodeIndex, oldToken)).toEqual(revoked);
      // At or before: a token issued in the revocation second itself is refused too.
      expect(await refusal(nodeIndex, tokenAt('carol', revokedAt))).toEqual(revoked);
      // A token without iat counts as issued at exp - JWT_MAX_LIFETIME_SECONDS: refused while revoked.
      const noIat = hmacToken(
        { alg: 'HS256', typ: 'JWT' },
        { sub: 'carol', exp: nowSeconds() + 600 },
        secret(),
      );
      expect(await refusal(nodeIndex, noIat)).toEqual(revoked);
      // Issued the second after: accepted.
      expect(await refusal(nodeIndex, tokenAt('carol', revokedAt + 1))).toBeUndefined();
    }
    // Other users are not affected, with or without iat.
    expect(await refusal(0, tokenAt('dan', revokedAt))).toBeUndefined();

    // auth:refresh on a live socket (connected with a later token) refuses old tokens on either node.
    for (const nodeIndex of [0, 1]) {
      const { socket } = await connected(nodeIndex, tokenAt('carol', revokedAt + 1));
      for (const old of [oldToken, tokenAt('carol', revokedAt)]) {
        const refused = await request<Ack<AuthRefreshResult>>(socket, 'auth:refresh', { token: old });
        expect(refused).toEqual({ ok: false, error: revoked });
      }
      const renewed = await request<Ack<AuthRefreshResult>>(socket, 'auth:refresh', {
        token: tokenAt('carol', revokedAt + 1, 7200),
      });
      expect(renewed).toEqual({ ok: true, data: { expiresAt: (revokedAt + 1 + 7200) * 1000 } });
    }
    expect(await metric(1, REVOKES)).toBe(revokesBefore + 1);
  });

  it('refuses a token valid 400 days with AUTH_INVALID on both nodes, at the handshake and on auth:refresh', async () => {
    const long = tokenAt('erin', nowSeconds(), 400 * DAY);
    for (const nodeIndex of [0, 1]) {
      expect(await refusal(nodeIndex, long)).toMatchObject({ code: 'AUTH_INVALID', retryable: false });
      const { socket } = await connected(nodeIndex, tokenAt('erin', nowSeconds(), DAY));
      const refused = await request<Ack<AuthRefreshResult>>(socket, 'auth:refresh', { token: long });
      expect(refused).toMatchObject({ ok: false, error: { code: 'AUTH_INVALID' } });
    }
  });

  it('refuses the users API without a valid service token (401, read before the body) or with a bad user id or body (400), closing nothing', async () => {
    const token = tokenAt('frank', nowSeconds() - 10);
    const frank = await connected(0, token);
    const countsBefore = await Promise.all([0, 1].map((i) => metric(i, REVOKES)));
    const revokeBody = JSON.stringify({ revoke: true });
    const invalid = {
      ok: false,
      error: { code: 'AUTH_INVALID', message: expect.any(String), retryable: false },
    };
    expect(await kick(0, 'frank', { body: revokeBody, token: null })).toEqual({ status: 401, body: invalid });
    expect(await kick(1, 'frank', { body: revokeBody, token: 'not-the-service-token' })).toEqual({
      status: 401,
      body: invalid,
    });
    // Authentication comes first: a 64 KB body (over the 1 KB limit) without the token is a 401, not a 400.
    const big = JSON.stringify({ revoke: true, pad: 'x'.repeat(64 * 1024) });
    expect((await kick(0, 'frank', { body: big, token: 'wrong' })).status).toBe(401);

    const bad = async (userId: string, init: Parameters<typeof kick>[2] = {}) => {
      const answer = await kick(1, userId, init);
      expect(answer.status, `${userId} ${init.body ?? ''}`).toBe(400);
      expect(answer.body).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      return answer.body.ok ? '' : answer.body.error.message;
    };
    expect(await bad('u'.repeat(257))).toMatch(/userId/);
    expect(await bad('%E0%A4%A')).toMatch(/userId/);
    const tooBig = await kick(1, 'frank', { body: big });
    expect(tooBig).toMatchObject({ status: 413, body: { ok: false, error: { code: 'MESSAGE_TOO_LARGE' } } });
    // A body that is not {} or { revoke: boolean } is refused, never read as "no revocation".
    await bad('frank', { body: 'revoke=true', contentType: 'application/x-www-form-urlencoded' });
    await bad('frank', { body: JSON.stringify({ revoke: 'yes' }) });
    // Refused with a bounded message that does not echo the input.
    expect(await bad('frank', { body: JSON.stringify({ revoke: true, sneaky: 1 }) })).not.toContain('sneaky');
    await bad('frank', { body: '[true]' });
    await bad('frank', { body: 'null' });
    const latin1 = await kick(1, 'frank', {
      body: revokeBody,
      contentType: 'application/json; charset=latin1',
    });
    expect(latin1).toMatchObject({
      status: 415,
      body: { ok: false, error: { code: 'MESSAGE_ENCODING_UNSUPPORTED' } },
    });

    // Nothing happened to frank: still connected, and his token still opens new connections.
    const ack = await request<Ack<RoomResult>>(frank.socket, 'room:join', { room: 'unharmed' });
    expect(ack.ok).toBe(true);
    expect(await refusal(1, token)).toBeUndefined();
    expect(await Promise.all([0, 1].map((i) => metric(i, REVOKES)))).toEqual(countsBefore);
  });

  it('reaches a user id with reserved URL characters when it is percent-encoded, and only that user', async () => {
    const odd = 'team/7 %x?';
    const target = await connected(1, tokenAt(odd, nowSeconds()));
    const neighbour = await connected(1, tokenAt('team', nowSeconds()));
    const answer = await kick(0, encodeURIComponent(odd));
    expect(answer).toMatchObject({ status: 200, body: { ok: true, data: { disconnected: 1 } } });
    expect((await within(target.gone, 'the odd user to be kicked')).ended).toHaveLength(1);
    expect(neighbour.socket.connected).toBe(true);
    // A user with no socket anywhere: nothing to close, still a complete answer.
    expect(await kick(1, 'nobody-here')).toMatchObject({
      status: 200,
      body: { ok: true, data: { disconnected: 0, complete: true } },
    });
  });

  it('answers 202 with the count it has when a node does not answer in time; that node still ends its sockets once it runs again', async () => {
    const token = tokenAt('hank', nowSeconds());
    const onZero = await connected(0, token);
    const onOne = await connected(1, token);
    // A node that is alive for Redis (still subscribed) but answers nothing: stopped, by its pid.
    const paused = node(1).child;
    paused.kill('SIGSTOP');
    let answer: KickAnswer;
    try {
      answer = await kick(0, 'hank');
    } finally {
      paused.kill('SIGCONT');
    }
    expect(answer).toEqual({
      status: 202,
      body: { ok: true, data: { disconnected: 1, complete: false, revoked: false } },
    });
    expect((await within(onZero.gone, 'the answering node to end its socket')).ended).toHaveLength(1);
    // The request waited in its Redis connection: the late node acts on it when it runs again.
    expect(await within(onOne.gone, 'the late node to end its socket')).toEqual({
      ended: [{ code: 'SESSION_KICKED', message: expect.any(String), retryable: false }],
      reason: 'io server disconnect',
    });
  });

  it('leaves no socket of a revoked user connected when 30 handshakes on both nodes race the revocation', async () => {
    const oldToken = tokenAt('gina', nowSeconds() - 30);
    type Outcome = { kind: 'refused' | 'ended'; code: string | undefined };
    const outcomes = Array.from({ length: 30 }, (_, i) => {
      const socket = open(i % 2, oldToken);
      const ended: string[] = [];
      socket.on('session:ended', (p: WireError) => ended.push(p.code));
      return new Promise<Outcome>((resolve) => {
        socket.once('connect_error', (err: { data?: WireError }) =>
          resolve({ kind: 'refused', code: err.data?.code }),
        );
        socket.once('disconnect', () => resolve({ kind: 'ended', code: ended[0] }));
      });
    });
    // Revoke in the same tick: some handshakes are refused, some connect before, some are in between.
    const answer = await kick(0, 'gina', { body: JSON.stringify({ revoke: true }) });
    expect(answer.status).toBe(200);
    // Every one of them ends: refused at the handshake, or told and closed; none stays connected.
    const settled = await within(
      Promise.all(outcomes),
      'every racing socket to be refused or closed',
      20_000,
    );
    expect(settled.filter((o) => o.code !== 'AUTH_REVOKED')).toEqual([]);
    // Sockets ended as their late handshake completed are closed but not counted in the answer.
    const ended = settled.filter((o) => o.kind === 'ended').length;
    expect(dataOf(answer).disconnected).toBeLessThanOrEqual(ended);
  });
});

/** The data of a successful answer; throws with the code otherwise. */
function dataOf(answer: KickAnswer) {
  if (!answer.body.ok) throw new Error(`refused: ${answer.body.error.code}`);
  return answer.body.data;
}
