/**
 * The seat operations: `seat:hold`, `seat:release`, `seat:map`, the event definitions and the sale confirm
 * of the service API, and the lapse notifications of the sweeper. `seat:hold` records its own outcome per
 * request id in the hold script (idempotency 'folded'): a retry is answered from that record, in the same
 * single round trip.
 */
import { z } from 'zod';
import type {
  EventId,
  SeatHold,
  SeatId,
  SeatMapCompactResult,
  SeatMapResult,
  SeatReleaseResult,
  SeatStatus,
  UserId,
} from '@stayline/client-sdk/protocol';
import { GatewayError } from '../../errors/gateway-error.ts';
import { boundedArray, requestObject } from '../../infra/bounded-schema.ts';
import { fastObject, lengthString, patternString, patternStrings } from '../fast-check.ts';
import type { ClaimStore, EventDefinition, LapsedHold } from '../../session/claim-store.ts';
import { REQUEST_RESULT_TTL_MS } from '../../session/request-ledger.ts';
import type { RequestContext } from '../feature.ts';

/** Longest seat id (the event route's body limit is computed from it). */
export const MAX_SEAT_ID_LENGTH = 64;
/** Seat ids: 1-64 of letters, digits and `_ - . : /`. */
export const SEAT_ID_PATTERN = new RegExp(`^[A-Za-z0-9_.:/-]{1,${MAX_SEAT_ID_LENGTH}}$`);
/** Event ids: 1-64 of letters, digits and `_ - . :`. */
const EVENT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const eventIdSchema = z.string().regex(EVENT_ID_PATTERN, 'invalid event id');
const seatIdSchema = z.string().regex(SEAT_ID_PATTERN, 'invalid seat id');
/** At most this many seats in one request. */
export const MAX_SEATS_PER_REQUEST = 100;
/** At most this many seats in one event (`PUT /v1/events/:eventId`). */
export const MAX_SEATS_PER_EVENT = 100_000;

// Every request schema is built from bounded parts (infra/bounded-schema.ts): the type, the fields and
// each array's length are checked before any element is, so a 16,000-element array costs one check.
const requestSeatIds = boundedArray(seatIdSchema, { min: 1, max: MAX_SEATS_PER_REQUEST });

/** The `seat:hold` payload. */
export const seatHoldSchema = requestObject({
  eventId: eventIdSchema,
  seatIds: requestSeatIds,
  admissionToken: z.string().min(1).max(1024).optional(),
});
/** The `seat:release` payload. */
export const seatReleaseSchema = requestObject({ eventId: eventIdSchema, seatIds: requestSeatIds });
// The fast checks in front of the two (features/fast-check.ts): the same patterns and bounds.
const fastSeatIds = patternStrings(SEAT_ID_PATTERN, { min: 1, max: MAX_SEATS_PER_REQUEST });
/** Fast check of a `seat:hold` payload (undefined: the schema decides). */
export const seatHoldCheck = fastObject<SeatHoldRequest>(
  { eventId: patternString(EVENT_ID_PATTERN), seatIds: fastSeatIds },
  { admissionToken: lengthString(1, 1024) },
);
/** Fast check of a `seat:release` payload (undefined: the schema decides). */
export const seatReleaseCheck = fastObject<SeatReleaseRequest>({
  eventId: patternString(EVENT_ID_PATTERN),
  seatIds: fastSeatIds,
});
/** A section name: a seat id's part before the event's separator. */
const sectionSchema = z.string().regex(SEAT_ID_PATTERN, 'invalid section');
/** The `seat:map` payload. */
export const seatMapSchema = requestObject({
  eventId: eventIdSchema,
  section: sectionSchema.optional(),
  format: z.enum(['full', 'compact']).optional(),
  since: z.number().int().min(0).optional(),
});

/** The characters an event may split its seat ids into sections with (those a seat id may hold besides letters and digits). */
export const SECTION_SEPARATORS = ['-', '.', ':', '/', '_'] as const;

/** `PUT /v1/events/:eventId` body. */
export const eventDefinitionSchema = requestObject({
  seats: boundedArray(seatIdSchema, { max: MAX_SEATS_PER_EVENT }),
  sectionSeparator: z.enum(SECTION_SEPARATORS).optional(),
  requiresAdmission: z.boolean().optional(),
  admissionRatePerSecond: z.number().min(0).max(100_000).optional(),
  maxSeatsPerUser: z.number().int().min(1).max(MAX_SEATS_PER_REQUEST).optional(),
  holdSeconds: z
    .number()
    .int()
    .min(1)
    .max(24 * 3600)
    .optional(),
});
/** `POST /v1/events/:eventId/seats/confirm` body. */
export const confirmSchema = requestObject({
  userId: z.string().min(1).max(256),
  seatIds: requestSeatIds,
  fence: z.number().int().positive(),
});

