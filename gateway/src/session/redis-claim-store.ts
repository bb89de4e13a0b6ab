/**
 * The Redis claim store: every event-side change is one Lua script (lua/claims/*.lua) over one event's
 * `{event:<id>}` keys, the authority; the user's index `{user:<id>}:claims` is a separate, idempotent write
 * in the user's slot, issued before the script on the same connection (so whenever the event side has a
 * user's state, the index names the event). Nothing here is ever one cross-slot script, so the same code runs
 * on Redis Cluster. See claim-store.ts for the contract.
 */
import type { EventId, SeatId, SeatStatus, UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../errors/gateway-error.ts';
import { listIds } from '../errors/invalid-input.ts';
import type { Logger } from '../infra/logger.ts';
import { Cluster } from 'ioredis';
import { closeRedisClient, type RedisLike } from '../infra/redis.ts';
import { claimsIndexTtlMs, createClaimKeys, type ClaimKeys } from './claim-keys.ts';
import { defineClaimScripts, type ClaimScripts } from './claim-scripts.ts';
import type {
  Admission,
  ClaimStore,
  ClaimStoreLimits,
  EventDefinition,
  HoldGroup,
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
import {
  asArray,
  asInt,
  asString,
  asStrings,
  runStoreOperation,
  sortedStrings,
  unexpected,
  type ObserveCommand,
} from './redis-replies.ts';

export interface RedisClaimStoreOptions {
  redis: RedisLike;
  /** Quit the client on close(). Default false. */
  ownsClient?: boolean;
  keyPrefix: string;
  /** SESSION_TTL_SECONDS: the user index lives at least two of these past its last write or check. */
  sessionTtlSeconds: number;
  limits: ClaimStoreLimits;
  logger: Logger;
  observeCommand?: ObserveCommand;
}

/** Users one admit call may admit; hold groups and members one sweep handles per event. */
const MAX_ADMIT = 10_000;
const SWEEP_BATCH = 1000;
const PENDING = 'pending';

export class RedisClaimStore implements ClaimStore {
  readonly kind = 'redis';
  private readonly redis: RedisLike;
  private readonly scripts: ClaimScripts;
  private readonly keys: ClaimKeys;
  private readonly limits: ClaimStoreLimits;
  private readonly indexTtlMs: number;
  private readonly checkMs: number;
  private readonly log: Logger;
  private readonly observe: ObserveCommand | undefined;
  private readonly ownsClient: boolean;
  private closed = false;

  constructor(options: RedisClaimStoreOptions) {
    this.redis = options.redis;
    this.scripts = defineClaimScripts(options.redis);
    this.keys = createClaimKeys(options.keyPrefix);
    this.limits = options.limits;
    this.checkMs = Math.round(options.limits.sessionCheckSeconds * 1000);
    this.indexTtlMs = claimsIndexTtlMs(options.sessionTtlSeconds, options.limits.holdSeconds);
    this.log = options.logger;
    this.observe = options.observeCommand;
    this.ownsClient = options.ownsClient ?? false;
  }

  defineEvent(eventId: EventId, d: EventDefinition): Promise<{ created: boolean; seats: number }> {
    return this.run('defineEvent', async () => {
      const [, reply] = await Promise.all([
        this.redis.sadd(this.keys.events, eventId),
        this.scripts.claimDefineEvent(
          this.keys.event(eventId),
          d.requiresAdmission ? 1 : 0,
          d.admissionRatePerSecond,
          d.maxSeatsPerUser,
          Math.round(d.holdSeconds * 1000),
          d.seats,
        ),
      ]);
      const r = asArray('claimDefineEvent', reply);
      if (r[0] === -1) {
        throw new GatewayError(
          'BAD_REQUEST',
          `Held or sold seats cannot be removed: ${listIds(asStrings('claimDefineEvent', r[1]).sort())}.`,
        );
      }
      // The admission loop's list: a separate, idempotent write (another slot), after the definition.
      if (d.admissionRatePerSecond > 0) await this.redis.sadd(this.keys.ratedEvents, eventId);
      else await this.redis.srem(this.keys.ratedEvents, eventId);
      return { created: asInt('claimDefineEvent', r[1]) === 0, seats: asInt('claimDefineEvent', r[2]) };
    });
  }

  getEvent(eventId: EventId): Promise<EventDefinition | null> {
    return this.run('getEvent', async () => {
      const [def, seats] = this.keys.event(eventId);
      const [fields, members] = await Promise.all([this.redis.hgetall(def!), this.redis.smembers(seats!)]);
      if (fields['maxSeats'] === undefined) return null;
      return {
        seats: members.sort(),
        requiresAdmission: fields['requiresAdmission'] === '1',
        admissionRatePerSecond: Number(fields['rate'] ?? 0),
        maxSeatsPerUser: Number(fields['maxSeats']),
        holdSeconds: Number(fields['holdMs'] ?? 0) / 1000,
      };
    });
  }

  listEvents(filter?: { admittingByRate?: boolean }): Promise<EventId[]> {
    const key = filter?.admittingByRate === true ? this.keys.ratedEvents : this.keys.events;
    return this.run('listEvents', async () => (await this.redis.smembers(key)).sort());
  }

  joinQueue(userId: UserId, eventId: EventId): Promise<QueueJoinResult> {
    return this.run('joinQueue', async () => {
      const reply = await this.indexThen(userId, eventId, () =>
        this.scripts.claimQueueJoin(this.keys.event(eventId), userId, this.checkMs),
      );
      const r = eventReply('claimQueueJoin', reply);
      if (r[0] === 0)
        return {
          kind: 'admitted',
          expiresAt: asInt('claimQueueJoin', r[1]),
          size: asInt('claimQueueJoin', r[2]),
        };
      return { kind: 'queued', position: asInt('claimQueueJoin', r[1]), size: asInt('claimQueueJoin', r[2]) };
    });
  }

  leaveQueue(userId: UserId, eventId: EventId): Promise<{ left: boolean; size: number }> {
    return this.run('leaveQueue', async () => {
      const r = eventReply(
        'claimQueueLeave',
        await this.scripts.claimQueueLeave(this.keys.event(eventId), userId),
      );
      return { left: r[1] === 1, size: asInt('claimQueueLeave', r[2]) };
    });
  }

  queuePositions(
    eventId: EventId,
    userIds: readonly UserId[],
  ): Promise<{ size: number; positions: Map<UserId, number> }> {
    return this.run('queuePositions', async () => {
      const queue = this.keys.event(eventId)[7]!;
      // One pipeline: ZCARD and a ZRANK per user, one round trip whatever the count.
      const pipeline = this.redis.pipeline();
      pipeline.zcard(queue);
      for (const userId of userIds) pipeline.zrank(queue, userId);
      const replies = (await pipeline.exec()) ?? [];
      const positions = new Map<UserId, number>();
      let size = 0;
      replies.forEach(([err, value], i) => {
        if (err) throw err;
        if (i === 0) size = asInt('zcard', value);
        else if (typeof value === 'number') positions.set(userIds[i - 1]!, value + 1);
      });
      return { size, positions };
    });
  }

  admit(eventId: EventId, count?: number): Promise<Admission[]> {
    return this.run('admit', async () => {
      const r = eventReply(
        'claimQueueAdmit',
        await this.scripts.claimQueueAdmit(
          this.keys.event(eventId),
          count ?? -1,
          Math.round(this.limits.admissionTtlSeconds * 1000),
          MAX_ADMIT,
        ),
      );
      const expiresAt = asInt('claimQueueAdmit', r[1]);
      return asStrings('claimQueueAdmit', r.slice(2)).map((userId) => ({ userId, expiresAt }));
    });
  }

  hold(userId: UserId, eventId: EventId, seatIds: readonly SeatId[], admitted: boolean): Promise<HoldResult> {
    return this.run('hold', async () => {
      const reply = await this.indexThen(userId, eventId, () =>
        this.scripts.claimHold(this.keys.event(eventId), userId, admitted ? 1 : 0, this.checkMs, ...seatIds),
      );
      const r = eventReply('claimHold', reply);
      if (r[0] === -6) throw new GatewayError('ADMISSION_REQUIRED');
      const lapsed = parseLapsed(eventId, r[1]);
      if (r[0] === -3)
        return { ok: false, code: 'SEAT_UNAVAILABLE', seatIds: sortedStrings('claims', r[2]), lapsed };
      if (r[0] === -4) return { ok: false, code: 'SEAT_LIMIT', limit: asInt('claimHold', r[2]), lapsed };
      return {
        ok: true,
        lapsed,
        newlyHeld: sortedStrings('claims', r[4]),
        hold: {
          eventId,
          fence: asInt('claimHold', r[2]),
          expiresAt: asInt('claimHold', r[3]),
          seatIds: sortedStrings('claims', r[5]),
        },
      };
    });
  }

  release(userId: UserId, eventId: EventId, seatIds: readonly SeatId[]): Promise<SeatId[]> {
    return this.run('release', async () => {
      const r = eventReply(
        'claimRelease',
        await this.scripts.claimRelease(this.keys.event(eventId), userId, ...seatIds),
      );
      if (r[0] === -3)
        throw new GatewayError(
          'FORBIDDEN',
          `Only the holder may release: ${listIds(sortedStrings('claims', r[1]))}.`,
        );
      return sortedStrings('claims', r[1]);
    });
  }

  confirm(userId: UserId, eventId: EventId, seatIds: readonly SeatId[], fence: number): Promise<SeatId[]> {
    return this.run('confirm', async () => {
      const r = eventReply(
        'claimConfirm',
        await this.scripts.claimConfirm(this.keys.event(eventId), userId, fence, ...seatIds),
      );
      if (r[0] === -5) throw new GatewayError('FENCE_STALE');
      return sortedStrings('claims', r[1]);
    });
  }

  seatMap(eventId: EventId): Promise<VersionedSeatMap> {
    return this.run('seatMap', async () => {
      const r = eventReply('claimSeatMap', await this.scripts.claimSeatMap(this.keys.event(eventId)));
      const map = seatStatuses();
      for (const s of sortedStrings('claims', r[1])) map[s] = 'free';
      for (const s of asStrings('claimSeatMap', r[2])) map[s] = 'held';
      for (const s of asStrings('claimSeatMap', r[3])) map[s] = 'sold';
      return { version: asInt('claimSeatMap', r[4]), seats: map };
    });
  }

  seatChanges(eventId: EventId, after: number | undefined): Promise<SeatChanges> {
    return this.run('seatChanges', async () => {
      const r = eventReply(
        'claimSeatChanges',
        await this.scripts.claimSeatChanges(
          this.keys.event(eventId),
          after === undefined ? '' : after,
          SEAT_CHANGES_MAX_VERSIONS,
        ),
      );
      const flat = asStrings('claimSeatChanges', r[3]);
      const seats = seatStatuses();
      for (let i = 0; i + 1 < flat.length; i += 2) seats[flat[i] as SeatId] = asSeatStatus(flat[i + 1]);
      return { version: asInt('claimSeatChanges', r[1]), complete: r[2] === 1, seats };
    });
  }

  /** Two round trips when the index names events (HKEYS, then one user-state script per event, concurrently); one when it is empty. */
  userClaims(userId: UserId, knownEvents?: readonly EventId[]): Promise<UserClaims> {
    return this.run('userClaims', async () => {
      const index = this.keys.userIndex(userId);
      // The attach script already read (and extended) the index when it hands us `knownEvents`.
      const events =
        knownEvents ??
        (await Promise.all([this.redis.hkeys(index), this.redis.pexpire(index, this.indexTtlMs)]))[0];
      const result: UserClaims = { queues: [], holds: [], admissions: [] };
      if (events.length === 0) return result;
      const replies = await Promise.all(
        events.map((eventId) => this.scripts.claimUserState(this.keys.event(eventId), userId)),
      );
      const stale: EventId[] = [];
      events.forEach((eventId, i) => {
        const r = asArray('claimUserState', replies[i]);
        if (r[0] === -1) return stale.push(eventId);
        const position = asInt('claimUserState', r[1]);
        const fence = asInt('claimUserState', r[3]);
        const admitted = asInt('claimUserState', r[6]);
        if (position > 0) result.queues.push({ eventId, position, size: asInt('claimUserState', r[2]) });
        if (fence > 0)
          result.holds.push({
            eventId,
            fence,
            expiresAt: asInt('claimUserState', r[4]),
            seatIds: sortedStrings('claims', r[5]),
          });
        if (admitted > 0) result.admissions.push({ eventId, expiresAt: admitted });
        if (position === 0 && fence === 0 && admitted === 0) stale.push(eventId);
      });
      // Repair: entries naming events where the user has nothing. Not awaited; a failure only leaves them.
      if (stale.length > 0) {
        this.redis
          .hdel(index, ...stale)
          .catch((err: unknown) => this.log.warn({ err }, 'claim index repair failed'));
      }
      return sortEvents(result);
    });
  }

  /**
   * Per round, whatever the number of events: SMEMBERS events; one sweep script per event (concurrent);
   * the due members of every event (concurrent); one EXISTS per due member on its session key plus a TTL
   * refresh of its index (concurrent); one settle script per event with due members (concurrent).
   */
  sweep(): Promise<SweepResult> {
    return this.run('sweep', async () => {
      const [events, [seconds, micros]] = await Promise.all([
        this.redis.smembers(this.keys.events),
        this.redis.time(),
      ]);
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const lapsed: LapsedHold[] = [];
      const swept = await Promise.all(
        events.map((e) => this.scripts.claimSweep(this.keys.event(e), SWEEP_BATCH)),
      );
      events.forEach((eventId, i) => lapsed.push(...parseLapsed(eventId, swept[i])));

      const due = await Promise.all(
        events.map((e) =>
          this.redis.zrangebyscore(this.keys.event(e)[10]!, '-inf', now, 'LIMIT', 0, SWEEP_BATCH),
        ),
      );
      const users = [...new Set(due.flat())];
      if (users.length === 0) return { lapsed, droppedFromQueues: 0 };
      const alive = new Map<UserId, boolean>();
      await Promise.all(
        users.map(async (u) => {
          const [exists] = await Promise.all([
            this.redis.exists(this.keys.userSession(u)),
            this.redis.pexpire(this.keys.userIndex(u), this.indexTtlMs),
          ]);
          alive.set(u, exists === 1);
        }),
      );
      let droppedFromQueues = 0;
      const dropped = new Set<UserId>();
      const settled = await Promise.all(
        events.map((eventId, i) => {
          const members = due[i] ?? [];
          if (members.length === 0) return Promise.resolve([]);
          const pairs = members.flatMap((u) => [u, alive.get(u) ? 1 : 0]);
          return this.scripts.claimSettle(this.keys.event(eventId), this.checkMs, ...pairs);
        }),
      );
      settled.forEach((reply, i) => {
        const r = asArray('claimSettle', reply);
        for (let j = 0; j + 2 < r.length; j += 3) {
          const userId = asString('claimSettle', r[j]);
          dropped.add(userId);
          if (r[j + 1] === 1) droppedFromQueues += 1;
          const seatIds = sortedStrings('claims', r[j + 2]);
          if (seatIds.length > 0) lapsed.push({ eventId: events[i]!, userId, seatIds });
        }
      });
      // The index of a user whose session ended goes too (best effort: it would expire anyway).
      await Promise.all([...dropped].map((u) => this.redis.del(this.keys.userIndex(u)).catch(() => 0)));
      return { lapsed, droppedFromQueues };
    });
  }

  beginRequest(userId: UserId, requestId: string, pendingMs: number): Promise<LedgerEntry> {
    return this.run('beginRequest', async () => {
      const key = this.keys.request(userId, requestId);
      const set = await this.redis.set(key, PENDING, 'PX', pendingMs, 'NX');
      if (set === 'OK') return { state: 'new' };
      const value = await this.redis.get(key);
      if (value === null) return { state: 'pending' }; // just expired: the caller retries after a while
      return parseLedger(value);
    });
  }

  completeRequest(
    userId: UserId,
    requestId: string,
    event: string,
    ack: string,
    ttlMs: number,
  ): Promise<void> {
    return this.run('completeRequest', async () => {
      await this.redis.set(this.keys.request(userId, requestId), JSON.stringify({ event, ack }), 'PX', ttlMs);
    });
  }

  abandonRequest(userId: UserId, requestId: string): Promise<void> {
    return this.run('abandonRequest', async () => {
      const key = this.keys.request(userId, requestId);
      if ((await this.redis.get(key)) === PENDING) await this.redis.del(key);
    });
  }

  ping(): Promise<void> {
    return this.run('ping', async () => {
      await this.redis.ping();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) await closeRedisClient(this.redis);
  }

  /** The index write: idempotent, in the user's slot. */
  private async indexAdd(userId: UserId, eventId: EventId): Promise<void> {
    const index = this.keys.userIndex(userId);
    await Promise.all([this.redis.hset(index, eventId, 1), this.redis.pexpire(index, this.indexTtlMs)]);
  }

  /**
   * Index write, then the event script. On one Redis both go out in the same tick on one connection, so
   * Redis runs the index write first (one round trip); on a Cluster they may go to different shards, so
   * the index write is awaited first (two round trips). Either way: whenever the event side has the user's
   * state, the index names the event.
   */
  private async indexThen(
    userId: UserId,
    eventId: EventId,
    script: () => Promise<unknown>,
  ): Promise<unknown> {
    if (this.redis instanceof Cluster) {
      await this.indexAdd(userId, eventId);
      return script();
    }
    const [, reply] = await Promise.all([this.indexAdd(userId, eventId), script()]);
    return reply;
  }

  private run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runStoreOperation(
      { closed: this.closed, name: 'Claim store', observe: this.observe },
      operation,
      fn,
    );
  }
}

// ---- Reply parsing: checked, not cast; a mismatch is a bug (INTERNAL). ----

/** -1 (unknown event) and -2 (unknown seats) are the same for every script. */
function eventReply(script: string, reply: unknown): unknown[] {
  const r = asArray(script, reply);
  if (r[0] === -1) throw new GatewayError('EVENT_UNKNOWN');
  if (r[0] === -2)
    throw new GatewayError('SEAT_UNKNOWN', `Unknown seats: ${listIds(sortedStrings('claims', r[1]))}.`);
  return r;
}

function parseLapsed(eventId: EventId, value: unknown): LapsedHold[] {
  const flat = asArray('claims', value);
  const out: LapsedHold[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    out.push({ eventId, userId: asString('claims', flat[i]), seatIds: sortedStrings('claims', flat[i + 1]) });
  }
  return out;
}

function asSeatStatus(value: unknown): SeatStatus {
  if (value === 'free' || value === 'held' || value === 'sold') return value;
  throw unexpected('claimSeatChanges', value);
}

function parseLedger(value: string): LedgerEntry {
  if (value === PENDING) return { state: 'pending' };
  const parsed = JSON.parse(value) as { event?: unknown; ack?: unknown };
  if (typeof parsed.event !== 'string' || typeof parsed.ack !== 'string') throw unexpected('ledger', value);
  return { state: 'done', event: parsed.event, ack: parsed.ack };
}

/** Both stores list a user's claims by event id. */
export function sortEvents(claims: UserClaims): UserClaims {
  const byEvent = <T extends { eventId: string }>(a: T, b: T) =>
    a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
  claims.queues.sort(byEvent);
  claims.holds.sort(byEvent);
  claims.admissions.sort(byEvent);
  return claims;
}

export type { HoldGroup };
