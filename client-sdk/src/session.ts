/**
 * The client's copy of its session, as pure functions: built from `session:restored`, kept current by
 * later events and by call results, and compared with the previous copy to say what a restore brought
 * back and what was lost.
 */
import { entryOf, idRecord, withEntry, withoutEntry } from './id-record.ts';
import type {
  EventId,
  QueueAdmittedPayload,
  QueuePlace,
  RestoredSession,
  RoomName,
  SeatHold,
  SeatId,
} from './protocol/index.ts';

/** The session as the client knows it. Immutable: every change is a new object. */
export interface ClientSession {
  /** True when the server had this session already (another tab, or a reconnect within its TTL). */
  readonly recovered: boolean;
  readonly rooms: readonly RoomName[];
  /** When the session expires unless the user stays active (epoch ms). */
  readonly expiresAt: number;
  /** Places in waiting queues, by event (a null-prototype record: any event id is an ordinary key). */
  readonly queues: Readonly<Record<EventId, QueuePlace>>;
  /** Live seat holds (several per event when seats were held in several calls). */
  readonly holds: readonly SeatHold[];
  /** Admissions from `queue:admitted`, by event (null-prototype): pass `admissionToken` to `holdSeats`. */
  readonly admissions: Readonly<Record<EventId, QueueAdmittedPayload>>;
}

/** What a change took away from the session without the user asking. */
export interface SessionLoss {
  rooms: RoomName[];
  /** Events whose queue place is gone (and not because the user was admitted). */
  queues: EventId[];
  seats: { eventId: EventId; seatIds: SeatId[] }[];
}

/** What made the session change. */
export type SessionChangeCause =
  | 'session:restored'
  | 'room:joined'
  | 'room:left'
  | 'queue:position'
  | 'queue:admitted'
  | 'seat:expired'
  | 'call';

/** Emitted on every change of `client.session`. */
export interface SessionChange {
  cause: SessionChangeCause;
  session: ClientSession;
  /** The session before this change (undefined on the first `session:restored`). */
  previous: ClientSession | undefined;
  /** With `session:restored`: what the server brought back (empty for a fresh session). */
  restored: { rooms: RoomName[]; queues: QueuePlace[]; holds: SeatHold[] } | undefined;
  /** With `session:restored` and `seat:expired`: what the previous copy had and this one lacks. */
  lost: SessionLoss;
  /** True when `lost` names anything. */
  lostAnything: boolean;
}

const NO_LOSS = (): SessionLoss => ({ rooms: [], queues: [], seats: [] });

/** The session built from a `session:restored` payload (admissions the server does not restore are kept). */
export function fromRestored(restored: RestoredSession, previous?: ClientSession): ClientSession {
  const queues = idRecord<QueuePlace>();
  for (const place of restored.queues) queues[place.eventId] = place;
  return {
    recovered: restored.recovered,
    rooms: [...restored.rooms],
    expiresAt: restored.expiresAt,
    queues,
    holds: restored.holds.map((h) => ({ ...h, seatIds: [...h.seatIds] })),
    admissions: previous?.admissions ?? idRecord<QueueAdmittedPayload>(),
  };
}

/** The seats `session` holds for `eventId`. */
export function heldSeats(session: ClientSession | undefined, eventId: EventId): SeatId[] {
  if (session === undefined) return [];
  return session.holds.filter((h) => h.eventId === eventId).flatMap((h) => h.seatIds);
}

/** What `previous` had that `next` lacks. Queues left by admission are not a loss. */
export function lossBetween(previous: ClientSession | undefined, next: ClientSession): SessionLoss {
  if (previous === undefined) return NO_LOSS();
  const rooms = previous.rooms.filter((r) => !next.rooms.includes(r));
  const queues = Object.keys(previous.queues).filter(
    (eventId) =>
      entryOf(next.queues, eventId) === undefined && entryOf(next.admissions, eventId) === undefined,
  );
  const seats: SessionLoss['seats'] = [];
  const eventIds = [...new Set(previous.holds.map((h) => h.eventId))];
  for (const eventId of eventIds) {
    const still = new Set(heldSeats(next, eventId));
    const gone = heldSeats(previous, eventId).filter((s) => !still.has(s));
    if (gone.length > 0) seats.push({ eventId, seatIds: gone });
  }
  return { rooms, queues, seats };
}

/** Builds the change record for `cause`; only restores and expiries count as losses. */
export function describeChange(
  cause: SessionChangeCause,
  previous: ClientSession | undefined,
  session: ClientSession,
  restored?: RestoredSession,
): SessionChange {
  const lost =
    cause === 'session:restored' || cause === 'seat:expired' ? lossBetween(previous, session) : NO_LOSS();
  return {
    cause,
    session,
    previous,
    restored:
      restored === undefined
        ? undefined
        : { rooms: [...restored.rooms], queues: [...restored.queues], holds: [...restored.holds] },
    lost,
    lostAnything: lost.rooms.length + lost.queues.length + lost.seats.length > 0,
  };
}

/** With the room list the server answered (`room:joined`, `room:left`, a join or leave ack). */
export const withRooms = (s: ClientSession, rooms: readonly RoomName[]): ClientSession => ({
  ...s,
  rooms: [...rooms],
});

/**
 * With a queue place (from `queue:position` or a join ack). Position 0 means already admitted (the server
 * sends `queue:admitted` again): the user is out of the queue.
 */
export const withQueuePlace = (s: ClientSession, place: QueuePlace): ClientSession =>
  place.position <= 0
    ? withoutQueue(s, place.eventId)
    : { ...s, queues: withEntry(s.queues, place.eventId, place) };

/** Without the queue place for `eventId`. */
export function withoutQueue(s: ClientSession, eventId: EventId): ClientSession {
  return { ...s, queues: withoutEntry(s.queues, eventId) };
}

/** Admitted: out of the queue, with the admission to hold seats with. */
export const withAdmission = (s: ClientSession, admitted: QueueAdmittedPayload): ClientSession => ({
  ...withoutQueue(s, admitted.eventId),
  admissions: withEntry(s.admissions, admitted.eventId, admitted),
});

/** With a new hold; seats it names are taken out of older holds first, so no seat is listed twice. */
export function withHold(s: ClientSession, hold: SeatHold): ClientSession {
  const rest = withoutSeats(s, hold.eventId, hold.seatIds);
  return { ...rest, holds: [...rest.holds, { ...hold, seatIds: [...hold.seatIds] }] };
}

/** Without `seatIds` of `eventId` (released or expired); holds left empty are dropped. */
export function withoutSeats(s: ClientSession, eventId: EventId, seatIds: readonly SeatId[]): ClientSession {
  const gone = new Set(seatIds);
  const holds = s.holds
    .map((h) => (h.eventId === eventId ? { ...h, seatIds: h.seatIds.filter((id) => !gone.has(id)) } : h))
    .filter((h) => h.seatIds.length > 0);
  return { ...s, holds };
}