/** What the seats feature needs delivered; the transport implements it over socket.io. */
export interface SeatNotifier {
  /** Every socket of the user (all nodes) follows the event's `seat:update`s. */
  followEvent(userId: UserId, eventId: EventId): void;
  /**
   * A map at `version` was read for a follower here: this node's `seat:update`s for the event must cover
   * every change after it. (The changes themselves reach followers from the store's change log, written by
   * the same step as each change: handlers never announce them.)
   */
  seatMapRead(eventId: EventId, version: number): void;
  /** `seat:expired` to every socket of the owner. */
  holdLapsed(lapsed: LapsedHold): void;
}

export interface SeatDeps {
  store: ClaimStore;
  notifier: SeatNotifier;
  /** Verifies an admission token (features/queue/admission-token.ts). */
  admits: (token: string, eventId: EventId, userId: UserId) => boolean;
  count: (operation: string, result: string) => void;
  /** SEAT_HOLD_SECONDS: the hold TTL of an event that does not set its own. */
  holdSeconds: number;
  /** The largest `seat:map` reply sent (half of MAX_OUTBOUND_BUFFER_BYTES): a larger one is refused. */
  maxMapReplyBytes: number;
}

/** Tells owners about holds that lapsed (found by a hold, or by the sweeper). */
export function announceLapsed(
  deps: Pick<SeatDeps, 'notifier' | 'count'>,
  lapsed: readonly LapsedHold[],
): void {
  for (const l of lapsed) {
    deps.notifier.holdLapsed(l);
    deps.count('lapse', 'ok');
  }
}

export type SeatHoldRequest = z.infer<typeof seatHoldSchema>;
export type SeatReleaseRequest = z.infer<typeof seatReleaseSchema>;
export type SeatMapRequest = z.infer<typeof seatMapSchema>;

/**
 * A GatewayError for an expected refusal of a contended operation, made without capturing a stack trace.
 * Most holds under contention are refused (80 % in the queue-seats bench), and V8's stack capture was 5 %
 * of the node's CPU in that loop; a refusal is answered on the wire and never logged with its stack
 * (request-edge.ts logs only what is not a GatewayError), so the trace bought nothing.
 */
function refusal(...args: ConstructorParameters<typeof GatewayError>): GatewayError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new GatewayError(...args);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export async function holdSeats(
  deps: SeatDeps,
  ctx: Pick<RequestContext, 'userId' | 'requestId' | 'replayed'>,
  request: SeatHoldRequest,
): Promise<SeatHold> {
  const { userId } = ctx;
  const { eventId, seatIds } = request;
  // The token is checked here (pure); whether the event requires one is checked by the store, in the same step.
  const admitted =
    request.admissionToken !== undefined && deps.admits(request.admissionToken, eventId, userId);
  let result;
  try {
    const record =
      ctx.requestId === undefined
        ? undefined
        : { requestId: ctx.requestId, resultTtlMs: REQUEST_RESULT_TTL_MS };
    result = await deps.store.hold(userId, eventId, seatIds, admitted, record);
  } catch (err) {
    if (err instanceof GatewayError) deps.count('hold', err.code);
    throw err;
  }
  if (result.replayed) ctx.replayed();
  announceLapsed(deps, result.lapsed);
  deps.notifier.followEvent(userId, eventId);
  if (!result.ok) {
    deps.count('hold', result.code);
    if (result.code === 'SEAT_LIMIT')
      throw refusal('SEAT_LIMIT', `At most ${result.limit} seats per user for this event.`);
    // The ids travel once, in `seatIds`; the message only counts them (a refusal stays small).
    const n = result.seatIds.length;
    throw refusal('SEAT_UNAVAILABLE', `${n} seat${n === 1 ? ' is' : 's are'} held or sold (see seatIds).`, {
      seatIds: result.seatIds,
    });
  }
  deps.count('hold', 'ok');
  return result.hold;
}

export async function releaseSeats(
  deps: SeatDeps,
  userId: UserId,
  { eventId, seatIds }: SeatReleaseRequest,
): Promise<SeatReleaseResult> {
  const released = await deps.store.release(userId, eventId, seatIds);
  deps.count('release', released.length > 0 ? 'ok' : 'noop');
  return { eventId, seatIds: released };
}

/** One character per status in the compact encoding. */
const STATUS_CODE: Readonly<Record<SeatStatus, string>> = { free: 'f', held: 'h', sold: 's' };

/**
 * `seat:map`: the whole map, one section, or (with `since`) only what changed after the client's version
 * when the change log still covers it; `compact` sends the ids once and a status string. Follows the event
 * first, then reads: every change after the version answered reaches this socket through seat:update.
 */
