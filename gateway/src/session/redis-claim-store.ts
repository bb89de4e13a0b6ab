/**
 * The Redis claim store: every event-side change is one Lua script (lua/claims/*.lua) over one event's
 * `{event:<id>}` keys, the authority; the user's index (`e<eventId>` fields of the user's hash `{u:<id>}`) is a separate, idempotent write
 * in the user's slot (one command, claims-index-add.lua), issued before the script on the same connection (so
 * whenever the event side has a user's state, the index names the event). Nothing here is ever one
 * cross-slot script, so the same code runs on Redis Cluster. See claim-store.ts for the contract; the
 * replies are decoded in redis/claim-replies.ts, the sweep is redis/claim-sweep.ts (over the due index,
 * redis/due-index.ts), the definitions (define, read, delete) redis/event-definitions.ts, a user's claims at
 * a restore redis/user-claims.ts. REDIS_WAIT_REPLICAS:
 * holds, releases and sales acked after WAIT, on lanes of their own (redis/durable-write.ts).
 */
import type { EventId, SeatId, UserId } from '@stayline/client-sdk/protocol';
import type { Logger } from '../infra/logger.ts';
import { Cluster } from 'ioredis';
import type { GatewayError } from '../errors/gateway-error.ts';
import { closeRedisClient } from '../infra/redis.ts';
import { RedisStore, type RedisStoreClient } from './redis/redis-store.ts';
import type {
  Admission,
  ClaimStore,
  ClaimStoreLimits,
  DeletedEvent,
  EventDefinition,
  HoldRequest,
  HoldResult,
  QueueJoinResult,
  SeatChanges,
  SweepResult,
  UserClaims,
  VersionedSeatMap,
} from './claim-store.ts';
import { SEAT_CHANGES_MAX_VERSIONS } from './claim-store.ts';
import {
  decodeAdmit,
  decodeConfirm,
  decodeHold,
  decodeQueueJoin,
  decodeQueueLeave,
  decodeRelease,
  decodeSeatChanges,
  decodeSeatMap,
  holdDue,
} from './redis/claim-replies.ts';
import { publishDue } from './redis/due-index.ts';
import {
  defineEvent,
  deleteEvent,
  getEvent,
  type EventDefinitionContext,
} from './redis/event-definitions.ts';
import { createOperatorClient, whenReady } from './redis/operator-client.ts';
import { sweepClaims, type SweepContext } from './redis/claim-sweep.ts';
import { readUserClaims } from './redis/user-claims.ts';
import { UserStateReads } from './redis/user-state-reads.ts';
import { createEventKeys, type EventKeys } from './redis/event-keys.ts';
import { createNodeKeys, type NodeKeys } from './redis/node-keys.ts';
import { asArray, asInt, unexpected } from './redis/replies.ts';
import {
  DurableLanes,
  notDurableError,
  writeThenWait,
  type DurableLane,
  type DurableOperation,
  type WaitPolicy,
} from './redis/durable-write.ts';
import { defineScripts, type Scripts } from './redis/scripts.ts';
import { claimsIndexTtlMs, createUserKeys, type UserKeys } from './redis/user-keys.ts';

export interface RedisClaimStoreOptions extends RedisStoreClient {
  keyPrefix: string;
  /** SESSION_TTL_SECONDS: the user index lives at least two of these past its last write or check. */
  sessionTtlSeconds: number;
  limits: ClaimStoreLimits;
  logger: Logger;
  /** REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS; default off. Not with a Cluster. */
  wait?: WaitPolicy;
  /** Told of each hold, release or sale refused because WAIT fell short. Must not throw. */
  onWaitShort?: (operation: DurableOperation) => void;
}

type HoldKeys = Parameters<Scripts['seatUnhold']>[0];

/** Users one admit call may admit. */
const MAX_ADMIT = 10_000;
/**
 * Users per queuePositions script: each costs Redis one ZRANK (~1 µs), so one call holds Redis for about a
 * millisecond at most, while a node watching 5,000 queued users sends 5 commands instead of 5,001.
 */
const POSITIONS_PER_CALL = 1000;
/** Every this many sweep rounds (and the first), the sweep walks every event (redis/claim-sweep.ts). */
const WALK_EVERY_ROUNDS = 60;

