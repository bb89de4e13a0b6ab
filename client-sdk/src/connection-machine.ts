/**
 * The connection state machine, pure: `step(state, event, policy)` returns the next state and one effect
 * for the client shell to carry out (open the socket, wait, close). No timers, sockets or clocks in here,
 * so every path is tested with a fixed clock and random source.
 *
 * ```
 *  idle ──start──> connecting ──opened──> connected ──dropped(retry)──> reconnecting ──opened──> connected
 *                   │  ▲ refused(retryable): wait, retry      │              │  ▲ refused(retryable): wait, retry
 *                   │  └──────────────────┘                   │              │  └──────────────┘
 *                   ├── refused(AUTH_INVALID | AUTH_MISSING | AUTH_SUBJECT_MISMATCH | AUTH_REVOKED) ──> unauthorized
 *                   │   (and dropped(no retry) with one of these codes: `session:ended { AUTH_REVOKED }`)
 *                   ├── refused(ORIGIN_FORBIDDEN: the page's origin is not in CORS_ORIGINS) ──> forbidden
 *                   └── refused(not retryable) | attempts used up | close | dropped(no retry) ──> disconnected
 *  (a drop while connecting or reconnecting, before the handshake was answered, counts as a refusal)
 *  reconnect(): from any status, a fresh attempt at once (connecting, or reconnecting once connected)
 * ```
 */
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffOptions } from './backoff.ts';
import type { SdkErrorCode } from './errors.ts';

/**
 * Every status, in the order a connection usually meets them:
 * - `idle`: created and not started yet (`autoConnect: false`, or rendered on a server): call `connect()`.
 * - `connecting`: opening the first connection, or retrying it after a refusal.
 * - `connected`: the handshake was accepted.
 * - `reconnecting`: was connected; the connection was lost and is being opened again.
 * - `disconnected`: stopped: `close()`, a refusal no retry can fix, or `maxAttempts` used up.
 * - `unauthorized`: stopped: the token was refused (AUTH_INVALID, AUTH_MISSING, AUTH_SUBJECT_MISMATCH).
 * - `forbidden`: stopped: the gateway refuses this page's origin (HTTP 403, ORIGIN_FORBIDDEN): fix
 *   CORS_ORIGINS; never retried.
 */
export const CONNECTION_STATUSES = [
  'idle',
  'connecting',
  'connected',
  'reconnecting',
  'disconnected',
  'unauthorized',
  'forbidden',
] as const;

/** Where the connection is (see CONNECTION_STATUSES). */
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** The one observable connection state. Immutable: every change is a new object. */
export interface ConnectionState {
  readonly status: ConnectionStatus;
  /** The code of the last error seen; kept after a reconnect succeeds, so an app can say why it happened. */
  readonly lastError: SdkErrorCode | undefined;
  /** Failed attempts since the connection was last up (0 while connected). */
  readonly attempt: number;
  /** While waiting to retry: when the next attempt starts (epoch ms, from the injected clock). */
  readonly retryAt: number | undefined;
}

/** The state before `start`. */
export const INITIAL_STATE: ConnectionState = Object.freeze({
  status: 'idle',
  lastError: undefined,
  attempt: 0,
  retryAt: undefined,
});

/** What happened, as the shell reports it. */
export type ConnectionEvent =
  /** The app asked to connect. */
  | { type: 'start' }
  /** The app asked for a new connection now (`client.reconnect()`), whatever the status. */
  | { type: 'reconnect' }
  /** The handshake was accepted. */
  | { type: 'opened' }
  /** An established connection was lost; `retry` is false when the server meant it to be final. */
  | { type: 'dropped'; code: SdkErrorCode; retry: boolean; hintMs?: number | undefined }
  /** A connection attempt failed (handshake refused, server unreachable, no token). */
  | { type: 'refused'; code: SdkErrorCode; retryable: boolean; hintMs?: number | undefined }
  /** The wait before the next attempt is over. */
  | { type: 'timer' }
  /** The app closed the client. */
  | { type: 'close' };

/** Statuses in which nothing is tried until the app calls `connect()` (or `reconnect()`). */
export const STOPPED_STATUSES: ReadonlySet<ConnectionStatus> = new Set([
  'idle',
  'disconnected',
  'unauthorized',
  'forbidden',
]);

/** What the shell must do next. */
export type ConnectionEffect =
  { type: 'connect' } | { type: 'wait'; delayMs: number } | { type: 'disconnect' } | { type: 'none' };

/** The strategy the machine follows; every part is injectable. */
export interface ConnectionPolicy {
  backoff: BackoffOptions;
  /** Failed attempts in a row before giving up (status `disconnected`). Default Infinity. */
  maxAttempts: number;
  random: () => number;
  now: () => number;
}

/** The default policy: DEFAULT_BACKOFF, never give up, Math.random, Date.now. */
export const defaultPolicy = (): ConnectionPolicy => ({
  backoff: DEFAULT_BACKOFF,
  maxAttempts: Infinity,
  random: Math.random,
  now: Date.now,
});

/** Refusals (and final drops) that no retry can fix without the app: the user has to sign in again. */
const UNAUTHORIZED_CODES: ReadonlySet<SdkErrorCode> = new Set([
  'AUTH_INVALID',
  'AUTH_MISSING',
  'AUTH_SUBJECT_MISMATCH',
  'AUTH_REVOKED',
]);

