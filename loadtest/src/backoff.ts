/**
 * Reconnect delays of the lean client's policies, as pure functions, so the tester can compare what each
 * does to a herd. Randomness is injected (`random`) so tests pin the numbers. The `sdk` policy's delay is
 * the SDK's own exported function (`retryDelayMs`: full jitter, plus the server's hint), not a copy; only
 * socket.io-client's backoff, which the SDK does not ship, is modelled here.
 */
import { retryDelayMs } from '@stayline/client-sdk';

/** Which client behaviour to imitate after a drop. */
export type PolicyKind = 'sdk' | 'socketio' | 'none';

export interface BackoffPolicy {
  readonly kind: PolicyKind;
  /** First delay scale (ms). sdk default 500, socketio default 1000. */
  readonly baseMs: number;
  /** Upper bound (ms). sdk default 10,000, socketio default 5,000. */
  readonly capMs: number;
}

/** The defaults of each policy (socket.io-client: reconnectionDelay 1000, reconnectionDelayMax 5000). */
export function defaultPolicy(kind: PolicyKind): BackoffPolicy {
  switch (kind) {
    case 'sdk':
      return { kind, baseMs: 500, capMs: 10_000 };
    case 'socketio':
      return { kind, baseMs: 1000, capMs: 5000 };
    case 'none':
      return { kind, baseMs: 0, capMs: 0 };
  }
}

/**
 * socket.io-client's default backoff (engine `Backoff` in socket.io-client/lib/contrib/backo2): ms =
 * base * 2^attempt, then ± ms * 0.5 * (2·random - 1) when random < 0.5 subtracts, else adds, and only
 * then the cap — so from the 4th attempt most delays are exactly the cap.
 * Same arithmetic as socket.io-client 4.8 `build/esm/contrib/backo2.js` (Backoff.prototype.duration).
 */
export function socketIoDelayMs(
  attempt: number,
  o: { baseMs: number; capMs: number },
  random = Math.random,
  jitter = 0.5,
): number {
  let ms = o.baseMs * 2 ** Math.min(attempt, 30);
  const rand = random();
  const deviation = Math.floor(rand * jitter * ms);
  ms = (Math.floor(rand * 10) & 1) === 0 ? ms - deviation : ms + deviation;
  return Math.min(ms, o.capMs) | 0;
}

/**
 * The delay before reconnect attempt `attempt` (0 = the first retry after a drop). `hintMs` is the
 * server's own hint (`retryAfterMs` of RATE_LIMITED, `reconnectAfterMs` of `server:draining`): the SDK
 * waits the hint plus full jitter (its `retryDelayMs`); socket.io-client knows nothing of it; `none`
 * retries at once.
 */
export function reconnectDelayMs(
  policy: BackoffPolicy,
  attempt: number,
  hintMs: number | undefined,
  random = Math.random,
): number {
  switch (policy.kind) {
    case 'none':
      return 0;
    case 'socketio':
      return socketIoDelayMs(attempt, policy, random);
    case 'sdk':
      return retryDelayMs(attempt, hintMs, policy, random);
  }
}