export class RedisClaimStore extends RedisStore implements ClaimStore {
  readonly kind = 'redis';
  private readonly scripts: Scripts;
  private readonly eventKeys: (eventId: EventId) => EventKeys;
  private readonly userKeys: (userId: UserId) => UserKeys;
  private readonly nodeKeys: NodeKeys;
  private readonly limits: ClaimStoreLimits;
  private readonly indexTtlMs: number;
  private readonly checkMs: number;
  private readonly log: Logger;
  private readonly wait: WaitPolicy;
  private readonly onWaitShort: (operation: DurableOperation) => void;
  private readonly lanes: DurableLanes | undefined;
  /** What redis/claim-sweep.ts and redis/event-definitions.ts use of the store. */
  private readonly context: SweepContext;
  /** Opened on the first define or delete of an event (redis/operator-client.ts). */
  private operator: EventDefinitionContext | undefined;
  private sweepRounds = 0;
  /** The restores' user-state reads of a turn, one script call per event. */
  private readonly userStateReads: UserStateReads;

  constructor(options: RedisClaimStoreOptions) {
    super(options, 'Claim store');
    this.scripts = defineScripts(options.redis);
    this.eventKeys = createEventKeys(options.keyPrefix);
    this.userKeys = createUserKeys(options.keyPrefix);
    this.nodeKeys = createNodeKeys(options.keyPrefix);
    this.limits = options.limits;
    this.checkMs = Math.round(options.limits.sessionCheckSeconds * 1000);
    this.indexTtlMs = claimsIndexTtlMs(options.sessionTtlSeconds, options.limits.holdSeconds);
    const { redis, scripts, eventKeys, userKeys, nodeKeys, indexTtlMs, checkMs } = this;
    this.context = { redis, scripts, eventKeys, userKeys, nodeKeys, indexTtlMs, checkMs };
    this.userStateReads = new UserStateReads((eventId, userIds) =>
      scripts.userStates(eventKeys(eventId), userIds),
    );
    this.log = options.logger;
    this.wait = options.wait ?? { replicas: 0, timeoutMs: 0 };
    this.onWaitShort = options.onWaitShort ?? (() => undefined);
    if (this.wait.replicas > 0) {
      if (this.redis instanceof Cluster) {
        throw new Error('REDIS_WAIT_REPLICAS is not supported on a Redis Cluster');
      }
      this.lanes = new DurableLanes(this.redis, this.log);
    }
  }

  defineEvent(eventId: EventId, d: EventDefinition): Promise<{ created: boolean; seats: number }> {
    return this.run('defineEvent', async () => defineEvent(await this.operatorContext(), eventId, d));
  }

  getEvent(eventId: EventId): Promise<EventDefinition | null> {
    return this.run('getEvent', () => getEvent(this.context, eventId));
  }

  deleteEvent(eventId: EventId, options: { force: boolean }): Promise<DeletedEvent> {
    return this.run('deleteEvent', async () =>
      deleteEvent(await this.operatorContext(), eventId, options.force),
    );
  }

  private async operatorContext(): Promise<EventDefinitionContext> {
    if (this.operator === undefined) {
      const redis = createOperatorClient(this.redis);
      this.operator = { ...this.context, redis, scripts: defineScripts(redis) };
    }
    await whenReady(this.operator.redis);
    return this.operator;
  }

  listEvents(filter?: { admittingByRate?: boolean }): Promise<EventId[]> {
    const key = filter?.admittingByRate === true ? this.nodeKeys.ratedEvents : this.nodeKeys.events;
    return this.run('listEvents', async () => (await this.redis.smembers(key)).sort());
  }

  joinQueue(userId: UserId, eventId: EventId): Promise<QueueJoinResult> {
    return this.run('joinQueue', async () => {
      const { result, due } = decodeQueueJoin(
        await this.indexThen({ scripts: this.scripts }, userId, eventId, () =>
          this.scripts.queueJoin(this.eventKeys(eventId), userId, this.checkMs),
        ),
      );
      if (due) await publishDue(this.scripts, this.nodeKeys, eventId, due);
      return result;
    });
  }

  leaveQueue(userId: UserId, eventId: EventId): Promise<{ left: boolean; size: number }> {
    return this.run('leaveQueue', async () =>
      decodeQueueLeave(await this.scripts.queueLeave(this.eventKeys(eventId), userId)),
    );
  }