/** Refusals of the page itself: its origin is not allowed. Retrying cannot help; the operator must. */
const FORBIDDEN_CODES: ReadonlySet<SdkErrorCode> = new Set(['ORIGIN_FORBIDDEN']);

const NONE: ConnectionEffect = { type: 'none' };
const trying = (s: ConnectionStatus): boolean => s === 'connecting' || s === 'reconnecting';

/**
 * One transition. Events that do not apply to the current status (a late `opened` after `close`, a
 * `timer` that is not awaited) leave the state as it is.
 * @example
 * let { state, effect } = step(INITIAL_STATE, { type: 'start' }, defaultPolicy());
 * // state.status === 'connecting', effect.type === 'connect'
 */
export function step(
  state: ConnectionState,
  event: ConnectionEvent,
  policy: ConnectionPolicy,
): { state: ConnectionState; effect: ConnectionEffect } {
  switch (event.type) {
    case 'start':
      if (!STOPPED_STATUSES.has(state.status)) return { state, effect: NONE };
      return {
        state: { status: 'connecting', lastError: state.lastError, attempt: 0, retryAt: undefined },
        effect: { type: 'connect' },
      };

    case 'reconnect':
      // A fresh attempt at once, keeping the session (and the calls waiting for it): from a live or a
      // waiting connection it replaces the transport; from a stopped client it is a start.
      if (STOPPED_STATUSES.has(state.status)) {
        return {
          state: { status: 'connecting', lastError: state.lastError, attempt: 0, retryAt: undefined },
          effect: { type: 'connect' },
        };
      }
      return {
        state: {
          status: state.status === 'connecting' ? 'connecting' : 'reconnecting',
          lastError: state.lastError,
          attempt: 0,
          retryAt: undefined,
        },
        effect: { type: 'connect' },
      };

    case 'opened':
      if (!trying(state.status)) {
        // Closed (or refused) while the handshake was in flight: do not keep a connection nobody wants.
        return { state, effect: state.status === 'connected' ? NONE : { type: 'disconnect' } };
      }
      return {
        state: { status: 'connected', lastError: state.lastError, attempt: 0, retryAt: undefined },
        effect: NONE,
      };

    case 'dropped': {
      // The transport closed before the handshake was answered (a node killed mid-handshake, a node that
      // sheds load by closing the transport): that attempt failed, and is retried like a refusal.
      if (trying(state.status) && state.retryAt === undefined) {
        return step(
          state,
          { type: 'refused', code: event.code, retryable: event.retry, hintMs: event.hintMs },
          policy,
        );
      }
      if (state.status !== 'connected') return { state, effect: NONE };
      if (!event.retry) {
        // The server ended the session on purpose: signed out (revoked tokens) or just disconnected.
        const status = UNAUTHORIZED_CODES.has(event.code) ? 'unauthorized' : 'disconnected';
        return {
          state: { status, lastError: event.code, attempt: 0, retryAt: undefined },
          effect: { type: 'disconnect' },
        };
      }
      // An expired token is fixed by the fresh token the next attempt fetches: no reason to wait.
      const delayMs =
        event.code === 'AUTH_EXPIRED' ? 0 : retryDelayMs(0, event.hintMs, policy.backoff, policy.random);
      return {
        state: { status: 'reconnecting', lastError: event.code, attempt: 0, retryAt: policy.now() + delayMs },
        effect: { type: 'wait', delayMs },
      };
    }

    case 'refused': {
      if (!trying(state.status) || state.retryAt !== undefined) return { state, effect: NONE };
      const attempt = state.attempt + 1;
      if (UNAUTHORIZED_CODES.has(event.code)) {
        return {
          state: { status: 'unauthorized', lastError: event.code, attempt, retryAt: undefined },
          effect: { type: 'disconnect' },
        };
      }
      if (FORBIDDEN_CODES.has(event.code)) {
        return {
          state: { status: 'forbidden', lastError: event.code, attempt, retryAt: undefined },
          effect: { type: 'disconnect' },
        };
      }
      if (!event.retryable || attempt >= policy.maxAttempts) {
        return {
          state: { status: 'disconnected', lastError: event.code, attempt, retryAt: undefined },
          effect: { type: 'disconnect' },
        };
      }
      // The first AUTH_EXPIRED in a row retries at once with a fresh token; a token source that keeps
      // handing out expired tokens backs off like any other failure.
      const delayMs =
        event.code === 'AUTH_EXPIRED' && state.lastError !== 'AUTH_EXPIRED'
          ? 0
          : retryDelayMs(attempt, event.hintMs, policy.backoff, policy.random);
      return {
        state: { status: state.status, lastError: event.code, attempt, retryAt: policy.now() + delayMs },
        effect: { type: 'wait', delayMs },
      };
    }

    case 'timer':
      if (!trying(state.status) || state.retryAt === undefined) return { state, effect: NONE };
      return { state: { ...state, retryAt: undefined }, effect: { type: 'connect' } };

    case 'close':
      if (state.status === 'disconnected' && state.lastError === 'CLIENT_CLOSED')
        return { state, effect: NONE };
      return {
        state: { status: 'disconnected', lastError: 'CLIENT_CLOSED', attempt: 0, retryAt: undefined },
        effect: { type: 'disconnect' },
      };
  }
}