export async function seatMap(
  deps: SeatDeps,
  userId: UserId,
  { eventId, section, format, since }: SeatMapRequest,
): Promise<SeatMapResult | SeatMapCompactResult> {
  deps.notifier.followEvent(userId, eventId);
  const scope = section === undefined ? {} : { section };
  if (since !== undefined) {
    const changes = await deps.store.seatChanges(eventId, since, section);
    // A `since` past the version (an event deleted and defined again) gets the whole map instead.
    if (changes.complete && since <= changes.version) {
      deps.notifier.seatMapRead(eventId, changes.version);
      return { eventId, version: changes.version, ...scope, since, seats: changes.seats };
    }
  }
  const { version, seats } = await deps.store.seatMap(eventId, section);
  const seatIds = Object.keys(seats);
  const reply: SeatMapResult | SeatMapCompactResult =
    format !== 'compact'
      ? { eventId, version, ...scope, seats }
      : compactMap(eventId, version, scope, seats, seatIds.sort());
  // A reply over the connection's outbound limit would cut the socket (socket-guards.ts): refuse it
  // clearly instead. Only large maps are measured (their serialisation is then done twice).
  if (seatIds.length > SIZE_CHECK_FROM_SEATS && JSON.stringify(reply).length > deps.maxMapReplyBytes) {
    throw new GatewayError(
      'SEAT_MAP_TOO_LARGE',
      `The ${seatIds.length}-seat map is over ${deps.maxMapReplyBytes} bytes: read it by section, compact, or with since.`,
    );
  }
  deps.notifier.seatMapRead(eventId, version);
  return reply;
}

/** Below this many seats a reply is far under any outbound limit (about 30 bytes a seat in full). */
const SIZE_CHECK_FROM_SEATS = 5000;

function compactMap(
  eventId: EventId,
  version: number,
  scope: { section?: string },
  seats: Readonly<Record<string, SeatStatus>>,
  seatIds: string[],
): SeatMapCompactResult {
  const statuses = seatIds.map((id) => STATUS_CODE[seats[id]!]).join('');
  return { eventId, version, ...scope, format: 'compact', seatIds, statuses };
}

/** The service API's event definition (idempotent PUT). */
export async function defineEvent(
  deps: SeatDeps,
  eventId: string,
  body: unknown,
): Promise<{ eventId: EventId; created: boolean; seats: number }> {
  const id = eventIdSchema.parse(eventId);
  const b = eventDefinitionSchema.parse(body);
  const sep = b.sectionSeparator;
  if (sep !== undefined) {
    // Every seat is in a section: a non-empty part before the separator.
    const outside = b.seats.filter((seat) => seat.indexOf(sep) < 1).length;
    if (outside > 0)
      throw new GatewayError(
        'BAD_REQUEST',
        `${outside} seat ids have no section: with sectionSeparator '${sep}' every id is <section>${sep}<rest>.`,
      );
  }
  const definition: EventDefinition = {
    seats: [...new Set(b.seats)],
    requiresAdmission: b.requiresAdmission ?? false,
    admissionRatePerSecond: b.admissionRatePerSecond ?? 0,
    maxSeatsPerUser: b.maxSeatsPerUser ?? 10,
    holdSeconds: b.holdSeconds ?? deps.holdSeconds,
    ...(sep === undefined ? {} : { sectionSeparator: sep }),
  };
  const result = await deps.store.defineEvent(id, definition);
  deps.count('define', 'ok');
  return { eventId: id, ...result };
}

/** The service API's delete: EVENT_BUSY while holds are live or users queued or admitted, unless forced. */
export async function deleteEvent(
  deps: SeatDeps,
  eventId: string,
  force: boolean,
): Promise<{ eventId: EventId; deleted: true; heldUsers: number; queued: number; admitted: number }> {
  const id = eventIdSchema.parse(eventId);
  try {
    const found = await deps.store.deleteEvent(id, { force });
    deps.count('delete', 'ok');
    return { eventId: id, deleted: true, ...found };
  } catch (err) {
    if (err instanceof GatewayError) deps.count('delete', err.code);
    throw err;
  }
}

/** The service API's sale confirm: FENCE_STALE unless the hold behind `fence` still holds every seat. */
export async function confirmSale(
  deps: SeatDeps,
  eventId: string,
  body: unknown,
): Promise<{ eventId: EventId; seatIds: SeatId[]; sold: SeatId[] }> {
  const id = eventIdSchema.parse(eventId);
  const { userId, seatIds, fence } = confirmSchema.parse(body);
  try {
    const sold = await deps.store.confirm(userId, id, seatIds, fence);
    deps.count('confirm', 'ok');
    return { eventId: id, seatIds: [...new Set(seatIds)].sort(), sold };
  } catch (err) {
    if (err instanceof GatewayError) deps.count('confirm', err.code);
    throw err;
  }
}
