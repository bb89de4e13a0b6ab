/**
 * The SDK's one error class and its own codes. Wire codes come from the protocol catalogue; the SDK adds a
 * few `CLIENT_*` codes for what only the client can know (a call that timed out locally, a closed client).
 * The SDK codes never travel on the wire and are not part of the server catalogue.
 */
import { ERROR_CATALOGUE, isErrorCode, type ErrorCode, type WireError } from './protocol/index.ts';

/** Codes raised by the SDK itself, each with `retryable` and a one-line summary. */
export const CLIENT_ERROR_CATALOGUE = {
  CLIENT_TIMEOUT: {
    retryable: true,
    summary:
      'No answer within the call timeout: the connection did not come back in time or the ack never came.',
  },
  CLIENT_CLOSED: { retryable: false, summary: 'client.close() was called; the call was abandoned.' },
  CLIENT_OFFLINE: {
    retryable: false,
    summary: 'The client is not connected and not trying to (disconnected or unauthorized).',
  },
  CLIENT_NETWORK: {
    retryable: true,
    summary: 'The server could not be reached or the connection dropped without a code.',
  },
  CLIENT_TOKEN: { retryable: true, summary: 'getToken() threw or returned something other than a string.' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

/** An SDK-side code. */
export type ClientErrorCode = keyof typeof CLIENT_ERROR_CATALOGUE;
/** Every code an `SdkError` can carry: a wire code or an SDK code. */
export type SdkErrorCode = ErrorCode | ClientErrorCode;

/** True when `value` is one of the SDK's own codes. */
export function isClientErrorCode(value: unknown): value is ClientErrorCode {
  return typeof value === 'string' && Object.hasOwn(CLIENT_ERROR_CATALOGUE, value);
}

/** The error every SDK promise rejects with: switch on `code`, never parse `message`. */
export class SdkError extends Error {
  override readonly name = 'SdkError';
  readonly code: SdkErrorCode;
  /** Whether doing the same thing again later can succeed. */
  readonly retryable: boolean;
  /** With RATE_LIMITED: how long the server asks you to wait. */
  readonly retryAfterMs: number | undefined;
  /** With SEAT_UNAVAILABLE: the seats that could not be held. */
  readonly seatIds: string[] | undefined;

  constructor(
    code: SdkErrorCode,
    message?: string,
    extra: { retryAfterMs?: number | undefined; seatIds?: string[] | undefined; cause?: unknown } = {},
  ) {
    const entry = isClientErrorCode(code) ? CLIENT_ERROR_CATALOGUE[code] : ERROR_CATALOGUE[code];
    super(message ?? entry.summary, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.retryable = entry.retryable;
    this.retryAfterMs = extra.retryAfterMs;
    this.seatIds = extra.seatIds;
  }

  /** Wraps a wire error (from an ack, `connect_error.data`, `auth:expired` or `protocol:error`). */
  static fromWire(wire: WireError): SdkError {
    // An unknown code from a newer server is still an error: keep its retryable flag, type it INTERNAL.
    const code: SdkErrorCode = isErrorCode(wire.code) ? wire.code : 'INTERNAL';
    return new SdkError(code, wire.message, { retryAfterMs: wire.retryAfterMs, seatIds: wire.seatIds });
  }
}

/** Reads a wire error out of an unknown value, or undefined when it does not have the wire shape. */
export function readWireError(value: unknown): WireError | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<WireError>;
  if (typeof v.code !== 'string' || typeof v.message !== 'string') return undefined;
  return v as WireError;
}
