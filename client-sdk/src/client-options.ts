/**
 * The options of `createClient` and the strategies they inject (token source, logger, timers, clock,
 * random source, socket factory). Types only; imports socket.io-client's types and the backoff bounds.
 */
import type { io } from 'socket.io-client';
import type { BackoffOptions } from './backoff.ts';

/** Why the SDK asks for a token. */
export type TokenReason = 'connect' | 'reconnect' | 'refresh';

/** A logger the SDK writes to; it is silent without one. Any of pino, console or your own fits. */
export interface SdkLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** Timers the client uses; inject fakes in tests. */
export interface SdkTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of `createClient`. */
export interface ClientOptions {
  /** The gateway (or load balancer) URL, e.g. `https://rt.example.com`. */
  url: string;
  /**
   * Returns a token for the handshake. Called before every (re)connect and when the server warns that the
   * token is about to expire (`auth:expiring`), so return a fresh one each time.
   */
  getToken: (context: { reason: TokenReason }) => string | Promise<string>;
  /** socket.io path. Default `/socket.io`. */
  path?: string;
  /**
   * Engine.IO transports, tried in order. Default `['websocket']`: one connection, no load-balancer
   * stickiness needed. Add `'polling'` for networks whose proxies block websockets:
   * `['websocket', 'polling']` falls back to HTTP long-polling when the websocket fails (every transport
   * is tried before an attempt counts as failed); `['polling', 'websocket']` starts polling and upgrades
   * when it can (the stock socket.io way). Long-polling needs sticky sessions at the load balancer (every
   * poll of a session must reach its node): the shipped HAProxy, nginx and ALB settings in deploy/ have
   * them (a cookie), so with polling the SDK sends cookies (`withCredentials`).
   */
  transports?: ('websocket' | 'polling' | 'webtransport')[];
  /** Reconnect backoff bounds. Default `{ baseMs: 500, capMs: 10_000 }`. */
  backoff?: Partial<BackoffOptions>;
  /** Failed attempts in a row before giving up with status `disconnected`. Default Infinity. */
  maxAttempts?: number;
  /** How long a call may wait for a connection and its answer before failing with CLIENT_TIMEOUT. Default 10,000. */
  callTimeoutMs?: number;
  /** How long one connection attempt may take. Default 10,000. */
  connectTimeoutMs?: number;
  /** Connect at once. Default true; with false, call `connect()`. */
  autoConnect?: boolean;
  /** Where the SDK logs. Default: nowhere. */
  logger?: SdkLogger;
  /** Clock (epoch ms). Default Date.now. */
  now?: () => number;
  /** Random source in [0, 1) for the backoff jitter. Default Math.random. */
  random?: () => number;
  /** Timers. Default the global setTimeout/clearTimeout. */
  timers?: SdkTimers;
  /** Request id generator. Default 16 random bytes as hex. */
  newRequestId?: () => string;
  /** Socket factory (tests). Default socket.io-client's `io`. */
  socketFactory?: typeof io;
  /**
   * The fetch used once after a connection attempt failed without a code, to tell a refused origin from an
   * unreachable server: a browser hides the websocket's HTTP 403, so the SDK GETs the engine's polling URL
   * (`<url><path>/?EIO=4&transport=polling&sid=origin-probe`; the gateway answers a refused origin 403 with
   * CORS headers, anything else 400 without creating a session). A 403 ends in status `forbidden` with
   * ORIGIN_FORBIDDEN, never retried. Default `globalThis.fetch` in a browser (only a page has an origin to
   * refuse), none elsewhere; `null` turns the probe off.
   */
  fetch?: typeof globalThis.fetch | null;
}
