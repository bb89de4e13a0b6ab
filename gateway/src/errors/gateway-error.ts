/**
 * errors/ owns GatewayError, the server's one error class, toWireError(), the edge that turns any
 * thrown value into the wire shape, invalidInput(), the one bounded text of a schema refusal, and
 * HTTP_STATUS (http-status.ts), the one HTTP status of each code. It imports only the protocol (and zod's
 * issue type).
 */
import { wireError, type ErrorCode, type WireError } from '@stayline/client-sdk/protocol';

/** An error the gateway means to show a client: a catalogue code, a message, and an optional cause. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;
  /** With SEAT_UNAVAILABLE: the seats that could not be held (never who holds them). */
  readonly seatIds: string[] | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options?: { cause?: unknown; retryAfterMs?: number; seatIds?: string[] },
  ) {
    super(message ?? code, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
    this.seatIds = options?.seatIds;
  }
}

/** True for a GatewayError with the given code (or any code when none is given). */
export function isGatewayError(err: unknown, code?: ErrorCode): err is GatewayError {
  return err instanceof GatewayError && (code === undefined || err.code === code);
}

/**
 * The wire shape for any thrown value. Anything that is not a GatewayError becomes INTERNAL with a generic
 * message: stacks and driver messages never reach clients (the caller logs the cause).
 */
export function toWireError(err: unknown): WireError {
  if (err instanceof GatewayError) {
    const extra = {
      ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
      ...(err.seatIds === undefined ? {} : { seatIds: err.seatIds }),
    };
    return wireError(err.code, err.message === err.code ? undefined : err.message, extra);
  }
  return wireError('INTERNAL');
}
