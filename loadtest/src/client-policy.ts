/**
 * What a simulated client does after an attempt or a connection ends, per policy, as a pure function: retry
 * after a delay, or stop for good. The `socketio` policy follows socket.io-client 4.8 exactly
 * (node_modules/socket.io-client/build/esm/manager.js and socket.js):
 *
 * - a `connect_error` answered by server middleware (a CONNECT_ERROR packet) destroys that socket and, as it
 *   was the Manager's only socket, closes the Manager with reconnection skipped: the client never comes back
 *   by itself (measured beside us, ../../shared/MEASURED.md);
 * - a Socket.IO DISCONNECT from the server ("io server disconnect") does the same;
 * - an engine open that fails (connection refused or reset, an HTTP error answer, a WebSocket error, the
 *   20 s open `timeout`) retries with the next backoff delay (`Manager.reconnect`, `backoff.duration()`
 *   counts the attempt);
 * - a transport that closes after the engine opened (a drop, a ping timeout, a server-side engine close,
 *   before or after the namespace connected) resets the backoff (`Manager.onclose` → `backoff.reset()`) and
 *   reconnects: the first delay is the attempt-0 one, whatever came before.
 *
 * The `sdk` policy follows the Stayline SDK's connection machine: a refusal the server marks `retryable`
 * is retried after the hint plus full jitter (`retryAfterMs`, or `server:draining.reconnectAfterMs`; the
 * SDK's own `retryDelayMs`), one marked not
 * retryable stops the client (AUTH_* → unauthorized). `none` is the SDK's semantics with no delay at all:
 * a client that retries at once, to show what a herd without backoff does.
 *
 * Why the lean client keeps these decisions instead of driving the SDK: at 10,000+ clients per run the
 * tester cannot afford socket.io-client per user, and it must also model the stock client (`socketio`),
 * which the SDK is not. `--client sdk` runs the real SDK instead (workers/sdk-sim.ts).
 *
 * Only the SDK (and `none`) declare `retryableConnectErrors: true` in the handshake auth payload: a server
 * may then answer retryable refusals with `connect_error`, which only such clients survive.
 */
import { reconnectDelayMs, type BackoffPolicy, type PolicyKind } from './backoff.ts';

/** How one attempt or connection ended, as the client saw it. */
export type Interruption =
  /** The engine never opened: refused or reset connection, HTTP error answer, WebSocket error, open timeout. */
  | { kind: 'open-failed' }
  /** The server answered the Socket.IO CONNECT with CONNECT_ERROR (`connect_error` from middleware). */
  | { kind: 'refused'; code: string; retryable: boolean | undefined; retryAfterMs: number | undefined }
  /**
   * The transport closed after the engine had opened (before or after the session came): a drop, a ping
   * timeout, the server closing the engine. `hintMs` is a `server:draining.reconnectAfterMs` seen before.
   */
  | { kind: 'closed'; hintMs: number | undefined }
  /**
   * A Socket.IO DISCONNECT packet from the server ("io server disconnect"). `hintMs` as above;
   * `toldRetryable` when the server said why first and that a retry can work (`auth:expired`).
   */
  | { kind: 'server-disconnect'; hintMs: number | undefined; toldRetryable: boolean };

/** Retry after `delayMs` (the attempt counter becomes `attempt`), or stop for good. */
export type NextStep =
  | { retry: true; delayMs: number; attempt: number }
  | { retry: false; code: string; cause: 'connect_error' | 'io server disconnect' };

/** Whether a client of this policy sends `retryableConnectErrors: true` with its token (the SDK does). */
export function declaresRetryableConnectErrors(kind: PolicyKind): boolean {
  return kind !== 'socketio';
}

/**
 * Whether the client sends its stream positions in the handshake (`auth.positions`), so the gateway
 * replays what it missed. The SDK does; a stock socket.io-client does not (its own recovery offset is not
 * sent to a server without connection state recovery: docs/protocol.md, "Stock socket.io-client and
 * recovery").
 */
export function sendsPositions(kind: PolicyKind): boolean {
  return kind !== 'socketio';
}

/**
 * Whether the connect timeout covers only the engine open (socket.io-client's `timeout`, cleared once the
 * engine opens: it then waits for the server, whose `connectTimeout` closes an idle transport) or the whole
 * way to `session:restored` (the SDK's own attempt).
 */
export function timeoutCoversOpenOnly(kind: PolicyKind): boolean {
  return kind === 'socketio';
}

/**
 * The next step after `what`, given `attempt` (the policy's attempt counter: socket.io-client's
 * `backoff.attempts`, the SDK's consecutive failures, 0 after a session came).
 */
export function nextStep(
  policy: BackoffPolicy,
  attempt: number,
  what: Interruption,
  random: () => number = Math.random,
): NextStep {
  if (policy.kind === 'socketio') {
    switch (what.kind) {
      case 'refused':
        return { retry: false, code: what.code, cause: 'connect_error' };
      case 'server-disconnect':
        return { retry: false, code: 'IO_SERVER_DISCONNECT', cause: 'io server disconnect' };
      case 'open-failed':
        return {
          retry: true,
          delayMs: reconnectDelayMs(policy, attempt, undefined, random),
          attempt: attempt + 1,
        };
      case 'closed':
        // Manager.onclose resets the backoff before reconnecting.
        return { retry: true, delayMs: reconnectDelayMs(policy, 0, undefined, random), attempt: 1 };
    }
  }
  let hintMs: number | undefined;
  switch (what.kind) {
    case 'refused':
      // A refusal without the wire error's `retryable` is no Stayline answer: the SDK reads it as a
      // network failure (CLIENT_NETWORK) and retries.
      if (what.retryable === false) return { retry: false, code: what.code, cause: 'connect_error' };
      hintMs = what.retryAfterMs;
      break;
    case 'server-disconnect':
      // The SDK treats "io server disconnect" as final unless the server said why and that a retry can work.
      if (what.hintMs === undefined && !what.toldRetryable)
        return { retry: false, code: 'IO_SERVER_DISCONNECT', cause: 'io server disconnect' };
      hintMs = what.hintMs;
      break;
    case 'closed':
      hintMs = what.hintMs;
      break;
    case 'open-failed':
      break;
  }
  return { retry: true, delayMs: reconnectDelayMs(policy, attempt, hintMs, random), attempt: attempt + 1 };
}
