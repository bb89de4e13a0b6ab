/**
 * The claims scripts' replies (lua/claims/*.lua), decoded in one place. Every reply starts with a status,
 * named below; -1 (unknown event) and -2 (unknown seats) mean the same in every script that can answer
 * them and become EVENT_UNKNOWN / SEAT_UNKNOWN here. Fields are checked, not cast: a mismatch is a bug
 * (INTERNAL).
 */
import type { EventId, SeatId, SeatStatus, UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../../errors/gateway-error.ts';
import { listIds } from '../../errors/invalid-input.ts';
import type {
  Admission,
  DeletedEvent,
  HoldGroup,
  HoldResult,
  LapsedHold,
  QueueJoinResult,
  SeatChanges,
  VersionedSeatMap,
} from '../claim-store.ts';
import { eventBusyError, seatStatuses } from '../claim-store.ts';
import { dueUpdateAt, type DueUpdate } from './due-index.ts';
import { asArray, asInt, asString, asStrings, sortedStrings, unexpected } from './replies.ts';

/** The statuses the claims scripts answer with (first element of the reply). */
export const CLAIM_STATUS = {
  ok: 1,
  /** queue-join.lua: the user is admitted already (not queued). */
  admitted: 0,
  /** seat-hold.lua: a recorded outcome of this request, answered again. */
  replayed: 2,
  unknownEvent: -1,
  unknownSeats: -2,
  /** seat-hold.lua: seats held or sold by others; seat-release.lua: seats not the user's. */
  taken: -3,
  /** seat-hold.lua: the user's seat limit. */
  seatLimit: -4,
  /** seat-confirm.lua: the fence moved on or the hold lapsed. */
  staleFence: -5,
  admissionRequired: -6,
  /** seat-map.lua, seat-changes.lua: a section asked of an event without sections. */
  noSections: -7,
  /** delete-event.lua: live holds, queued or admitted users (not forced). */
  busy: -8,
} as const;
/** define-event.lua's refusal: held or sold seats would be dropped (its own -1, not "unknown event"). */
export const DEFINE_BLOCKED = -1;

/** The reply as an array, with the refusals scripts share thrown as their errors. */
function eventReply(script: string, reply: unknown): unknown[] {
  const r = asArray(script, reply);
  if (r[0] === CLAIM_STATUS.unknownEvent) throw new GatewayError('EVENT_UNKNOWN');
  if (r[0] === CLAIM_STATUS.unknownSeats)
    throw new GatewayError('SEAT_UNKNOWN', `Unknown seats: ${listIds(sortedStrings(script, r[1]))}.`);
  if (r[0] === CLAIM_STATUS.noSections)
    throw new GatewayError('BAD_REQUEST', 'This event has no sections (it declares no sectionSeparator).');
  return r;
}

/** `{ownerUserId, {freedSeat...}, ...}` (seat-hold.lua's lapsed, sweep-holds.lua's reply). */
export function decodeLapsed(eventId: EventId, value: unknown): LapsedHold[] {
  const flat = asArray('claims', value);
  const out: LapsedHold[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    out.push({ eventId, userId: asString('claims', flat[i]), seatIds: sortedStrings('claims', flat[i + 1]) });
  }
  return out;
}

export function decodeDefineEvent(reply: unknown): { created: boolean; seats: number } {
  const r = asArray('defineEvent', reply);
  if (r[0] === DEFINE_BLOCKED)
    throw new GatewayError(
      'BAD_REQUEST',
      `Held or sold seats cannot be removed: ${listIds(sortedStrings('defineEvent', r[1]))}.`,
    );
  if (r[0] !== CLAIM_STATUS.ok) throw unexpected('defineEvent', reply);
  return { created: asInt('defineEvent', r[1]) === 0, seats: asInt('defineEvent', r[2]) };
}

/** queue-join.lua; `due`: the event's next sweep moved earlier (copy it into the due index). */
export function decodeQueueJoin(reply: unknown): { result: QueueJoinResult; due: DueUpdate | undefined } {
  const r = eventReply('queueJoin', reply);
  const size = asInt('queueJoin', r[2]);
  if (r[0] === CLAIM_STATUS.admitted)
    return { result: { kind: 'admitted', expiresAt: asInt('queueJoin', r[1]), size }, due: undefined };
  return {
    result: { kind: 'queued', position: asInt('queueJoin', r[1]), size },
    due: dueUpdateAt('queueJoin', r, 3),
  };
}

/** A taken hold's `{due, dueSeq}` (seat-hold.lua), when the event's next sweep moved earlier; never on a replay. */
export function holdDue(reply: unknown): DueUpdate | undefined {
  const r = asArray('seatHold', reply);
  return r[0] === CLAIM_STATUS.ok ? dueUpdateAt('seatHold', r, 6) : undefined;
}

export function decodeQueueLeave(reply: unknown): { left: boolean; size: number } {
  const r = eventReply('queueLeave', reply);
  return { left: r[1] === 1, size: asInt('queueLeave', r[2]) };
}

export function decodeAdmit(reply: unknown): Admission[] {
  const r = eventReply('queueAdmit', reply);
  const expiresAt = asInt('queueAdmit', r[1]);
  return asStrings('queueAdmit', r.slice(2)).map((userId) => ({ userId, expiresAt }));
}

/** seat-hold.lua, a replayed answer included (decoded like the first one: a refusal throws the same). */
export function decodeHold(eventId: EventId, reply: unknown): HoldResult & { replayed: boolean } {
  const r = asArray('seatHold', reply);
  if (r[0] === CLAIM_STATUS.replayed) return { ...decodeHoldOutcome(eventId, r[1]), replayed: true };
  return { ...decodeHoldOutcome(eventId, r), replayed: false };
}

function decodeHoldOutcome(eventId: EventId, reply: unknown): HoldResult {
  const r = eventReply('seatHold', reply);
  if (r[0] === CLAIM_STATUS.admissionRequired) throw new GatewayError('ADMISSION_REQUIRED');
  const lapsed = decodeLapsed(eventId, r[1]);
  switch (r[0]) {
    case CLAIM_STATUS.taken:
      return { ok: false, code: 'SEAT_UNAVAILABLE', seatIds: sortedStrings('seatHold', r[2]), lapsed };
    case CLAIM_STATUS.seatLimit:
      return { ok: false, code: 'SEAT_LIMIT', limit: asInt('seatHold', r[2]), lapsed };
    case CLAIM_STATUS.ok:
      return {
        ok: true,
        lapsed,
        newlyHeld: sortedStrings('seatHold', r[4]),
        hold: {
          eventId,
          fence: asInt('seatHold', r[2]),
          expiresAt: asInt('seatHold', r[3]),
          seatIds: sortedStrings('seatHold', r[5]),
        },
      };
    default:
      throw unexpected('seatHold', reply);
  }
}

export function decodeRelease(reply: unknown): SeatId[] {
  const r = eventReply('seatRelease', reply);
  if (r[0] === CLAIM_STATUS.taken)
    throw new GatewayError(
      'FORBIDDEN',
      `Only the holder may release: ${listIds(sortedStrings('seatRelease', r[1]))}.`,
    );
  return sortedStrings('seatRelease', r[1]);
}

export function decodeConfirm(reply: unknown): SeatId[] {
  const r = eventReply('seatConfirm', reply);
  if (r[0] === CLAIM_STATUS.staleFence) throw new GatewayError('FENCE_STALE');
  return sortedStrings('seatConfirm', r[1]);
}

export function decodeSeatMap(reply: unknown): VersionedSeatMap {
  const r = eventReply('seatMap', reply);
  const map = seatStatuses();
  for (const s of sortedStrings('seatMap', r[1])) map[s] = 'free';
  for (const s of asStrings('seatMap', r[2])) map[s] = 'held';
  for (const s of asStrings('seatMap', r[3])) map[s] = 'sold';
  return { version: asInt('seatMap', r[4]), seats: map };
}

/** delete-event.lua: what the event still had; EVENT_BUSY (with the counts) when not forced. */
export function decodeDeleteEvent(reply: unknown): DeletedEvent {
  const r = eventReply('deleteEvent', reply);
  const found = {
    heldUsers: asInt('deleteEvent', r[1]),
    queued: asInt('deleteEvent', r[2]),
    admitted: asInt('deleteEvent', r[3]),
  };
  if (r[0] === CLAIM_STATUS.busy) throw eventBusyError(found);
  if (r[0] !== CLAIM_STATUS.ok) throw unexpected('deleteEvent', reply);
  return found;
}

export function decodeSeatChanges(reply: unknown): SeatChanges {
  const r = eventReply('seatChanges', reply);
  const flat = asStrings('seatChanges', r[3]);
  const seats = seatStatuses();
  for (let i = 0; i + 1 < flat.length; i += 2) seats[flat[i] as SeatId] = asSeatStatus(flat[i + 1]);
  return { version: asInt('seatChanges', r[1]), complete: r[2] === 1, seats };
}

function asSeatStatus(value: unknown): SeatStatus {
  if (value === 'free' || value === 'held' || value === 'sold') return value;
  throw unexpected('seatChanges', value);
}

/** What user-states.lua found for one user: nothing (`stale`: the index entry may go), or their state there. */
export type UserEventState =
  | { stale: true }
  | {
      stale: false;
      queue: { position: number; size: number } | undefined;
      hold: HoldGroup | undefined;
      admissionExpiresAt: number | undefined;
    };

const STALE: UserEventState = Object.freeze({ stale: true });

/**
 * user-states.lua: `{1, size, {position, fence, expiresAt, {seat...}, admissionExpiresAt} per user}`, in the
 * order of `userIds`; `{-1}` (unknown event) makes every user's entry stale.
 */
export function decodeUserStates(
  eventId: EventId,
  userIds: readonly UserId[],
  reply: unknown,
): UserEventState[] {
  const r = asArray('userStates', reply);
  if (r[0] === CLAIM_STATUS.unknownEvent) return userIds.map(() => STALE);
  if (r[0] !== CLAIM_STATUS.ok || r.length !== userIds.length + 2) throw unexpected('userStates', reply);
  const size = asInt('userStates', r[1]);
  return userIds.map((_, i) => {
    const u = asArray('userStates', r[i + 2]);
    const position = asInt('userStates', u[0]);
    const fence = asInt('userStates', u[1]);
    const admitted = asInt('userStates', u[4]);
    if (position === 0 && fence === 0 && admitted === 0) return STALE;
    return {
      stale: false,
      queue: position > 0 ? { position, size } : undefined,
      hold:
        fence > 0
          ? {
              eventId,
              fence,
              expiresAt: asInt('userStates', u[2]),
              seatIds: sortedStrings('userStates', u[3]),
            }
          : undefined,
      admissionExpiresAt: admitted > 0 ? admitted : undefined,
    };
  });
}

/** sweep-holds.lua: the holds it ended, the members due for a check, the event's due update; null: no event. */
export function decodeSweepHolds(
  eventId: EventId,
  reply: unknown,
): { lapsed: LapsedHold[]; dueMembers: UserId[]; due: DueUpdate | undefined } | null {
  const r = asArray('sweepHolds', reply);
  if (r[0] === CLAIM_STATUS.unknownEvent) return null;
  if (r[0] !== CLAIM_STATUS.ok) throw unexpected('sweepHolds', reply);
  return {
    lapsed: decodeLapsed(eventId, r[1]),
    dueMembers: asStrings('sweepHolds', r[2]),
    due: dueUpdateAt('sweepHolds', r, 3),
  };
}

/** One user settle-members.lua dropped. */
export interface SettledUser {
  userId: UserId;
  wasQueued: boolean;
  seatIds: SeatId[];
}

/** settle-members.lua: `{{droppedUserId, wasQueued 0|1, {freedSeat...}, ...}[, {due, dueSeq}]}`; null: no event. */
export function decodeSettle(reply: unknown): { dropped: SettledUser[]; due: DueUpdate | undefined } | null {
  const outer = asArray('settleMembers', reply);
  if (outer[0] === CLAIM_STATUS.unknownEvent) return null;
  const r = asArray('settleMembers', outer[0]);
  const out: SettledUser[] = [];
  for (let j = 0; j + 2 < r.length; j += 3) {
    out.push({
      userId: asString('settleMembers', r[j]),
      wasQueued: r[j + 1] === 1,
      seatIds: sortedStrings('settleMembers', r[j + 2]),
    });
  }
  return { dropped: out, due: dueUpdateAt('settleMembers', outer, 1) };
}
