/**
 * The embedded claim store (single node, no Redis): the same semantics as RedisClaimStore, proved by the
 * same contract suite. Each method runs to completion synchronously, so it is atomic for free. Whether a
 * user's session still lives is asked of the session store (`sessionAlive`), like the Redis store reads the
 * session key.
 */
import type { EventId, SeatId, SeatStatus, UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../errors/gateway-error.ts';
import { listIds } from '../errors/invalid-input.ts';
import type {
  Admission,
  ClaimStore,
  ClaimStoreLimits,
  EventDefinition,
  HoldResult,
  LapsedHold,
  LedgerEntry,
  QueueJoinResult,
  SeatChanges,
  SweepResult,
  UserClaims,
  VersionedSeatMap,
} from './claim-store.ts';
import { SEAT_CHANGES_MAX_VERSIONS, seatStatuses } from './claim-store.ts';
import { sortEvents } from './redis-claim-store.ts';

export interface MemoryClaimStoreOptions {
  limits: ClaimStoreLimits;
  /** Whether the user's session lives (the memory session store's getSession). */
  sessionAlive: (userId: UserId) => Promise<boolean>;
  /** Clock in epoch ms. Default Date.now. */
  now?: () => number;
}

interface Group {
  fence: number;
  expiresAt: number;
  seats: SeatId[];
}

interface MemoryEvent {
  def: EventDefinition;
  seats: Set<SeatId>;
  holder: Map<SeatId, UserId>;
  sold: Map<SeatId, string>;
  groups: Map<UserId, Group>;
  fence: number;
  /** userId -> sequence number; Map keeps insertion order, which is the sequence order. */
  queue: Map<UserId, number>;
  seq: number;
  admitted: Map<UserId, number>;
  lastAdmitAt: number;
  /** userId -> when to check their session next. */
  members: Map<UserId, number>;
  /** The change log, as in Redis: one version per seat change here, oldest first. */
  version: number;
  log: { version: number; seat: SeatId; status: SeatStatus }[];
  /** The log holds every change after this version. */
  logFrom: number;
}

const MAX_ADMIT = 10_000;
/** About the Redis log's cap; trimmed a tenth at a time. */
const LOG_MAX = 10_000;

export class MemoryClaimStore implements ClaimStore {
  readonly kind = 'memory';
  private readonly events = new Map<EventId, MemoryEvent>();
  private readonly ledger = new Map<string, { value: LedgerEntry; expiresAt: number }>();
  private readonly limits: ClaimStoreLimits;
  private readonly sessionAlive: (userId: UserId) => Promise<boolean>;
  private readonly now: () => number;
  private closed = false;

  constructor(options: MemoryClaimStoreOptions) {
    this.limits = options.limits;
    this.sessionAlive = options.sessionAlive;
    this.now = options.now ?? Date.now;
  }

  defineEvent(eventId: EventId, d: EventDefinition): Promise<{ created: boolean; seats: number }> {
    return this.run(() => {
      const existing = this.events.get(eventId);
      const wanted = new Set(d.seats);
      if (existing) {
        const blocked = [...existing.seats].filter(
          (s) => !wanted.has(s) && (existing.holder.has(s) || existing.sold.has(s)),
        );
        if (blocked.length > 0)
          throw new GatewayError(
            'BAD_REQUEST',
            `Held or sold seats cannot be removed: ${listIds(blocked.sort())}.`,
          );
        const reshaped =
          wanted.size !== existing.seats.size || [...wanted].some((s) => !existing.seats.has(s));
        if (reshaped) {
          // The log has no "removed": every follower re-reads the map.
          existing.version += 1;
          existing.log = [];
          existing.logFrom = existing.version;
        }
        existing.seats = wanted;
        existing.def = { ...d, seats: [...wanted] };
        return { created: false, seats: wanted.size };
      }
      this.events.set(eventId, {
        def: { ...d, seats: [...wanted] },
        seats: wanted,
        holder: new Map(),
        sold: new Map(),
        groups: new Map(),
        fence: 0,
        queue: new Map(),
        seq: 0,
        admitted: new Map(),
        lastAdmitAt: 0,
        members: new Map(),
        version: 0,
        log: [],
        logFrom: 0,
      });
      return { created: true, seats: wanted.size };
    });
  }

  getEvent(eventId: EventId): Promise<EventDefinition | null> {
    return this.run(() => {
      const e = this.events.get(eventId);
      return e ? { ...e.def, seats: [...e.seats].sort() } : null;
    });
  }

  listEvents(filter?: { admittingByRate?: boolean }): Promise<EventId[]> {
    return this.run(() =>
      [...this.events]
        .filter(([, e]) => filter?.admittingByRate !== true || e.def.admissionRatePerSecond > 0)
        .map(([id]) => id)
        .sort(),
    );
  }

  joinQueue(userId: UserId, eventId: EventId): Promise<QueueJoinResult> {
    return this.run((now) => {
      const e = this.event(eventId);
      const admitted = e.admitted.get(userId);
      if (admitted !== undefined && admitted > now)
        return { kind: 'admitted', expiresAt: admitted, size: e.queue.size };
      if (!e.queue.has(userId)) {
        e.queue.set(userId, ++e.seq);
        this.addMember(e, userId, now);
      }
      return { kind: 'queued', position: rank(e.queue, userId), size: e.queue.size };
    });
  }

  leaveQueue(userId: UserId, eventId: EventId): Promise<{ left: boolean; size: number }> {
    return this.run(() => {
      const e = this.event(eventId);
      const left = e.queue.delete(userId);
      const gaveUp = e.admitted.delete(userId);
      return { left: left || gaveUp, size: e.queue.size };
    });
  }

  queuePositions(
    eventId: EventId,
    userIds: readonly UserId[],
  ): Promise<{ size: number; positions: Map<UserId, number> }> {
    return this.run(() => {
      const e = this.events.get(eventId);
      const positions = new Map<UserId, number>();
      if (!e) return { size: 0, positions };
      const wanted = new Set(userIds);
      let i = 0;
      for (const userId of e.queue.keys()) {
        i += 1;
        if (wanted.has(userId)) positions.set(userId, i);
      }
      return { size: e.queue.size, positions };
    });
  }

  admit(eventId: EventId, count?: number): Promise<Admission[]> {
    return this.run((now) => {
      const e = this.event(eventId);
      for (const [u, exp] of e.admitted) if (exp <= now) e.admitted.delete(u);
      let n = count ?? -1;
      if (n < 0) {
        const rate = e.def.admissionRatePerSecond;
        if (rate <= 0) return [];
        if (e.queue.size === 0) {
          e.lastAdmitAt = now;
          return [];
        }
        // At most one second of unused rate carried over, or one admission's worth below 1/s (a one-second
        // window never reaches one admission at 0.5/s); the same rule as queue-admit.lua.
        const last = Math.max(e.lastAdmitAt, now - Math.max(1000, 1000 / rate));
        n = Math.min(Math.floor(((now - last) * rate) / 1000), MAX_ADMIT);
        if (n < 1) return [];
        e.lastAdmitAt = last + (n * 1000) / rate;
      }
      n = Math.min(n, MAX_ADMIT);
      const expiresAt = now + Math.round(this.limits.admissionTtlSeconds * 1000);
      const out: Admission[] = [];
      for (const userId of e.queue.keys()) {
        if (out.length >= n) break;
        out.push({ userId, expiresAt });
      }
      for (const { userId } of out) {
        e.queue.delete(userId);
        e.admitted.set(userId, expiresAt);
      }
      return out;
    });
  }

  hold(userId: UserId, eventId: EventId, seatIds: readonly SeatId[], admitted: boolean): Promise<HoldResult> {
    return this.run((now): HoldResult => {
      const e = this.event(eventId);
      if (e.def.requiresAdmission && !admitted) throw new GatewayError('ADMISSION_REQUIRED');
      this.checkSeats(e, seatIds);
      const lapsed: LapsedHold[] = [];
      const lapse = (owner: UserId): void => {
        const g = e.groups.get(owner);
        if (g && g.expiresAt <= now) lapsed.push({ eventId, userId: owner, seatIds: endGroup(e, owner) });
      };
      lapse(userId);
      const busy: SeatId[] = [];
      const fresh: SeatId[] = [];
      for (const s of new Set(seatIds)) {
        if (e.sold.has(s)) {
          busy.push(s);
          continue;
        }
        let h = e.holder.get(s);
        if (h !== undefined && h !== userId) {
          lapse(h);
          h = e.holder.get(s);
        }
        if (h === undefined) fresh.push(s);
        else if (h !== userId) busy.push(s);
      }
      if (busy.length > 0) return { ok: false, code: 'SEAT_UNAVAILABLE', seatIds: busy.sort(), lapsed };
      let g = e.groups.get(userId);
      const limit = e.def.maxSeatsPerUser;
      if ((g?.seats.length ?? 0) + fresh.length > limit)
        return { ok: false, code: 'SEAT_LIMIT', limit, lapsed };
      if (g === undefined) {
        g = { fence: ++e.fence, expiresAt: now + Math.round(e.def.holdSeconds * 1000), seats: [] };
        e.groups.set(userId, g);
      }
      for (const s of fresh) {
        e.holder.set(s, userId);
        g.seats.push(s);
        logChange(e, s, 'held');
      }
      this.addMember(e, userId, now);
      return {
        ok: true,
        lapsed,
        newlyHeld: fresh.sort(),
        hold: { eventId, fence: g.fence, expiresAt: g.expiresAt, seatIds: [...g.seats].sort() },
      };
    });
  }

  release(userId: UserId, eventId: EventId, seatIds: readonly SeatId[]): Promise<SeatId[]> {
    return this.run(() => {
      const e = this.event(eventId);
      this.checkSeats(e, seatIds);
      const forbidden = seatIds.filter(
        (s) => e.sold.has(s) || (e.holder.has(s) && e.holder.get(s) !== userId),
      );
      if (forbidden.length > 0)
        throw new GatewayError(
          'FORBIDDEN',
          `Only the holder may release: ${listIds([...new Set(forbidden)].sort())}.`,
        );
      const released = [...new Set(seatIds)].filter((s) => e.holder.get(s) === userId);
      for (const s of released) {
        e.holder.delete(s);
        logChange(e, s, 'free');
      }
      this.trimGroup(e, userId, released);
      return released.sort();
    });
  }

  confirm(userId: UserId, eventId: EventId, seatIds: readonly SeatId[], fence: number): Promise<SeatId[]> {
    return this.run((now) => {
      const e = this.event(eventId);
      this.checkSeats(e, seatIds);
      const tag = `${fence}:${userId}`;
      const g = e.groups.get(userId);
      const valid = g !== undefined && g.fence === fence && g.expiresAt > now;
      const toSell = new Set<SeatId>();
      for (const s of seatIds) {
        const sold = e.sold.get(s);
        if (sold !== undefined) {
          if (sold !== tag) throw new GatewayError('FENCE_STALE');
        } else {
          if (!valid || e.holder.get(s) !== userId) throw new GatewayError('FENCE_STALE');
          toSell.add(s);
        }
      }
      for (const s of toSell) {
        e.holder.delete(s);
        e.sold.set(s, tag);
        logChange(e, s, 'sold');
      }
      this.trimGroup(e, userId, [...toSell]);
      return [...toSell].sort();
    });
  }

  seatMap(eventId: EventId): Promise<VersionedSeatMap> {
    return this.run(() => {
      const e = this.event(eventId);
      const seats = seatStatuses();
      for (const s of [...e.seats].sort())
        seats[s] = e.sold.has(s) ? 'sold' : e.holder.has(s) ? 'held' : 'free';
      return { version: e.version, seats };
    });
  }

  seatChanges(eventId: EventId, after: number | undefined): Promise<SeatChanges> {
    return this.run((): SeatChanges => {
      const e = this.event(eventId);
      const version = e.version;
      if (after === undefined || after >= version) return { version, complete: true, seats: seatStatuses() };
      if (after < e.logFrom || version - after > SEAT_CHANGES_MAX_VERSIONS)
        return { version, complete: false, seats: seatStatuses() };
      const seats = seatStatuses();
      // Newest first: a seat's first entry is its status at `version`.
      for (let i = e.log.length - 1; i >= 0; i--) {
        const entry = e.log[i];
        if (entry === undefined || entry.version <= after) break;
        if (!Object.hasOwn(seats, entry.seat)) seats[entry.seat] = entry.status;
      }
      return { version, complete: true, seats };
    });
  }

  userClaims(userId: UserId): Promise<UserClaims> {
    return this.run((now) => {
      const result: UserClaims = { queues: [], holds: [], admissions: [] };
      for (const [eventId, e] of this.events) {
        if (e.queue.has(userId))
          result.queues.push({ eventId, position: rank(e.queue, userId), size: e.queue.size });
        const g = e.groups.get(userId);
        if (g && g.expiresAt > now)
          result.holds.push({
            eventId,
            fence: g.fence,
            expiresAt: g.expiresAt,
            seatIds: [...g.seats].sort(),
          });
        const admitted = e.admitted.get(userId);
        if (admitted !== undefined && admitted > now)
          result.admissions.push({ eventId, expiresAt: admitted });
      }
      return sortEvents(result);
    });
  }

  async sweep(): Promise<SweepResult> {
    const { lapsed, due } = await this.run((now) => {
      const lapsedNow: LapsedHold[] = [];
      const dueNow = new Map<EventId, UserId[]>();
      for (const [eventId, e] of this.events) {
        for (const [u, exp] of e.admitted) if (exp <= now) e.admitted.delete(u);
        for (const [userId, g] of [...e.groups]) {
          if (g.expiresAt <= now) lapsedNow.push({ eventId, userId, seatIds: endGroup(e, userId) });
        }
        dueNow.set(
          eventId,
          [...e.members].filter(([, at]) => at <= now).map(([u]) => u),
        );
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
          if (alive.get(u)) {
            const admitted = e.admitted.get(u);
            const has = e.queue.has(u) || e.groups.has(u) || (admitted !== undefined && admitted > now);
            if (has) e.members.set(u, now + this.checkMs);
            else e.members.delete(u);
          } else if (e.members.delete(u)) {
            if (e.queue.delete(u)) droppedFromQueues += 1;
            e.admitted.delete(u);
            const seatIds = endGroup(e, u);
            if (seatIds.length > 0) lapsed.push({ eventId, userId: u, seatIds });
          }
        }
      }
    });
    return { lapsed, droppedFromQueues };
  }

  beginRequest(userId: UserId, requestId: string, pendingMs: number): Promise<LedgerEntry> {
    return this.run((now) => {
      const key = JSON.stringify([userId, requestId]);
      const entry = this.ledger.get(key);
      if (entry && entry.expiresAt > now) return entry.value;
      this.ledger.set(key, { value: { state: 'pending' }, expiresAt: now + pendingMs });
      if (this.ledger.size % 1000 === 0) this.pruneLedger(now);
      return { state: 'new' };
    });
  }

  completeRequest(
    userId: UserId,
    requestId: string,
    event: string,
    ack: string,
    ttlMs: number,
  ): Promise<void> {
    return this.run((now) => {
      this.ledger.set(JSON.stringify([userId, requestId]), {
        value: { state: 'done', event, ack },
        expiresAt: now + ttlMs,
      });
    });
  }

  abandonRequest(userId: UserId, requestId: string): Promise<void> {
    return this.run(() => {
      const key = JSON.stringify([userId, requestId]);
      if (this.ledger.get(key)?.value.state === 'pending') this.ledger.delete(key);
    });
  }

  ping(): Promise<void> {
    return this.run(() => undefined);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private get checkMs(): number {
    return Math.round(this.limits.sessionCheckSeconds * 1000);
  }

  private addMember(e: MemoryEvent, userId: UserId, now: number): void {
    if (!e.members.has(userId)) e.members.set(userId, now + this.checkMs);
  }

  private pruneLedger(now: number): void {
    for (const [key, entry] of this.ledger) if (entry.expiresAt <= now) this.ledger.delete(key);
  }

  private event(eventId: EventId): MemoryEvent {
    const e = this.events.get(eventId);
    if (!e) throw new GatewayError('EVENT_UNKNOWN');
    return e;
  }

  private checkSeats(e: MemoryEvent, seatIds: readonly SeatId[]): void {
    const unknown = [...new Set(seatIds.filter((s) => !e.seats.has(s)))].sort();
    if (unknown.length > 0) throw new GatewayError('SEAT_UNKNOWN', `Unknown seats: ${listIds(unknown)}.`);
  }

  private trimGroup(e: MemoryEvent, userId: UserId, gone: SeatId[]): void {
    const g = e.groups.get(userId);
    if (!g) return;
    g.seats = g.seats.filter((s) => !gone.includes(s));
    if (g.seats.length === 0) e.groups.delete(userId);
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

/** 1-based position in a queue kept in sequence order. */
function rank(queue: Map<UserId, number>, userId: UserId): number {
  let i = 0;
  for (const u of queue.keys()) {
    i += 1;
    if (u === userId) return i;
  }
  return 0;
}

/** Ends the user's hold group; returns the seats it freed. */
function endGroup(e: MemoryEvent, userId: UserId): SeatId[] {
  const g = e.groups.get(userId);
  e.groups.delete(userId);
  if (!g) return [];
  const freed = g.seats.filter((s) => e.holder.get(s) === userId);
  for (const s of freed) {
    e.holder.delete(s);
    logChange(e, s, 'free');
  }
  return freed.sort();
}

function logChange(e: MemoryEvent, seat: SeatId, status: SeatStatus): void {
  e.version += 1;
  e.log.push({ version: e.version, seat, status });
  if (e.log.length > LOG_MAX) {
    const dropped = e.log.splice(0, LOG_MAX / 10);
    e.logFrom = dropped[dropped.length - 1]?.version ?? e.logFrom;
  }
}
