import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Principal } from '../../../src/auth/index.ts';
import { startAuthLifecycle, type AuthLifecycleOptions } from '../../../src/transport/auth-lifecycle.ts';
import type { GatewaySocket } from '../../../src/transport/socket-types.ts';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const SECOND = 1000;
const DAY = 24 * 3600 * SECOND;
/** setTimeout's largest delay; longer ones fire after 1 ms (and vitest's fake timers do the same). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const OPTIONS: AuthLifecycleOptions = { warningSeconds: 60, clockToleranceSeconds: 5 };

function principal(expiresAtMs: number, userId = 'alice'): Principal {
  return Object.freeze({
    userId,
    expiresAtMs,
    issuedAtSeconds: Math.floor(NOW / 1000),
    claims: Object.freeze({ sub: userId, exp: expiresAtMs / 1000 }),
  });
}

/** Just what startAuthLifecycle touches: `data`, `emit` and `disconnect`. */
function fakeSocket(p: Principal) {
  const fake = {
    data: { principal: p, expired: false } as { principal: Principal; expired: boolean },
    emit: vi.fn<(event: string, ...args: unknown[]) => boolean>(() => true),
    disconnect: vi.fn<(close?: boolean) => void>(),
  };
  return { fake, socket: fake as unknown as GatewaySocket };
}

