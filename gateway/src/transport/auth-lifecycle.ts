/**
 * A live socket's token expires. This module warns the client `AUTH_EXPIRY_WARNING_SECONDS` before `exp`
 * (`auth:expiring`), accepts `auth:refresh { token }` for the same user, and at `exp` plus the clock
 * tolerance without a refresh sends `auth:expired` and disconnects.
 */
import { wireError } from '@stayline/client-sdk/protocol';
import type { Principal } from '../auth/index.ts';
import type { GatewaySocket } from './socket-types.ts';

/** setTimeout overflows past 2^31-1 ms (about 24.8 days); longer waits are re-armed when they fire. */
const MAX_TIMER_MS = 2_147_483_647;

export interface AuthLifecycle {
  /** Replaces the principal after a successful refresh and re-arms both timers. */
  renew(principal: Principal): void;
  /** Ends the connection as expired, now (idempotent). */
  expireNow(): void;
  /** Clears the timers (on disconnect). */
  stop(): void;
}

export interface AuthLifecycleOptions {
  warningSeconds: number;
  clockToleranceSeconds: number;
  now?: () => number;
  onExpired?: () => void;
}

export function startAuthLifecycle(socket: GatewaySocket, options: AuthLifecycleOptions): AuthLifecycle {
  const now = options.now ?? Date.now;
  interface Slot {
    timer: NodeJS.Timeout | undefined;
  }
  let warnSlot: Slot = { timer: undefined };
  let cutSlot: Slot = { timer: undefined };

  /** Runs `action` at wall-clock `timeMs`, re-arming when the wait is longer than one timer can hold. */
  const at = (timeMs: number, action: () => void): Slot => {
    const slot: Slot = { timer: undefined };
    const schedule = (): void => {
      const wait = Math.min(Math.max(0, timeMs - now()), MAX_TIMER_MS);
      slot.timer = setTimeout(() => (now() >= timeMs ? action() : schedule()), wait);
    };
    schedule();
    return slot;
  };

  const expireNow = (): void => {
    if (socket.data.expired) return;
    socket.data.expired = true;
    stop();
    options.onExpired?.();
    socket.emit('auth:expired', wireError('AUTH_EXPIRED', 'The token expired and was not refreshed.'));
    // disconnect(true) after the emit: the packet is queued on the transport before it closes.
    socket.disconnect(true);
  };

  const arm = (principal: Principal): void => {
    stop();
    const expiresAt = principal.expiresAtMs;
    warnSlot = at(expiresAt - options.warningSeconds * 1000, () =>
      socket.emit('auth:expiring', { expiresAt }),
    );
    cutSlot = at(expiresAt + options.clockToleranceSeconds * 1000, expireNow);
  };

  function stop(): void {
    clearTimeout(warnSlot.timer);
    clearTimeout(cutSlot.timer);
  }

  arm(socket.data.principal);
  return {
    renew(principal) {
      socket.data.principal = principal;
      arm(principal);
    },
    expireNow,
    stop,
  };
}
