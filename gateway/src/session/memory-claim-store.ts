/**
 * The embedded claim store (single node, no Redis): the same semantics as RedisClaimStore, proved by the
 * same contract suite. The rules live in the pure per-event model (claim-event-model.ts); this store keeps
 * one per event, the hold request records, the clock and the session check. Each method runs to completion
 * synchronously, so it is atomic for free. Whether a user's session still lives is asked of the session
 * store (`sessionAlive`), like the Redis store reads the session key.
 */
import type { EventId, SeatId, UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../errors/gateway-error.ts';
import { EventModel } from './claim-event-model.ts';
import type {
  Admission,
  ClaimStore,
  ClaimStoreLimits,
  DeletedEvent,
  EventDefinition,
  HoldRequest,
  HoldResult,
  LapsedHold,
  QueueJoinResult,
  SeatChanges,
  SweepResult,
  UserClaims,
  VersionedSeatMap,
} from './claim-store.ts';
import { eventBusyError, sortEvents } from './claim-store.ts';
import { ExpiringRecords } from './expiring-records.ts';

export interface MemoryClaimStoreOptions {
  limits: ClaimStoreLimits;
  /** Whether the user's session lives (the memory session store's getSession). */
  sessionAlive: (userId: UserId) => Promise<boolean>;
  /** Clock in epoch ms. Default Date.now. */
  now?: () => number;
}

/** A hold's recorded outcome: what it answered, or what it threw (a refusal replays the same). */
type HoldOutcome = { result: HoldResult } | { error: unknown };

export class MemoryClaimStore implements ClaimStore {
  readonly kind = 'memory';
  private readonly events = new Map<EventId, EventModel>();
  private readonly holdRecords = new ExpiringRecords<HoldOutcome>();
  private readonly limits: ClaimStoreLimits;
  private readonly checkMs: number;
  private readonly sessionAlive: (userId: UserId) => Promise<boolean>;
  private readonly now: () => number;
  private closed = false;

  constructor(options: MemoryClaimStoreOptions) {
    this.limits = options.limits;
    this.checkMs = Math.round(options.limits.sessionCheckSeconds * 1000);
    this.sessionAlive = options.sessionAlive;
    this.now = options.now ?? Date.now;
  }

  defineEvent(eventId: EventId, d: EventDefinition): Promise<{ created: boolean; seats: number }> {
    return this.run(() => {
      const existing = this.events.get(eventId);
      if (existing) return existing.redefine(d);
      const model = new EventModel(eventId, d);
      this.events.set(eventId, model);
      return { created: true, seats: model.definition().seats.length };
    });
  }

  getEvent(eventId: EventId): Promise<EventDefinition | null> {
    return this.run(() => this.events.get(eventId)?.definition() ?? null);
  }

  deleteEvent(eventId: EventId, options: { force: boolean }): Promise<DeletedEvent> {
    return this.run((now) => {
      const found = this.event(eventId).busy(now);
      if (!options.force && found.heldUsers + found.queued + found.admitted > 0) throw eventBusyError(found);
      this.events.delete(eventId);
      return found;
    });
  }

  listEvents(filter?: { admittingByRate?: boolean }): Promise<EventId[]> {
    return this.run(() =>
      [...this.events]
        .filter(([, e]) => filter?.admittingByRate !== true || e.admitsByRate)
        .map(([id]) => id)
        .sort(),
    );
  }

  joinQueue(userId: UserId, eventId: EventId): Promise<QueueJoinResult> {
    return this.run((now) => this.event(eventId).joinQueue(userId, now, this.checkMs));
  }

  leaveQueue(userId: UserId, eventId: EventId): Promise<{ left: boolean; size: number }> {
    return this.run(() => this.event(eventId).leaveQueue(userId));
  }

  queuePositions(
    eventId: EventId,
    userIds: readonly UserId[],
  ): Promise<{ size: number; positions: Map<UserId, number> }> {
    return this.run(
      () => this.events.get(eventId)?.queuePositions(userIds) ?? { size: 0, positions: new Map() },
    );
  }

  admit(eventId: EventId, count?: number): Promise<Admission[]> {
    return this.run((now) =>
      this.event(eventId).admit(count, now, Math.round(this.limits.admissionTtlSeconds * 1000)),
    );
  }

  /** Like seat-hold.lua: the record, when asked, is looked up and written in the same synchronous step. */
  hold(
    userId: UserId,
    eventId: EventId,
    seatIds: readonly SeatId[],
    admitted: boolean,
    request?: HoldRequest,
  ): Promise<HoldResult & { replayed: boolean }> {
    return this.run((now) => {
      const key = request && JSON.stringify([eventId, userId, request.requestId]);
      const recorded = key === undefined ? undefined : this.holdRecords.get(key, now);
      if (recorded !== undefined) {
        if ('error' in recorded) throw recorded.error;
        return { ...recorded.result, replayed: true };
      }
      let outcome: HoldOutcome;
      try {
        outcome = { result: this.event(eventId).hold(userId, seatIds, admitted, now, this.checkMs) };
      } catch (error) {
        outcome = { error };
      }
      if (key !== undefined && request !== undefined) {
        const kept = 'result' in outcome ? { result: { ...outcome.result, lapsed: [] } } : outcome;
        this.holdRecords.set(key, kept, Math.max(1, Math.round(request.resultTtlMs)), now);
      }
      if ('error' in outcome) throw outcome.error;
      return { ...outcome.result, replayed: false };
    });
  }

  release(userId: UserId, eventId: EventId, seatIds: readonly SeatId[]): Promise<SeatId[]> {
    return this.run(() => this.event(eventId).release(userId, seatIds));
  }

  confirm(userId: UserId, eventId: EventId, seatIds: readonly SeatId[], fence: number): Promise<SeatId[]> {
    return this.run((now) => this.event(eventId).confirm(userId, seatIds, fence, now));
  }

  seatMap(eventId: EventId, section?: string): Promise<VersionedSeatMap> {
    return this.run(() => this.event(eventId).seatMap(section));
  }

  seatChanges(eventId: EventId, after: number | undefined, section?: string): Promise<SeatChanges> {
    return this.run(() => this.event(eventId).seatChanges(after, section));
  }

  /** Reads every event (the memory store needs no index; `knownEvents` is the Redis store's shortcut). */
  userClaims(userId: UserId): Promise<UserClaims> {
    return this.run((now) => {
      const result: UserClaims = { queues: [], holds: [], admissions: [] };
      for (const [eventId, e] of this.events) {
        const state = e.userState(userId, now);
        if (state.queue) result.queues.push({ eventId, ...state.queue });
        if (state.hold) result.holds.push(state.hold);
        if (state.admissionExpiresAt !== undefined)
          result.admissions.push({ eventId, expiresAt: state.admissionExpiresAt });
      }
      return sortEvents(result);
    });
  }

  async sweep(): Promise<SweepResult> {
    const { lapsed, due } = await this.run((now) => {
      const lapsedNow: LapsedHold[] = [];
      const dueNow = new Map<EventId, UserId[]>();
      for (const [eventId, e] of this.events) {
        lapsedNow.push(...e.sweepExpired(now));
        dueNow.set(eventId, e.dueMembers(now));
      }
      return { lapsed: lapsedNow, due: dueNow };
    });
    const users = [...new Set([...due.values()].flat())];
    const alive = new Map<UserId, boolean>();
    for (const u of users) alive.set(u, await this.sessionAlive(u));
    let droppedFromQueues = 0;
    await this.run((now) => {
      for (const [eventId, members] of due) {
        const e = this.events.get(eventId);
        if (!e) continue;
        for (const u of members) {
          const dropped = e.settle(u, alive.get(u) === true, now, this.checkMs);
          if (dropped === undefined) continue;
          if (dropped.wasQueued) droppedFromQueues += 1;
          if (dropped.seatIds.length > 0) lapsed.push({ eventId, userId: u, seatIds: dropped.seatIds });
        }
      }
    });
    return { lapsed, droppedFromQueues };
  }

  ping(): Promise<void> {
    return this.run(() => undefined);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private event(eventId: EventId): EventModel {
    const e = this.events.get(eventId);
    if (!e) throw new GatewayError('EVENT_UNKNOWN');
    return e;
  }

  private run<T>(fn: (now: number) => T): Promise<T> {
    if (this.closed) return Promise.reject(new GatewayError('STORE_UNAVAILABLE', 'Claim store is closed'));
    try {
      return Promise.resolve(fn(this.now()));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