  queuePositions(
    eventId: EventId,
    userIds: readonly UserId[],
  ): Promise<{ size: number; positions: Map<UserId, number> }> {
    return this.run('queuePositions', async () => {
      const queue = { queue: this.eventKeys(eventId).queue };
      // One script per POSITIONS_PER_CALL users, all sent at once: one round trip whatever the count.
      const chunks: (readonly UserId[])[] = [];
      for (let i = 0; i < userIds.length; i += POSITIONS_PER_CALL)
        chunks.push(userIds.slice(i, i + POSITIONS_PER_CALL));
      if (chunks.length === 0) chunks.push([]);
      const replies = await Promise.all(chunks.map((ids) => this.scripts.queuePositions(queue, ids)));
      const positions = new Map<UserId, number>();
      let size = 0;
      replies.forEach((reply, c) => {
        const values = asArray('queuePositions', reply);
        const ids = chunks[c]!;
        if (values.length !== ids.length + 1) throw unexpected('queuePositions', reply);
        if (c === 0) size = asInt('queuePositions', values[0]);
        ids.forEach((userId, i) => {
          const position = asInt('queuePositions', values[i + 1]);
          if (position > 0) positions.set(userId, position);
        });
      });
      return { size, positions };
    });
  }

  admit(eventId: EventId, count?: number): Promise<Admission[]> {
    return this.run('admit', async () =>
      decodeAdmit(
        await this.scripts.queueAdmit(
          this.eventKeys(eventId),
          count ?? -1,
          Math.round(this.limits.admissionTtlSeconds * 1000),
          MAX_ADMIT,
        ),
      ),
    );
  }

  /** The request record, when asked, is kept by the hold script itself (in the event's slot: `reqs`). */
  hold(
    userId: UserId,
    eventId: EventId,
    seatIds: readonly SeatId[],
    admitted: boolean,
    request?: HoldRequest,
  ): Promise<HoldResult & { replayed: boolean }> {
    return this.run('hold', async () => {
      const keys = this.eventKeys(eventId);
      const holdKeys = { ...keys, request: keys.holdRequest(userId, request?.requestId ?? '') };
      const written = await this.durably((lane) =>
        this.indexThen(lane, userId, eventId, () =>
          lane.scripts.seatHold(
            holdKeys,
            userId,
            admitted ? 1 : 0,
            this.checkMs,
            request === undefined ? 0 : Math.max(1, Math.round(request.resultTtlMs)),
            request?.requestId ?? '',
            seatIds,
          ),
        ),
      );
      const result = decodeHold(eventId, written.reply);
      // Only when the event's next sweep moved earlier (its first hold or member): rare, one command.
      const due = holdDue(written.reply);
      if (due) await publishDue(this.scripts, this.nodeKeys, eventId, due);
      // A refusal promises nothing: only a hold is taken back when a failover could erase it.
      if (written.durable || !result.ok) return result;
      await this.undoHold(userId, holdKeys, result.hold.fence, request?.requestId ?? '', result.newlyHeld);
      throw this.notDurable('hold', written.replicas);
    });
  }

  release(userId: UserId, eventId: EventId, seatIds: readonly SeatId[]): Promise<SeatId[]> {
    return this.run('release', async () => {
      const written = await this.durably((lane) =>
        lane.scripts.seatRelease(this.eventKeys(eventId), userId, seatIds),
      );
      const released = decodeRelease(written.reply);
      // Not undone (re-holding would be worse): at worst a failover brings the hold back until it expires.
      if (!written.durable) throw this.notDurable('release', written.replicas);
      return released;
    });
  }

  confirm(userId: UserId, eventId: EventId, seatIds: readonly SeatId[], fence: number): Promise<SeatId[]> {
    return this.run('confirm', async () => {
      const written = await this.durably((lane) =>
        lane.scripts.seatConfirm(this.eventKeys(eventId), userId, fence, seatIds),
      );
      const sold = decodeConfirm(written.reply);
      // A sale is final and cannot be undone: the caller retries (same fence), which succeeds again and
      // rewrites the sale, so that retry's WAIT covers it.
      if (!written.durable) throw this.notDurable('confirm', written.replicas);
      return sold;
    });
  }

