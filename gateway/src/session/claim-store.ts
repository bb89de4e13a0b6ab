/**
 * The ClaimStore contract: per-event waiting queues and "one holder at a time" claims (seat holds) with a
 * TTL and a fencing token. A hold may carry its request id: the record that makes a retried seat:hold act
 * once is then kept by the hold itself, in the same atomic step (the general request ledger is its own
 * contract, request-ledger.ts). Implemented by RedisClaimStore (lua/claims/*.lua) and MemoryClaimStore;
 * one contract suite runs against both.
 *
 * Authority and layout (Redis Cluster ready): every event-side change is one Lua script over the keys of one
 * `{event:<id>}` hash tag; that script is the truth. The user side is an index (`{u:<id>}:c`, the
 * events the user may have state in), written before the event script on the same connection, never in the
 * same script. A stale index entry is harmless (restore finds nothing there and drops it); a missing one can
 * only hide state whose session already ended (see the sweeper), so the index is repairable, never
 * authoritative.
 *
 * Times are epoch ms by the store's clock (Redis TIME in the scripts; the injected `now` in memory).
 * A store that cannot answer rejects with GatewayError('STORE_UNAVAILABLE'); every method is idempotent.
 */
import type { EventId, SeatId, SeatStatus, UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../errors/gateway-error.ts';

/** What `PUT /v1/events/:eventId` stores. */
export interface EventDefinition {
  seats: SeatId[];
  requiresAdmission: boolean;
  /** Admissions per second from the head of the queue; 0 = only by `POST .../admit`. */
  admissionRatePerSecond: number;
  maxSeatsPerUser: number;
  /** How long a hold group lives (SEAT_HOLD_SECONDS unless the event says otherwise). */
  holdSeconds: number;
  /**
   * Sections: a seat's section is its id up to the first occurrence of this separator (`S12-R3-7` is in
   * `S12` with `-`); seat maps and changes can then be read one section at a time. Absent: no sections.
   * Every seat id contains it (checked by the caller).
   */
  sectionSeparator?: string;
}

/** What ClaimStore.deleteEvent found: live hold groups, queued users and live admissions (ended by a force). */
export interface DeletedEvent {
  heldUsers: number;
  queued: number;
  admitted: number;
}

/** EVENT_BUSY, counting what keeps the event (both stores answer the same). */
export function eventBusyError(found: DeletedEvent): GatewayError {
  return new GatewayError(
    'EVENT_BUSY',
    `The event has ${found.heldUsers} live holds, ${found.queued} queued and ${found.admitted} admitted users; delete with ?force=true to end them.`,
  );
}

/** A hold group that ended without its owner asking (expired, or the owner's session ended). */
export interface LapsedHold {
  eventId: EventId;
  userId: UserId;
  /** Seats freed by the lapse (may be empty when they were already released or sold). */
  seatIds: SeatId[];
}

export type QueueJoinResult =
  { kind: 'queued'; position: number; size: number } | { kind: 'admitted'; expiresAt: number; size: number };

export interface HoldGroup {
  eventId: EventId;
  /** Every seat the user holds on the event, sorted. */
  seatIds: SeatId[];
  fence: number;
  expiresAt: number;
}

export type HoldResult =
  | { ok: true; hold: HoldGroup; newlyHeld: SeatId[]; lapsed: LapsedHold[] }
  | { ok: false; code: 'SEAT_UNAVAILABLE'; seatIds: SeatId[]; lapsed: LapsedHold[] }
  | { ok: false; code: 'SEAT_LIMIT'; limit: number; lapsed: LapsedHold[] };

export interface Admission {
  userId: UserId;
  expiresAt: number;
}

/** A user's state in the events of their index, computed now (for session:restored). */
export interface UserClaims {
  queues: { eventId: EventId; position: number; size: number }[];
  holds: HoldGroup[];
  /** Admissions not yet expired: restore tells the client its token again. */
  admissions: { eventId: EventId; expiresAt: number }[];
}

/** One round of the sweeper over every event. */
export interface SweepResult {
  /** Hold groups ended (expired, or their owner's session ended). */
  lapsed: LapsedHold[];
  /** Users dropped from queues because their session ended. */
  droppedFromQueues: number;
}

/** An event's seat map and the change version it was read at. */
export interface VersionedSeatMap {
  /** 0 before the first change; grows by at least one with every change of a seat's status. */
  version: number;
  /** Null-prototype (seatStatuses()): a seat may be named `__proto__` or `toString`. */
  seats: Record<SeatId, SeatStatus>;
}

/**
 * An empty seat-id-keyed record with no prototype. Seat ids come from outside: on a plain object, assigning
 * `seats['__proto__']` changes nothing (a seat of that name never appeared in `seat:update`), and reading
 * `seats['toString']` finds a function. JSON and socket.io serialize it like any object.
 */
export function seatStatuses(): Record<SeatId, SeatStatus> {
  return Object.create(null) as Record<SeatId, SeatStatus>;
}

/** What changed after a version (see ClaimStore.seatChanges). */
export interface SeatChanges {
  /** The event's version now. */
  version: number;
  /** false: the log no longer covers every change after the asked version; `seats` is empty, re-read the map. */
  complete: boolean;
  /** Each seat that changed after the asked version, with its status at `version` (null-prototype). */
  seats: Record<SeatId, SeatStatus>;
}

/** How many versions back seatChanges reads at most; further back answers incomplete. */
export const SEAT_CHANGES_MAX_VERSIONS = 5000;

/** The request a hold answers (see ClaimStore.hold). */
export interface HoldRequest {
  /** The client's request id (1-64 printable ASCII characters, checked by the caller). */
  requestId: string;
  /** How long the outcome is kept for retries, ms. */
  resultTtlMs: number;
}

export interface ClaimStoreLimits {
  /** SEAT_HOLD_SECONDS: the default hold TTL of an event. */
  holdSeconds: number;
  /** How long an admission (and its token) lasts. */
  admissionTtlSeconds: number;
  /** How long after a user became a member of an event (and then between checks) their session is checked. */
  sessionCheckSeconds: number;
}

export interface ClaimStore {
  readonly kind: 'memory' | 'redis';
  /** Creates or replaces an event (idempotent). Rejects with BAD_REQUEST when it would drop a held or sold seat. */
  defineEvent(eventId: EventId, definition: EventDefinition): Promise<{ created: boolean; seats: number }>;
  /** The event's definition, or null. */
  getEvent(eventId: EventId): Promise<EventDefinition | null>;
  /**
   * Deletes the event and every key of it. EVENT_UNKNOWN when it is not defined; EVENT_BUSY (nothing
   * changes) while a hold is live or users are queued or admitted, unless `force` (they then lose their
   * state without being told). Sold seats do not block it.
   */
  deleteEvent(eventId: EventId, options: { force: boolean }): Promise<DeletedEvent>;
  /** Every defined event (the sweeper walks them), or only those that admit by rate (the admission loop). */
  listEvents(filter?: { admittingByRate?: boolean }): Promise<EventId[]>;

  /** Joins the queue (idempotent). EVENT_UNKNOWN when the event is not defined. */
  joinQueue(userId: UserId, eventId: EventId): Promise<QueueJoinResult>;
  /** Leaves the queue and gives up an unused admission (idempotent). */
  leaveQueue(userId: UserId, eventId: EventId): Promise<{ left: boolean; size: number }>;
  /** Current 1-based positions of these users (absent: not queued) and the queue size, in one round trip. */
  queuePositions(
    eventId: EventId,
    userIds: readonly UserId[],
  ): Promise<{ size: number; positions: Map<UserId, number> }>;
  /** Admits `count` users from the head of the queue, or (count undefined) as many as the event's rate allows now. */
  admit(eventId: EventId, count?: number): Promise<Admission[]>;

  /**
   * All-or-nothing hold of `seatIds` for the user (see HoldResult). `admitted`: the request carried a valid
   * admission token (checked by the caller); an event that requires admission rejects without it
   * (ADMISSION_REQUIRED), as do EVENT_UNKNOWN and SEAT_UNKNOWN, with nothing changed.
   *
   * With `request`, the hold acts once per (userId, eventId, requestId): an outcome recorded for it is
   * answered again unchanged (`replayed: true`, a refusal rejects or returns exactly as the first time,
   * `lapsed` empty because the first answer announced them) and nothing changes; otherwise the hold acts
   * and records its outcome, whatever it is, for `resultTtlMs`, in the same atomic step. Of identical
   * requests racing on several nodes exactly one acts. Costs: two Redis commands (the user's index write
   * and the hold script), one round trip on a single Redis, two on Redis Cluster (index first).
   */
  hold(
    userId: UserId,
    eventId: EventId,
    seatIds: readonly SeatId[],
    admitted: boolean,
    request?: HoldRequest,
  ): Promise<HoldResult & { replayed: boolean }>;
  /** Releases seats the user holds; FORBIDDEN when one is held by someone else or sold (nothing changes). */
  release(userId: UserId, eventId: EventId, seatIds: readonly SeatId[]): Promise<SeatId[]>;
  /** Sells held seats under `fence`; FENCE_STALE when the hold lapsed or moved on. Returns newly sold seats. */
  confirm(userId: UserId, eventId: EventId, seatIds: readonly SeatId[], fence: number): Promise<SeatId[]>;
  /**
   * Every seat of the event (or of one section) and its status, with the change version it was read at.
   * BAD_REQUEST when a section is asked of an event without sections. A section read costs its own size.
   */
  seatMap(eventId: EventId, section?: string): Promise<VersionedSeatMap>;
  /**
   * The seats that changed after version `after` (undefined: none, just the current version), from the
   * event's change log, written by the same atomic step as each change. Incomplete when the log does not
   * reach back that far (capped, emptied when the seat set is redefined) or more than
   * SEAT_CHANGES_MAX_VERSIONS passed. EVENT_UNKNOWN when the event is not defined. With `section`, only
   * that section's seats (BAD_REQUEST for an event without sections).
   */
  seatChanges(eventId: EventId, after: number | undefined, section?: string): Promise<SeatChanges>;

  /**
   * The user's queues, holds and admissions, computed now: one index read, then one pipelined read.
   * `knownEvents` is the index as the session's attach script already read it (skips the index read).
   */
  userClaims(userId: UserId, knownEvents?: readonly EventId[]): Promise<UserClaims>;
  /**
   * Ends expired holds and drops members whose session ended. Safe on every node at once. The Redis store
   * visits only the events whose time has come (its due index), with a full walk now and then as a backstop.
   */
  sweep(): Promise<SweepResult>;

  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Both stores list a user's claims by event id (sorts in place, returns `claims`). */
export function sortEvents(claims: UserClaims): UserClaims {
  const byEvent = <T extends { eventId: string }>(a: T, b: T) =>
    a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
  claims.queues.sort(byEvent);
  claims.holds.sort(byEvent);
  claims.admissions.sort(byEvent);
  return claims;
}
