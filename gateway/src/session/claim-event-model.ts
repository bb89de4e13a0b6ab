/**
 * One event's claims as plain data and synchronous functions (no I/O, no clock of its own: every call gets
 * `now`): the seats and their holders and sales, the hold groups and their fence, the waiting queue and
 * admissions, the members whose session is checked, and the change log. The memory claim store keeps one
 * per event; the rules are the same as lua/claims/*.lua's, proved by the same contract suite.
 */
import type { EventId, SeatId, SeatStatus, UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../errors/gateway-error.ts';
import { listIds } from '../errors/invalid-input.ts';
import type {
  Admission,
  EventDefinition,
  HoldGroup,
  HoldResult,
  LapsedHold,
  QueueJoinResult,
  SeatChanges,
  VersionedSeatMap,
} from './claim-store.ts';
import { seatStatuses } from './claim-store.ts';
import { SeatChangeLog } from './claim-change-log.ts';

interface Group {
  fence: number;
  expiresAt: number;
  seats: SeatId[];
}

/** Users one admit call may admit (as the Redis store). */
const MAX_ADMIT = 10_000;

/** Fences per millisecond of clock (prelude.lua's FENCE_TICKS): fence = max(last + 1, nowMs * this). */
const FENCE_TICKS = 1024;
export class EventModel {
  private def: EventDefinition;
  private seats: Set<SeatId>;
  /** The seats sorted, kept until the seat set changes (a 100,000-seat sort per read would cost). */
  private sorted: SeatId[] | undefined;
  private readonly holder = new Map<SeatId, UserId>();
  private readonly sold = new Map<SeatId, string>();
  private readonly groups = new Map<UserId, Group>();
  /** The last fence issued. */
  private fence = 0;
  /** userId -> sequence number; Map keeps insertion order, which is the sequence order. */
  private readonly queue = new Map<UserId, number>();
  private seq = 0;
  private readonly admitted = new Map<UserId, number>();
  private lastAdmitAt = 0;
  /** userId -> when to check their session next. */
  private readonly members = new Map<UserId, number>();
  /** The change log, as in Redis: one version per seat change. */
  private readonly log = new SeatChangeLog();

  constructor(
    readonly eventId: EventId,
    d: EventDefinition,
  ) {
    this.seats = new Set(d.seats);
    this.def = { ...d, seats: [...this.seats] };
  }

  /** Replaces the definition; BAD_REQUEST (nothing changes) when it would drop a held or sold seat. */
  redefine(d: EventDefinition): { created: false; seats: number } {
    const wanted = new Set(d.seats);
    const blocked = [...this.seats].filter((s) => !wanted.has(s) && (this.holder.has(s) || this.sold.has(s)));
    if (blocked.length > 0)
      throw new GatewayError(
        'BAD_REQUEST',
        `Held or sold seats cannot be removed: ${listIds(blocked.sort())}.`,
      );
    const reshaped =
      wanted.size !== this.seats.size ||
      [...wanted].some((s) => !this.seats.has(s)) ||
      d.sectionSeparator !== this.def.sectionSeparator;
    if (reshaped) {
      this.sorted = undefined;
      // The log has no "removed": every follower re-reads the map.
      this.log.reset();
    }
    this.seats = wanted;
    this.def = { ...d, seats: [...wanted] };
    return { created: false, seats: wanted.size };
  }

  definition(): EventDefinition {
    return { ...this.def, seats: [...this.sortedSeats()] };
  }

  /** What a delete would end (delete-event.lua's counts): live groups, queued users, live admissions. */
  busy(now: number): { heldUsers: number; queued: number; admitted: number } {
    const heldUsers = [...this.groups.values()].filter((g) => g.expiresAt > now).length;
    const admitted = [...this.admitted.values()].filter((exp) => exp > now).length;
    return { heldUsers, queued: this.queue.size, admitted };
  }

  get admitsByRate(): boolean {
    return this.def.admissionRatePerSecond > 0;
  }

  joinQueue(userId: UserId, now: number, checkMs: number): QueueJoinResult {
    const admitted = this.admitted.get(userId);
    if (admitted !== undefined && admitted > now)
      return { kind: 'admitted', expiresAt: admitted, size: this.queue.size };
    if (!this.queue.has(userId)) {
      this.queue.set(userId, ++this.seq);
      this.addMember(userId, now, checkMs);
    }
    return { kind: 'queued', position: this.rank(userId), size: this.queue.size };
  }

  leaveQueue(userId: UserId): { left: boolean; size: number } {
    const left = this.queue.delete(userId);
    const gaveUp = this.admitted.delete(userId);
    return { left: left || gaveUp, size: this.queue.size };
  }

  queuePositions(userIds: readonly UserId[]): { size: number; positions: Map<UserId, number> } {
    const positions = new Map<UserId, number>();
    const wanted = new Set(userIds);
    let i = 0;
    for (const userId of this.queue.keys()) {
      i += 1;
      if (wanted.has(userId)) positions.set(userId, i);
    }
    return { size: this.queue.size, positions };
  }

  /** `count` from the head, or (undefined) as many as the rate allows now: queue-admit.lua's rule. */
  admit(count: number | undefined, now: number, admissionTtlMs: number): Admission[] {
    this.expireAdmissions(now);
    let n = count ?? -1;
    if (n < 0) {
      const rate = this.def.admissionRatePerSecond;
      if (rate <= 0) return [];
      if (this.queue.size === 0) {
        this.lastAdmitAt = now;
        return [];
      }
      // At most one second of unused rate carried over, or one admission's worth below 1/s (a one-second
      // window never reaches one admission at 0.5/s).
      const last = Math.max(this.lastAdmitAt, now - Math.max(1000, 1000 / rate));
      n = Math.min(Math.floor(((now - last) * rate) / 1000), MAX_ADMIT);
      if (n < 1) return [];
      this.lastAdmitAt = last + (n * 1000) / rate;
    }
    n = Math.min(n, MAX_ADMIT);
    const expiresAt = now + admissionTtlMs;
    const out: Admission[] = [];
    for (const userId of this.queue.keys()) {
      if (out.length >= n) break;
      out.push({ userId, expiresAt });
    }
    for (const { userId } of out) {
      this.queue.delete(userId);
      this.admitted.set(userId, expiresAt);
    }
    return out;
  }

  /** seat-hold.lua's rule: all or nothing; expired groups in the way are ended first (and reported). */
  hold(
    userId: UserId,
    seatIds: readonly SeatId[],
    admitted: boolean,
    now: number,
    checkMs: number,
  ): HoldResult {
    if (this.def.requiresAdmission && !admitted) throw new GatewayError('ADMISSION_REQUIRED');
    this.checkSeats(seatIds);
    const lapsed: LapsedHold[] = [];
    const lapse = (owner: UserId): void => {
      const g = this.groups.get(owner);
      if (g && g.expiresAt <= now)
        lapsed.push({ eventId: this.eventId, userId: owner, seatIds: this.endGroup(owner) });
    };
    lapse(userId);
    const busy: SeatId[] = [];
    const fresh: SeatId[] = [];
    for (const s of new Set(seatIds)) {
      if (this.sold.has(s)) {
        busy.push(s);
        continue;
      }
      let h = this.holder.get(s);
      if (h !== undefined && h !== userId) {
        lapse(h);
        h = this.holder.get(s);
      }
      if (h === undefined) fresh.push(s);
      else if (h !== userId) busy.push(s);
    }
    if (busy.length > 0) return { ok: false, code: 'SEAT_UNAVAILABLE', seatIds: busy.sort(), lapsed };
    let g = this.groups.get(userId);
    const limit = this.def.maxSeatsPerUser;
    if ((g?.seats.length ?? 0) + fresh.length > limit)
      return { ok: false, code: 'SEAT_LIMIT', limit, lapsed };
    if (g === undefined) {
      g = { fence: this.nextFence(now), expiresAt: now + Math.round(this.def.holdSeconds * 1000), seats: [] };
      this.groups.set(userId, g);
    }
    for (const s of fresh) {
      this.holder.set(s, userId);
      g.seats.push(s);
      this.logChange(s, 'held');
    }
    this.addMember(userId, now, checkMs);
    return { ok: true, lapsed, newlyHeld: fresh.sort(), hold: this.holdOf(g) };
  }

  release(userId: UserId, seatIds: readonly SeatId[]): SeatId[] {
    this.checkSeats(seatIds);
    const forbidden = seatIds.filter(
      (s) => this.sold.has(s) || (this.holder.has(s) && this.holder.get(s) !== userId),
    );
    if (forbidden.length > 0)
      throw new GatewayError(
        'FORBIDDEN',
        `Only the holder may release: ${listIds([...new Set(forbidden)].sort())}.`,
      );
    const released = [...new Set(seatIds)].filter((s) => this.holder.get(s) === userId);
    for (const s of released) {
      this.holder.delete(s);
      this.logChange(s, 'free');
    }
    this.trimGroup(userId, released);
    return released.sort();
  }

  /** The Redis store's scheme (lua/claims/prelude.lua, next_fence): the clock keeps fences growing. */
  private nextFence(now: number): number {
    this.fence = Math.max(this.fence + 1, now * FENCE_TICKS);
    return this.fence;
  }

  confirm(userId: UserId, seatIds: readonly SeatId[], fence: number, now: number): SeatId[] {
    this.checkSeats(seatIds);
    const tag = `${fence}:${userId}`;
    const g = this.groups.get(userId);
    const valid = g !== undefined && g.fence === fence && g.expiresAt > now;
    const toSell = new Set<SeatId>();
    for (const s of seatIds) {
      const sold = this.sold.get(s);
      if (sold !== undefined) {
        if (sold !== tag) throw new GatewayError('FENCE_STALE');
      } else {
        if (!valid || this.holder.get(s) !== userId) throw new GatewayError('FENCE_STALE');
        toSell.add(s);
      }
    }
    for (const s of toSell) {
      this.holder.delete(s);
      this.sold.set(s, tag);
      this.logChange(s, 'sold');
    }
    this.trimGroup(userId, [...toSell]);
    return [...toSell].sort();
  }

  /** Every seat, or one section's (seat-map.lua's rule). */
  seatMap(section?: string): VersionedSeatMap {
    const inSection = this.sectionFilter(section);
    const seats = seatStatuses();
    for (const s of this.sortedSeats())
      if (inSection(s)) seats[s] = this.sold.has(s) ? 'sold' : this.holder.has(s) ? 'held' : 'free';
    return { version: this.log.version, seats };
  }

  seatChanges(after: number | undefined, section?: string): SeatChanges {
    const inSection = this.sectionFilter(section);
    return this.log.changesAfter(after, inSection);
  }

  private sortedSeats(): SeatId[] {
    this.sorted ??= [...this.seats].sort();
    return this.sorted;
  }

  /** Whether a seat is in `section` (every seat when undefined); BAD_REQUEST for an event without sections. */
  private sectionFilter(section: string | undefined): (seat: SeatId) => boolean {
    if (section === undefined) return () => true;
    const sep = this.def.sectionSeparator;
    if (sep === undefined)
      throw new GatewayError('BAD_REQUEST', 'This event has no sections (it declares no sectionSeparator).');
    const prefix = section + sep;
    return (seat) => seat.startsWith(prefix);
  }

  /** What the user has here now (user-states.lua): an expired group counts as no hold. */
  userState(
    userId: UserId,
    now: number,
  ): { queue?: { position: number; size: number }; hold?: HoldGroup; admissionExpiresAt?: number } {
    const g = this.groups.get(userId);
    const admitted = this.admitted.get(userId);
    return {
      ...(this.queue.has(userId) ? { queue: { position: this.rank(userId), size: this.queue.size } } : {}),
      ...(g && g.expiresAt > now ? { hold: this.holdOf(g) } : {}),
      ...(admitted !== undefined && admitted > now ? { admissionExpiresAt: admitted } : {}),
    };
  }

  /** Ends every expired group (sweep-holds.lua) and forgets lapsed admissions. */
  sweepExpired(now: number): LapsedHold[] {
    this.expireAdmissions(now);
    const lapsed: LapsedHold[] = [];
    for (const [userId, g] of [...this.groups]) {
      if (g.expiresAt <= now) lapsed.push({ eventId: this.eventId, userId, seatIds: this.endGroup(userId) });
    }
    return lapsed;
  }

  /** Members whose session is due for a check. */
  dueMembers(now: number): UserId[] {
    return [...this.members].filter(([, at]) => at <= now).map(([u]) => u);
  }

  /**
   * Applies a session check (settle-members.lua): a user whose session ended loses their place, admission
   * and holds (reported once); a live one is checked again later, or forgotten when nothing is left here.
   */
  settle(
    userId: UserId,
    alive: boolean,
    now: number,
    checkMs: number,
  ): { wasQueued: boolean; seatIds: SeatId[] } | undefined {
    if (alive) {
      const admitted = this.admitted.get(userId);
      const has =
        this.queue.has(userId) || this.groups.has(userId) || (admitted !== undefined && admitted > now);
      if (has) this.members.set(userId, now + checkMs);
      else this.members.delete(userId);
      return undefined;
    }
    if (!this.members.delete(userId)) return undefined;
    const wasQueued = this.queue.delete(userId);
    this.admitted.delete(userId);
    return { wasQueued, seatIds: this.endGroup(userId) };
  }

  private holdOf(g: Group): HoldGroup {
    return { eventId: this.eventId, fence: g.fence, expiresAt: g.expiresAt, seatIds: [...g.seats].sort() };
  }

  private expireAdmissions(now: number): void {
    for (const [u, exp] of this.admitted) if (exp <= now) this.admitted.delete(u);
  }

  private addMember(userId: UserId, now: number, checkMs: number): void {
    if (!this.members.has(userId)) this.members.set(userId, now + checkMs);
  }

  /** 1-based position in the queue (kept in sequence order); 0 when not queued. */
  private rank(userId: UserId): number {
    let i = 0;
    for (const u of this.queue.keys()) {
      i += 1;
      if (u === userId) return i;
    }
    return 0;
  }

  private checkSeats(seatIds: readonly SeatId[]): void {
    const unknown = [...new Set(seatIds.filter((s) => !this.seats.has(s)))].sort();
    if (unknown.length > 0) throw new GatewayError('SEAT_UNKNOWN', `Unknown seats: ${listIds(unknown)}.`);
  }

  private trimGroup(userId: UserId, gone: SeatId[]): void {
    const g = this.groups.get(userId);
    if (!g) return;
    g.seats = g.seats.filter((s) => !gone.includes(s));
    if (g.seats.length === 0) this.groups.delete(userId);
  }

  /** Ends the user's hold group; returns the seats it freed. */
  private endGroup(userId: UserId): SeatId[] {
    const g = this.groups.get(userId);
    this.groups.delete(userId);
    if (!g) return [];
    const freed = g.seats.filter((s) => this.holder.get(s) === userId);
    for (const s of freed) {
      this.holder.delete(s);
      this.logChange(s, 'free');
    }
    return freed.sort();
  }

  private logChange(seat: SeatId, status: SeatStatus): void {
    this.log.add(seat, status);
  }
}
