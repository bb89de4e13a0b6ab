/**
 * The catalogue of wire error codes: the only codes a client ever sees, in `connect_error.data`, in failed
 * acks and in `protocol:error`. A code is never renamed or reused; `docs/errors.md` has a row per code and
 * a test fails when the two differ.
 */

/** How each code is described on the wire and whether retrying the same thing later can succeed. */
export const ERROR_CATALOGUE = {
  AUTH_MISSING: {
    retryable: false,
    summary: 'No token in the handshake auth payload or Authorization header.',
  },
  AUTH_INVALID: {
    retryable: false,
    summary:
      'The token is malformed, wrongly signed, uses a refused algorithm or key, fails iss/aud/sub checks, or lives longer than JWT_MAX_LIFETIME_SECONDS.',
  },
  AUTH_EXPIRED: { retryable: true, summary: 'The token has expired: fetch a fresh one and retry.' },
  AUTH_SUBJECT_MISMATCH: {
    retryable: false,
    summary: 'A refreshed token names a different user than the connection.',
  },
  AUTH_REVOKED: {
    retryable: false,
    summary:
      "The user's tokens issued at or before a revocation are refused: sign the user in again for a token issued after it.",
  },
  SERVER_DRAINING: {
    retryable: true,
    summary: 'This node is shutting down: reconnect (another node will serve you).',
  },
  STORE_UNAVAILABLE: {
    retryable: true,
    summary:
      'The session store is unreachable or slow. A timed-out change may or may not have been applied; every request is idempotent, so retry it.',
  },
  RATE_LIMITED: { retryable: true, summary: 'Too many handshakes or events; retry after `retryAfterMs`.' },
  RATE_FLOODED: {
    retryable: false,
    summary:
      'The socket went on sending far over its event rate after RATE_LIMITED; it was disconnected by the server.',
  },
  CONNECTION_LIMIT: {
    retryable: true,
    summary: 'This user already has the maximum number of open connections.',
  },
  ORIGIN_FORBIDDEN: { retryable: false, summary: 'The request Origin is not in CORS_ORIGINS (HTTP 403).' },
  BAD_REQUEST: {
    retryable: false,
    summary: 'The payload does not match the event schema; nothing was changed.',
  },
  MESSAGE_TOO_LARGE: { retryable: false, summary: 'The message is larger than the configured maximum.' },
  MESSAGE_ENCODING_UNSUPPORTED: {
    retryable: false,
    summary: 'The body is compressed or not UTF-8: send identity-encoded UTF-8 JSON (HTTP 415).',
  },
  SEAT_MAP_TOO_LARGE: {
    retryable: false,
    summary:
      'The whole seat map is larger than one reply may be on this connection: read it by section, in the compact format, or with `since`.',
  },
  UNKNOWN_EVENT: { retryable: false, summary: 'The event name is not part of the protocol.' },
  ACK_REQUIRED: { retryable: false, summary: 'Client requests must carry an acknowledgement callback.' },
  ROOM_LIMIT: {
    retryable: false,
    summary: 'The user is already in MAX_ROOMS_PER_USER rooms; leave one first.',
  },
  FORBIDDEN: {
    retryable: false,
    summary: 'The authenticated user may not do this (room policy, not the holder).',
  },
  SESSION_KICKED: {
    retryable: false,
    summary: 'The application ended this session through the service API; do not reconnect by yourself.',
  },
  SLOW_CONSUMER: {
    retryable: true,
    summary: 'The client stopped reading and its outbound buffer passed the bound.',
  },
  SEAT_UNAVAILABLE: {
    retryable: false,
    summary:
      'Some of the seats are held or sold by someone else (`seatIds` names them, never the holder); none were held.',
  },
  SEAT_UNKNOWN: {
    retryable: false,
    summary: 'The event has no seat with one of these ids; nothing was held.',
  },
  SEAT_LIMIT: {
    retryable: false,
    summary: 'The hold would pass the per-user seat limit for this event; nothing was held.',
  },
  ADMISSION_REQUIRED: {
    retryable: false,
    summary:
      'This event admits through its queue: hold seats with the admission token from `queue:admitted`.',
  },
  EVENT_UNKNOWN: { retryable: false, summary: 'No event with this id is configured.' },
  EVENT_BUSY: {
    retryable: false,
    summary:
      'The event still has live holds, queued or admitted users: it was not deleted (delete with `?force=true`).',
  },
  FENCE_STALE: {
    retryable: false,
    summary: 'The hold behind this fencing token lapsed or moved on; the sale was not confirmed.',
  },
  INTERNAL: { retryable: true, summary: 'An unexpected server error; it was logged with its cause.' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

/** A wire error code, SCREAMING_SNAKE with its area first. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The one shape every error takes on the wire. */
export interface WireError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** Present with RATE_LIMITED: how long to wait before trying again. */
  retryAfterMs?: number;
  /** Present with SEAT_UNAVAILABLE: the seats that could not be held (never who holds them). */
  seatIds?: string[];
}

/** Every code in the catalogue, in declaration order. */
export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/** True when `value` is a code of the catalogue. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** Builds the wire shape for `code`, taking `retryable` from the catalogue. */
export function wireError(
  code: ErrorCode,
  message?: string,
  extra?: { retryAfterMs?: number; seatIds?: string[] },
): WireError {
  const entry = ERROR_CATALOGUE[code];
  const error: WireError = { code, message: message ?? entry.summary, retryable: entry.retryable };
  if (extra?.retryAfterMs !== undefined) error.retryAfterMs = extra.retryAfterMs;
  if (extra?.seatIds !== undefined) error.seatIds = extra.seatIds;
  return error;
}