const emitted = (fake: ReturnType<typeof fakeSocket>['fake'], event: string): unknown[][] =>
  fake.emit.mock.calls.filter(([name]) => name === event).map(([, ...args]) => args);

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('startAuthLifecycle', () => {
  it('warns with auth:expiring exactly AUTH_EXPIRY_WARNING_SECONDS before exp', () => {
    const exp = NOW + 10 * 60 * SECOND;
    const { fake, socket } = fakeSocket(principal(exp));
    startAuthLifecycle(socket, OPTIONS);
    vi.advanceTimersByTime(exp - 60 * SECOND - NOW - 1);
    expect(emitted(fake, 'auth:expiring')).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(emitted(fake, 'auth:expiring')).toEqual([[{ expiresAt: exp }]]);
    expect(fake.disconnect).not.toHaveBeenCalled();
  });

  it('sends auth:expired and then disconnects at exp plus the clock tolerance, not before', () => {
    const exp = NOW + 10 * 60 * SECOND;
    const { fake, socket } = fakeSocket(principal(exp));
    const onExpired = vi.fn();
    startAuthLifecycle(socket, { ...OPTIONS, onExpired });
    vi.advanceTimersByTime(exp + 5 * SECOND - NOW - 1);
    expect(emitted(fake, 'auth:expired')).toEqual([]);
    expect(fake.disconnect).not.toHaveBeenCalled();
    expect(fake.data.expired).toBe(false);

    vi.advanceTimersByTime(1);
    expect(emitted(fake, 'auth:expired')).toEqual([
      [{ code: 'AUTH_EXPIRED', message: expect.any(String), retryable: expect.any(Boolean) }],
    ]);
    expect(fake.disconnect).toHaveBeenCalledTimes(1);
    expect(fake.disconnect).toHaveBeenCalledWith(true);
    expect(fake.data.expired).toBe(true);
    expect(onExpired).toHaveBeenCalledTimes(1);
    // The expiry packet is queued before the transport closes.
    const expiredCall = fake.emit.mock.calls.findIndex(([name]) => name === 'auth:expired');
    expect(fake.emit.mock.invocationCallOrder[expiredCall]).toBeLessThan(
      fake.disconnect.mock.invocationCallOrder[0] ?? 0,
    );
  });

  it('emits each event once, in order, and nothing after the cut', () => {
    const exp = NOW + 10 * 60 * SECOND;
    const { fake, socket } = fakeSocket(principal(exp));
    startAuthLifecycle(socket, OPTIONS);
    vi.advanceTimersByTime(7 * DAY);
    expect(fake.emit.mock.calls.map(([name]) => name)).toEqual(['auth:expiring', 'auth:expired']);
    expect(fake.disconnect).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-arms on renew(): no expiry at the old time, a warning and a cut at the new one', () => {
    const exp = NOW + 10 * 60 * SECOND;
    const { fake, socket } = fakeSocket(principal(exp));
    const lifecycle = startAuthLifecycle(socket, OPTIONS);
    // Warned, then refreshed 30 s before the old exp.
    vi.advanceTimersByTime(exp - 30 * SECOND - NOW);
    expect(emitted(fake, 'auth:expiring')).toHaveLength(1);
    const newExp = exp + 3600 * SECOND;
    const renewed = principal(newExp);
    lifecycle.renew(renewed);
    expect(fake.data.principal).toBe(renewed);

    // Well past the old exp + tolerance: still connected, no new warning yet.
    vi.advanceTimersByTime(60 * SECOND);
    expect(emitted(fake, 'auth:expired')).toEqual([]);
    expect(fake.disconnect).not.toHaveBeenCalled();
    expect(emitted(fake, 'auth:expiring')).toHaveLength(1);

    vi.advanceTimersByTime(newExp - 60 * SECOND - 1 - Date.now());
    expect(emitted(fake, 'auth:expiring')).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(emitted(fake, 'auth:expiring')).toEqual([[{ expiresAt: exp }], [{ expiresAt: newExp }]]);
    vi.advanceTimersByTime(65 * SECOND - 1);
    expect(fake.disconnect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(emitted(fake, 'auth:expired')).toHaveLength(1);
    expect(fake.disconnect).toHaveBeenCalledWith(true);
  });

  it('does not fire early for an expiry beyond what one setTimeout can hold (about 24.8 days)', () => {
    const exp = NOW + 30 * DAY;
    const { fake, socket } = fakeSocket(principal(exp));
    startAuthLifecycle(socket, OPTIONS);
    // A naive setTimeout(…, 30 days) overflows and fires after 1 ms.
    vi.advanceTimersByTime(1);
    vi.advanceTimersByTime(MAX_TIMER_MS + 1);
    vi.advanceTimersByTime(DAY);
    expect(fake.emit).not.toHaveBeenCalled();
    expect(fake.disconnect).not.toHaveBeenCalled();

    vi.advanceTimersByTime(exp - 60 * SECOND - Date.now() - 1);
    expect(fake.emit).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(emitted(fake, 'auth:expiring')).toEqual([[{ expiresAt: exp }]]);
    vi.advanceTimersByTime(65 * SECOND - 1);
    expect(fake.disconnect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(emitted(fake, 'auth:expired')).toHaveLength(1);
    expect(fake.disconnect).toHaveBeenCalledWith(true);
  });

  it('handles an expiry years away without firing while it is still far off', () => {
    const exp = NOW + 3 * 365 * DAY;
    const { fake, socket } = fakeSocket(principal(exp));
    startAuthLifecycle(socket, OPTIONS);
    vi.advanceTimersByTime(365 * DAY);
    expect(fake.emit).not.toHaveBeenCalled();
    // One timer is pending at any time (the warning, then the cut, on one deadline heap), however often it
    // re-armed.
    expect(vi.getTimerCount()).toBe(1);
  });

  it('warns at once when the token is already inside its warning window', () => {
    const exp = NOW + 20 * SECOND;
    const { fake, socket } = fakeSocket(principal(exp));
    startAuthLifecycle(socket, OPTIONS);
    expect(fake.emit).not.toHaveBeenCalled();
    vi.advanceTimersByTime(0);
    expect(emitted(fake, 'auth:expiring')).toEqual([[{ expiresAt: exp }]]);
    expect(fake.disconnect).not.toHaveBeenCalled();
  });

  it('stop() cancels both timers', () => {
    const exp = NOW + 10 * 60 * SECOND;
    const { fake, socket } = fakeSocket(principal(exp));
    startAuthLifecycle(socket, OPTIONS).stop();
    vi.advanceTimersByTime(7 * DAY);
    expect(fake.emit).not.toHaveBeenCalled();
    expect(fake.disconnect).not.toHaveBeenCalled();
  });

  it('stop() also cancels a long wait that has already re-armed', () => {
    const { fake, socket } = fakeSocket(principal(NOW + 60 * DAY));
    const lifecycle = startAuthLifecycle(socket, OPTIONS);
    vi.advanceTimersByTime(30 * DAY);
    lifecycle.stop();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60 * DAY);
    expect(fake.emit).not.toHaveBeenCalled();
  });

  it('expireNow() ends the connection at once and only once', () => {
    const exp = NOW + 10 * 60 * SECOND;
    const { fake, socket } = fakeSocket(principal(exp));
    const onExpired = vi.fn();
    const lifecycle = startAuthLifecycle(socket, { ...OPTIONS, onExpired });
    lifecycle.expireNow();
    lifecycle.expireNow();
    vi.advanceTimersByTime(7 * DAY);
    expect(emitted(fake, 'auth:expired')).toHaveLength(1);
    expect(emitted(fake, 'auth:expiring')).toEqual([]);
    expect(fake.disconnect).toHaveBeenCalledTimes(1);
    expect(onExpired).toHaveBeenCalledTimes(1);
  });

  it('uses an injected clock rather than the timer delay to decide that exp has come', () => {
    let clock = NOW;
    const exp = NOW + 10 * 60 * SECOND;
    const { fake, socket } = fakeSocket(principal(exp));
    startAuthLifecycle(socket, { ...OPTIONS, now: () => clock });
    // The timers fire, but the injected clock says exp is still far: nothing happens, and they re-arm.
    vi.advanceTimersByTime(11 * 60 * SECOND);
    expect(fake.emit).not.toHaveBeenCalled();
    clock = exp + 5 * SECOND;
    vi.advanceTimersByTime(11 * 60 * SECOND);
    expect(fake.emit.mock.calls.map(([name]) => name)).toEqual(['auth:expiring', 'auth:expired']);
    expect(fake.disconnect).toHaveBeenCalledTimes(1);
  });
});
