/**
 * Kick and revoke on one node with the embedded store (no Redis, no adapter): the node is the whole
 * cluster, so the answer is complete at once. The cluster behaviour is in test/cluster/kick-revoke.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { WireError } from '@stayline/client-sdk/protocol';
import { baseEnv, connect } from '../support/gateway.ts';
import { useGateway } from '../support/fixture.ts';
import { signToken } from '../support/tokens.ts';
import { nextEvent, request } from '../support/wait.ts';

const SERVICE_TOKEN = 'kick-test-service-token-0123456789';

const post = (url: string, userId: string, body?: unknown, token = SERVICE_TOKEN) =>
  fetch(`${url}/v1/users/${encodeURIComponent(userId)}/disconnect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).then(async (res) => ({ status: res.status, body: await res.json() }));

/** Resolves with the session:ended payloads seen before the disconnect, and its reason. */
const ending = (socket: Socket) => {
  const ended: WireError[] = [];
  socket.on('session:ended', (p: WireError) => ended.push(p));
  return nextEvent<string>(socket, 'disconnect').then((reason) => ({ ended, reason }));
};

describe('kick and revoke on a single node (embedded store)', () => {
  const gw = useGateway(() => baseEnv({ SERVICE_TOKEN }));
  const tokenAt = (sub: string, iat: number) =>
    signToken({ key: gw.env['JWT_SECRET'] ?? '', sub, nowMs: iat * 1000, expiresIn: 600 });
  const refusal = async (token: string): Promise<WireError | undefined> => {
    const socket = gw.track(connect(gw.url, token));
    return Promise.race([
      nextEvent<{ data?: WireError }>(socket, 'connect_error').then((e) => e.data),
      nextEvent(socket, 'session:restored').then(() => undefined),
    ]);
  };

  it('closes every socket of the user and answers 200 with the count at once (no other node to ask)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const a = await gw.open('ann', { token: tokenAt('ann', now) });
    const b = await gw.open('ann', { token: tokenAt('ann', now) });
    const other = await gw.open('ben');
    const endings = [ending(a.socket), ending(b.socket)];
    const started = performance.now();
    expect(await post(gw.url, 'ann')).toEqual({
      status: 200,
      body: { ok: true, data: { disconnected: 2, complete: true, revoked: false } },
    });
    // Well under the 6 s a missing node's answer would be waited for.
    expect(performance.now() - started).toBeLessThan(3_000);
    for (const result of await Promise.all(endings)) {
      expect(result).toEqual({
        ended: [{ code: 'SESSION_KICKED', message: expect.any(String), retryable: false }],
        reason: 'io server disconnect',
      });
    }
    // A round trip after the answer: a wrongly kicked socket would not answer it.
    expect(await request(other.socket, 'room:join', { room: 'stays' })).toMatchObject({ ok: true });
  });

  it('revokes in the embedded store: iat at or before the revocation second is AUTH_REVOKED, the next second works', async () => {
    const now = Math.floor(Date.now() / 1000);
    const c = await gw.open('cat', { token: tokenAt('cat', now - 5) });
    const ended = ending(c.socket);
    const answer = (await post(gw.url, 'cat', { revoke: true })) as {
      status: number;
      body: { ok: true; data: { revokedAt: number; disconnected: number } };
    };
    expect(answer.status).toBe(200);
    expect(answer.body.data.disconnected).toBe(1);
    expect((await ended).ended.map((e) => e.code)).toEqual(['AUTH_REVOKED']);
    const { revokedAt } = answer.body.data;
    expect(await refusal(tokenAt('cat', now - 5))).toMatchObject({ code: 'AUTH_REVOKED', retryable: false });
    expect(await refusal(tokenAt('cat', revokedAt))).toMatchObject({ code: 'AUTH_REVOKED' });
    expect(await refusal(tokenAt('cat', revokedAt + 1))).toBeUndefined();
    expect(await gw.metric(/stayline_handshakes_total\{[^}]*result="AUTH_REVOKED"[^}]*\} (\d+)/)).toBe(2);
  });
});

describe('the users API without SERVICE_TOKEN', () => {
  const gw = useGateway(() => baseEnv());

  it('is off: 403 FORBIDDEN, and nobody is disconnected', async () => {
    const { socket } = await gw.open('dee');
    expect(await post(gw.url, 'dee', { revoke: true }, 'anything-at-all-0123')).toMatchObject({
      status: 403,
      body: { ok: false, error: { code: 'FORBIDDEN' } },
    });
    expect(await request(socket, 'room:join', { room: 'stays' })).toMatchObject({ ok: true });
  });
});
