/**
 * The one HTTP status of every error code: wherever the gateway answers a code over HTTP (the service API,
 * the engine gate's refused origin), it answers it with this status, so a status never depends on the route
 * or the code path it came from. docs/errors.md#http-statuses lists the same table, and a unit test compares
 * the two.
 *
 * Why here and not as an `httpStatus` in the protocol's ERROR_CATALOGUE: the catalogue is the socket wire
 * contract the SDK ships to browsers, and the SDK never speaks HTTP to the service API (backends do). A
 * status is how this server's HTTP edge carries a code, a gateway policy; putting it in the protocol would
 * make the browser bundle carry it and every change of it an SDK contract change. The table still cannot
 * drift from the catalogue: `satisfies Record<ErrorCode, number>` fails the typecheck until a new code has
 * its status, and refuses a status for a code the catalogue lacks. Server-only codes, when there are any,
 * take their status in this same table.
 */
import type { ErrorCode } from '@stayline/client-sdk/protocol';

/** The HTTP status of each error code (exhaustive over the catalogue). */
export const HTTP_STATUS = {
  AUTH_MISSING: 401,
  AUTH_INVALID: 401,
  AUTH_EXPIRED: 401,
  AUTH_SUBJECT_MISMATCH: 403,
  AUTH_REVOKED: 401,
  SERVER_DRAINING: 503,
  STORE_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  RATE_FLOODED: 429,
  CONNECTION_LIMIT: 429,
  ORIGIN_FORBIDDEN: 403,
  BAD_REQUEST: 400,
  MESSAGE_TOO_LARGE: 413,
  MESSAGE_ENCODING_UNSUPPORTED: 415,
  UNKNOWN_EVENT: 400,
  ACK_REQUIRED: 400,
  ROOM_LIMIT: 409,
  FORBIDDEN: 403,
  SLOW_CONSUMER: 503,
  SESSION_KICKED: 409,
  SEAT_UNAVAILABLE: 409,
  SEAT_UNKNOWN: 404,
  SEAT_LIMIT: 409,
  ADMISSION_REQUIRED: 403,
  EVENT_UNKNOWN: 404,
  EVENT_BUSY: 409,
  SEAT_MAP_TOO_LARGE: 413,
  FENCE_STALE: 409,
  INTERNAL: 500,
} as const satisfies Record<ErrorCode, number>;
