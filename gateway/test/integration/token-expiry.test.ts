import { describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Ack, AuthExpiringPayload, RoomResult, WireError } from '@stayline/client-sdk/protocol';
import { useGateway } from '../support/fixture.ts';
import { baseEnv, connect, tokenFor } from '../support/gateway.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

describe('token expiry on a live socket', () => {
  // Warn 2 s ahead, no clock tolerance: the cut comes exactly at `exp`.
  const env = baseEnv({ AUTH_EXPIRY_WARNING_SECONDS: '2', JWT_CLOCK_TOLERANCE_SECONDS: '0' });
  const gw = useGateway(() => env);
  const open = async (token: string): Promise<Socket> => (await gw.open('', { token })).socket;
  /**
   * Connects and starts listening for auth:expiring before the session is restored: with a token this
   * short the warning can be due at once, in the same moment as session:restored.
   */
  const openExpiring = async (
    token: string,
  ): Promise<{ socket: Socket; expiring: Promise<AuthExpiringPayload> }> => {
    const socket = gw.track(connect(gw.url, token));
    const expiring = nextEvent<AuthExpiringPayload>(socket, 'auth:expiring', 6_000);
    await nextEvent(socket, 'session:restored');
    return { socket, expiring };
  };

  it('warns with auth:expiring, then ends with auth:expired and processes nothing sent after expiry', async () => {
    const token = tokenFor(env, 'expiring-user', { expiresIn: 3 });
    const expiresAtMs = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).exp * 1000;
    const opened = await openExpiring(token);
    const socket = opened.socket;
    const expiring = await opened.expiring;
    expect(expiring.expiresAt).toBe(expiresAtMs);

    // Keep sending joins across the expiry instant; none sent after it may be applied.
    const sent: { room: string; at: number; ack: Promise<Ack<RoomResult>> }[] = [];
    const expired = nextEvent<WireError>(socket, 'auth:expired', 6_000);
    const disconnected = nextEvent<string>(socket, 'disconnect', 6_000);
    const pump = setInterval(() => {
      const room = `tick-${sent.length}`;
      sent.push({
        room,
        at: Date.now(),
        ack: request<Ack<RoomResult>>(socket, 'room:join', { room }, 8_000).catch(
          () => ({ ok: false }) as never,
        ),
      });
    }, 40);
    await expect(expired).resolves.toMatchObject({ code: 'AUTH_EXPIRED' });
    expect(await disconnected).toBe('io server disconnect');
    clearInterval(pump);

    const acks = await Promise.all(sent.map((s) => s.ack));
    const applied = new Set(acks.flatMap((a) => (a.ok ? [a.data.room] : [])));
    expect(applied.size).toBeGreaterThan(0);
    // What the session holds now is exactly what was acknowledged: nothing after expiry slipped in.
    const { session: restored } = await gw.open('expiring-user');
    expect(new Set(restored.rooms)).toEqual(applied);
    for (const s of sent) if (applied.has(s.room)) expect(s.at).toBeLessThan(expiresAtMs + 100);
  });

  it('keeps the socket past the old expiry after auth:refresh with a fresh token', async () => {
    const { socket, expiring } = await openExpiring(tokenFor(env, 'refresh-user', { expiresIn: 3 }));
    await expiring;
    const fresh = tokenFor(env, 'refresh-user', { expiresIn: 600 });
    const ack = await request<Ack<{ expiresAt: number }>>(socket, 'auth:refresh', { token: fresh });
    expect(ack.ok).toBe(true);
    if (ack.ok) expect(ack.data.expiresAt).toBeGreaterThan(Date.now() + 500_000);
    const oldCut = Date.now() + 3_000;
    await waitFor(() => Date.now() > oldCut + 500, 6_000, 'the old expiry to pass');
    expect(socket.connected).toBe(true);
    const join = await request<Ack<RoomResult>>(socket, 'room:join', { room: 'after-refresh' });
    expect(join.ok).toBe(true);
  });

  it('refuses a refresh naming another user with AUTH_SUBJECT_MISMATCH and keeps the old expiry', async () => {
    const socket = await open(tokenFor(env, 'victim', { expiresIn: 600 }));
    const ack = await request<Ack<unknown>>(socket, 'auth:refresh', {
      token: tokenFor(env, 'attacker', { expiresIn: 600 }),
    });
    expect(ack).toMatchObject({ ok: false, error: { code: 'AUTH_SUBJECT_MISMATCH' } });
    const bad = await request<Ack<unknown>>(socket, 'auth:refresh', { token: 'not-a-token' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'AUTH_INVALID' } });
    expect(socket.connected).toBe(true);
  });
});
