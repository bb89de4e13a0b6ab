/**
 * A live socket's token expires. This module warns the client `AUTH_EXPIRY_WARNING_SECONDS` before `exp`
 * (`auth:expiring`), accepts `auth:refresh { token }` for the same user, and at `exp` plus the clock
 * tolerance without a refresh sends `auth:expired` and disconnects.
 *
 * Each socket's lifecycle is one small object on the node's shared deadline heap (deadlines.ts): one
 * deadline at a time (the warning, then the cut), no timer or closure per socket.
 */
import { wireError } from '@stayline/client-sdk/protocol';
import type { Principal } from '../auth/index.ts';
import { Deadlines, type Deadline } from './deadlines.ts';
import type { GatewaySocket } from './socket-types.ts';

export interface AuthLifecycle {
  /** Replaces the principal after a successful refresh and re-arms the warning and the cut. */
  renew(principal: Principal): void;
  /** Ends the connection as expired, now (idempotent). */
  expireNow(): void;
  /** Unschedules the warning and the cut (on disconnect). */
  stop(): void;
}

export interface AuthLifecycleOptions {
  warningSeconds: number;
  clockToleranceSeconds: number;
  /** The wall clock, epoch ms. Default Date.now (ignored when `deadlines` is given: it has its own). */
  now?: () => number;
  /** Called once per socket that expires (for the metric). */
  onExpired?: () => void;
  /**
   * The node's deadline heap, shared by every socket (one timer for all). Default: a heap of this socket's
   * own, on `now`.
   */
  deadlines?: Deadlines;
}

/** One socket's token lifecycle: its next deadline is the warning, then the cut. */
class SocketAuthLifecycle implements AuthLifecycle, Deadline {
  deadlineAt = 0;
  deadlineSlot = -1;
  private warned = false;

  constructor(
    private readonly socket: GatewaySocket,
    private readonly options: AuthLifecycleOptions,
    private readonly deadlines: Deadlines,
  ) {}

  arm(principal: Principal): void {
    this.warned = false;
    this.deadlines.schedule(this, principal.expiresAtMs - this.options.warningSeconds * 1000);
  }

  fire(): void {
    const expiresAt = this.socket.data.principal.expiresAtMs;
    if (this.warned) {
      this.expireNow();
      return;
    }
    this.warned = true;
    this.socket.emit('auth:expiring', { expiresAt });
    this.deadlines.schedule(this, expiresAt + this.options.clockToleranceSeconds * 1000);
  }

  renew(principal: Principal): void {
    this.socket.data.principal = principal;
    this.arm(principal);
  }

  expireNow(): void {
    const socket = this.socket;
    if (socket.data.expired) return;
    socket.data.expired = true;
    this.stop();
    this.options.onExpired?.();
    socket.emit('auth:expired', wireError('AUTH_EXPIRED', 'The token expired and was not refreshed.'));
    // disconnect(true) after the emit: the packet is queued on the transport before it closes.
    socket.disconnect(true);
  }

  stop(): void {
    this.deadlines.cancel(this);
  }
}

/** Starts the lifecycle of `socket`'s current principal (`socket.data.principal`). */
export function startAuthLifecycle(socket: GatewaySocket, options: AuthLifecycleOptions): AuthLifecycle {
  const lifecycle = new SocketAuthLifecycle(
    socket,
    options,
    options.deadlines ?? new Deadlines(options.now ?? Date.now),
  );
  lifecycle.arm(socket.data.principal);
  return lifecycle;
}