  seatMap(eventId: EventId, section?: string): Promise<VersionedSeatMap> {
    return this.run('seatMap', async () =>
      decodeSeatMap(await this.scripts.seatMap(this.eventKeys(eventId), section ?? '')),
    );
  }

  seatChanges(eventId: EventId, after: number | undefined, section?: string): Promise<SeatChanges> {
    return this.run('seatChanges', async () =>
      decodeSeatChanges(
        await this.scripts.seatChanges(
          this.eventKeys(eventId),
          after === undefined ? '' : after,
          SEAT_CHANGES_MAX_VERSIONS,
          section ?? '',
        ),
      ),
    );
  }

  /** The user's claims in every event their index names (redis/user-claims.ts). */
  userClaims(userId: UserId, knownEvents?: readonly EventId[]): Promise<UserClaims> {
    return this.run('userClaims', () =>
      readUserClaims(this.context, this.userStateReads, this.log, userId, knownEvents),
    );
  }

  /**
   * A round over the due index; the first round of this store and every WALK_EVERY_ROUNDS-th walks every
   * event instead (repairing index entries a crashed node did not write, and filing events defined before
   * the index existed).
   */
  sweep(): Promise<SweepResult> {
    const mode = this.sweepRounds++ % WALK_EVERY_ROUNDS === 0 ? 'walk' : 'due';
    return this.run('sweep', () => sweepClaims(this.context, mode));
  }

  /** The store's connection and, under REDIS_WAIT_REPLICAS, its durable lanes. */
  override ping(): Promise<void> {
    return this.run('ping', async () => {
      await Promise.all([this.redis.ping(), this.lanes?.ping()]);
    });
  }

  /** The durable lanes and the operator connection are the store's own, whoever owns its client. */
  protected override async closeClients(): Promise<void> {
    await this.lanes?.close();
    if (this.operator !== undefined) await closeRedisClient(this.operator.redis);
    await super.closeClients();
  }

  /**
   * The index write (one command), then the event script. On one Redis both are sent in the same tick on
   * one connection, before either reply is read: Redis runs the index write first, one round trip in all
   * (the redis test counts it). On a Cluster they may go to different shards, which nothing orders, so the
   * index write is awaited first: two round trips. Either way, whenever the event side has the user's
   * state, the index names the event.
   */
  private async indexThen(
    lane: Pick<DurableLane, 'scripts'>,
    userId: UserId,
    eventId: EventId,
    script: () => Promise<unknown>,
  ): Promise<unknown> {
    const indexAdd = () => lane.scripts.claimsIndexAdd(this.userKeys(userId), eventId, this.indexTtlMs);
    if (this.redis instanceof Cluster) {
      await indexAdd();
      return script();
    }
    const [, reply] = await Promise.all([indexAdd(), script()]);
    return reply;
  }

  /** `write` with WAIT behind it (redis/durable-write.ts), or alone (always durable) without a policy. */
  private async durably<T>(
    write: (lane: Pick<DurableLane, 'scripts'>) => Promise<T>,
  ): Promise<{ reply: T; durable: boolean; replicas: number }> {
    const own = { scripts: this.scripts };
    if (this.lanes === undefined) return { reply: await write(own), durable: true, replicas: 0 };
    const lane = this.lanes.pick();
    return writeThenWait(lane.redis, this.wait, () => write(lane));
  }

  /**
   * Takes back what one hold call newly held (fence-checked: a later group is never touched) and its request
   * record. If that fails too, the hold expires, and its record answers a retry with the same request id,
   * whose own WAIT must then succeed before the user is told.
   */
  private async undoHold(
    userId: UserId,
    keys: HoldKeys,
    fence: number,
    requestId: string,
    seats: SeatId[],
  ): Promise<void> {
    await this.scripts.seatUnhold(keys, userId, fence, requestId, seats).catch((err: unknown) => {
      this.log.warn({ err: String(err) }, 'undoing a hold that WAIT did not confirm failed; it expires');
    });
  }

  private notDurable(operation: DurableOperation, replicas: number): GatewayError {
    this.onWaitShort(operation);
    return notDurableError(operation, replicas, this.wait.replicas);
  }
}
