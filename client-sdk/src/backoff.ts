/**
 * Reconnect delays as pure functions of the attempt number and an injected random source, so tests and the
 * load tester can pin them down. Full jitter (uniform in [0, min(cap, base * 2^attempt))) spreads a herd of
 * reconnecting clients instead of sending it back in pulses (see docs: socket.io-client's own backoff puts
 * the first retries in ten 50 ms bands).
 */

/** Backoff bounds. */
export interface BackoffOptions {
  /** The first window, in ms. Default 500. */
  baseMs: number;
  /** No delay is ever longer than this (before a server hint is added), in ms. Default 10,000. */
  capMs: number;
}

/** The defaults: 500 ms base, 10 s cap. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ baseMs: 500, capMs: 10_000 });

/**
 * Full jitter: uniform in [0, min(capMs, baseMs * 2^attempt)). `attempt` counts from 0.
 * @example
 * reconnectDelayMs(3, { baseMs: 500, capMs: 10_000 }, () => 0.5); // 2000
 */
export const reconnectDelayMs = (attempt: number, o: BackoffOptions, random: () => number = Math.random) =>
  Math.floor(random() * Math.min(o.capMs, o.baseMs * 2 ** Math.min(Math.max(0, attempt), 30)));

/**
 * The delay before the next attempt when the server named a time (`server:draining { reconnectAfterMs }`,
 * RATE_LIMITED `retryAfterMs`): never earlier than the hint, plus full jitter so the clients that were told
 * the same time do not all come back in the same tick.
 * @example
 * retryDelayMs(0, 1000, DEFAULT_BACKOFF, () => 0.5); // 1250
 */
export const retryDelayMs = (
  attempt: number,
  hintMs: number | undefined,
  o: BackoffOptions,
  random: () => number = Math.random,
): number => Math.max(0, hintMs ?? 0) + reconnectDelayMs(attempt, o, random);
